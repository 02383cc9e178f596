//! The store writer's promises with deferred statements
//! (`Connection::execute_deferred`), on SQLite and, when
//! `CLAUDE_PEERS_TEST_PG` names a server, on PostgreSQL, where they are
//! pipelined: a job whose deferred statement fails gets that error and
//! leaves nothing behind; the other jobs of its batch commit; a job's
//! deferred writes are seen by its own later reads and committed.

use std::sync::Arc;

use claude_peers_broker::error::Result;
use claude_peers_broker::runtime::hub::Effect;
use claude_peers_broker::runtime::store::{Store, sql};
use claude_peers_proto::ApiError;

fn sink() -> Arc<dyn Fn(Vec<Effect>) + Send + Sync> {
    Arc::new(|_| {})
}

async fn stores() -> Vec<Store> {
    let dir = std::env::temp_dir().join(format!(
        "cp-store-{}",
        claude_peers_broker::runtime::ids::short_id(8)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut out = vec![Store::open(&dir.join("t.db"), sink()).unwrap()];
    if let Some(admin) = std::env::var("CLAUDE_PEERS_TEST_PG")
        .ok()
        .filter(|u| !u.trim().is_empty())
    {
        let name = format!(
            "u_{}",
            claude_peers_broker::runtime::ids::short_id(10).to_lowercase()
        );
        let (base, _) = admin.rsplit_once('/').expect("a URL ending in /DBNAME");
        let url = format!("{base}/{name}");
        let create = format!("CREATE DATABASE {name}");
        // The synchronous client runs a runtime of its own: a thread.
        std::thread::spawn(move || {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
            c.batch_execute(&create).unwrap();
        })
        .join()
        .unwrap();
        out.push(
            Store::open_postgres(&url, sink(), Default::default())
                .await
                .unwrap(),
        );
    }
    out
}

async fn keys(store: &Store) -> Result<Vec<i64>> {
    store
        .read(|c| {
            Ok(c.prepare_cached("SELECT k FROM pipe ORDER BY k")?
                .query_map([], |r| r.get(0))?
                .collect::<sql::Result<Vec<i64>>>()?)
        })
        .await
}

#[tokio::test]
async fn a_failing_deferred_statement_fails_its_job_alone() {
    for store in stores().await {
        store
            .write(|t| {
                t.conn
                    .execute_batch("CREATE TABLE pipe (k BIGINT PRIMARY KEY)")?;
                Ok(())
            })
            .await
            .unwrap();
        let insert = "INSERT INTO pipe (k) VALUES (?1)";
        // A job that holds the writer until the others are queued: they
        // share the next batch (on PostgreSQL a job's deferred statements
        // then travel with the next job's, and b's and e's fail there).
        let (open, gate) = std::sync::mpsc::channel::<()>();
        let (_, a, b, c, d, last, _) = tokio::join!(
            store.write(move |_| {
                let _ = gate.recv();
                Ok(())
            }),
            store.write(move |t| Ok(t.conn.execute_deferred(insert, [1])?)),
            store.write(move |t| {
                t.conn.execute_deferred(insert, [2])?;
                // The key is taken: this fails on SQLite here, on
                // PostgreSQL when the job ends (nothing reads after it).
                t.conn.execute_deferred(insert, [1])?;
                Ok(())
            }),
            store.write(move |t| {
                t.conn.execute_deferred(insert, [3])?;
                // Its own read sees its deferred write.
                let n: i64 =
                    t.conn
                        .query_row("SELECT count(*) FROM pipe WHERE k = 3", [], |r| r.get(0))?;
                Ok(n)
            }),
            store.write(move |t| {
                t.conn.execute_deferred(insert, [4])?;
                Err::<(), _>(ApiError::invalid("k", "refused after writing").into())
            }),
            // The batch's last job: its failing statement is found when
            // the batch ends.
            store.write(move |t| {
                t.conn.execute_deferred(insert, [6])?;
                Ok(t.conn.execute_deferred(insert, [3])?)
            }),
            async move { open.send(()).unwrap() },
        );
        assert!(a.is_ok(), "{a:?}");
        let e = b.expect_err("the duplicate key fails its job");
        assert!(e.to_string().to_lowercase().contains("unique"), "{e}");
        assert_eq!(c.unwrap(), 1);
        assert!(d.is_err());
        let last = last.expect_err("the last job's duplicate key fails it");
        assert!(last.to_string().to_lowercase().contains("unique"), "{last}");
        assert_eq!(
            keys(&store).await.unwrap(),
            vec![1, 3],
            "only a and c commit (not e's 6)"
        );
        // The writer goes on: a later job commits as usual.
        store
            .write(move |t| Ok(t.conn.execute_deferred(insert, [5])?))
            .await
            .unwrap();
        assert_eq!(keys(&store).await.unwrap(), vec![1, 3, 5]);
    }
}
