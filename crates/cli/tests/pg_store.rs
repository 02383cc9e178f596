//! The PostgreSQL store, end to end with the real binary (these tests need
//! `CLAUDE_PEERS_TEST_PG`, which `.ci/run` sets; without it they say so and
//! return):
//! - a broker migrates an empty database and serves from it;
//! - a broker refuses a database whose schema is newer than it knows, saying
//!   so, and leaves the database as it was;
//! - `--store` takes `sqlite:PATH` or a `postgres://` URL and refuses
//!   anything else with a message;
//! - one broker serves a database at a time: a second one is refused, one
//!   started with `--standby` takes over when the first dies.

#[macro_use]
mod common;

use common::*;

/// Run one statement on `url` (the sync client runs its own runtime: keep it
/// off the test's).
fn pg_execute(url: &str, sql: &str) {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.batch_execute(&sql).unwrap();
    })
    .join()
    .unwrap();
}

fn pg_version(url: &str) -> i64 {
    let url = url.to_string();
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.query_one("SELECT max(version) FROM schema_version", &[])
            .unwrap()
            .get::<_, i64>(0)
    })
    .join()
    .unwrap()
}

fn pg_env() -> Option<(Env, String)> {
    if test_pg().is_none() {
        eprintln!("CLAUDE_PEERS_TEST_PG is not set: this PostgreSQL test did not run");
        return None;
    }
    let env = Env::new();
    let url = env.store.clone().expect("a database for the test");
    Some((env, url))
}

#[tokio::test]
async fn a_broker_migrates_an_empty_database_and_serves_from_it() {
    let Some((env, url)) = pg_env() else { return };
    let _b = Broker::start(&env, &[]).await;
    assert!(pg_version(&url) >= 7, "the schema was not migrated");
    let (_, alice) = env
        .register("/w/a", |r| r.name = Some("alice".into()))
        .await;
    let (_, bob) = env.register("/w/b", |r| r.name = Some("bob".into())).await;
    let id = send_text(&alice, "bob", "over postgres").await;
    let inbox = bob.inbox().await.unwrap();
    assert!(
        inbox
            .messages
            .iter()
            .any(|m| m.id == id && m.text == "over postgres"),
        "{inbox:?}"
    );
}

#[tokio::test]
async fn a_broker_refuses_a_database_with_a_newer_schema() {
    let Some((env, url)) = pg_env() else { return };
    {
        let mut b = Broker::start(&env, &[]).await;
        b.sigkill();
        b.wait_exit().await;
    }
    pg_execute(&url, "UPDATE schema_version SET version = 999");
    let db = env.db.to_string_lossy().to_string();
    let (code, _, err) =
        run_output(env.command(&["broker", "--db", &db, "--port", "0"]), WAIT).await;
    assert_ne!(code, Some(0), "the broker started on a newer schema: {err}");
    assert!(
        err.contains("schema version 999, newer than this claude-peers"),
        "{err}"
    );
    assert_eq!(pg_version(&url), 999, "the refused database was changed");
}

#[tokio::test]
async fn a_store_that_is_neither_sqlite_nor_postgres_is_refused() {
    let env = Env::new().with("CLAUDE_PEERS_STORE", "mysql://user:secret@host/db");
    let db = env.db.to_string_lossy().to_string();
    let (code, _, err) =
        run_output(env.command(&["broker", "--db", &db, "--port", "0"]), WAIT).await;
    assert_ne!(code, Some(0));
    assert!(err.contains("sqlite:PATH or a postgres:// URL"), "{err}");
    assert!(
        !err.contains("secret"),
        "the refusal shows the password: {err}"
    );
}

/// The port a broker with state `db` recorded in its lock file (`pid port`).
fn recorded_port(db: &std::path::Path) -> Option<u16> {
    let text = std::fs::read_to_string(db.with_extension("lock")).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn one_broker_serves_a_database_and_a_standby_takes_over() {
    let Some((env, _url)) = pg_env() else { return };
    let mut first = Broker::start(&env, &[]).await;
    let _ = env
        .register("/w/a", |r| r.name = Some("alice".into()))
        .await;
    // Another broker (its own state directory, the same database) is refused.
    let other = env.subdir("second").join("peers.db");
    let other_db = other.to_string_lossy().to_string();
    let (code, _, err) = run_output(
        env.command(&["broker", "--db", &other_db, "--port", "0"]),
        WAIT,
    )
    .await;
    assert_ne!(code, Some(0), "a second broker served the database: {err}");
    assert!(
        err.contains("another broker already serves this PostgreSQL database"),
        "{err}"
    );
    // A standby waits, and serves once the first broker dies.
    let mut standby = env.command(&["broker", "--db", &other_db, "--port", "0", "--standby"]);
    standby
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let _standby = standby.spawn().unwrap();
    first.sigkill();
    first.wait_exit().await;
    until!("the standby serves", recorded_port(&other).is_some());
    let port = recorded_port(&other).unwrap().to_string();
    let peers = || {
        let mut c = env.command(&["peers"]);
        c.env("CLAUDE_PEERS_DB", &other_db)
            .env("CLAUDE_PEERS_PORT", &port);
        run_output(c, WAIT)
    };
    until!("the standby lists the first broker's peer", {
        let (code, out, _) = peers().await;
        code == Some(0) && out.contains("alice")
    });
}
