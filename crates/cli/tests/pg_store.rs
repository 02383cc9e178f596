//! The PostgreSQL store, end to end with the real binary (these tests need
//! `CLAUDE_PEERS_TEST_PG`, which `.ci/run` sets; without it they say so and
//! return):
//! - a broker migrates an empty database and serves from it;
//! - a broker refuses a database whose schema is newer than it knows, saying
//!   so, and leaves the database as it was;
//! - `--store` takes `sqlite:PATH` or a `postgres://` URL and refuses
//!   anything else with a message;
//! - a second broker (`--standby` or not) serves the same database at once;
//! - a batch holding one send costs few round trips to the server.

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

/// On PostgreSQL every broker serves at once: a second broker on the same
/// database, even one started with `--standby` (which only waits for its
/// own state directory), serves beside the first and sees its peers
/// (`pg_team.rs` tests brokers together).
#[tokio::test]
async fn a_second_broker_serves_the_same_database_at_once_even_as_a_standby() {
    let Some((env, _url)) = pg_env() else { return };
    let _first = Broker::start(&env, &[]).await;
    let _ = env
        .register("/w/a", |r| r.name = Some("alice".into()))
        .await;
    let other = env.beside();
    let _second = Broker::start(&other, &["--standby"]).await;
    let (ok, out, err) = other.cli(&["peers"]).await;
    assert!(ok && out.contains("alice"), "{out}\n{err}");
}

/// Round trips to PostgreSQL of a write batch holding one send, at most:
/// [`BEGIN` with the write lock, the savepoint, the send's reads (sender,
/// recipient, loop chain: one statement)], [the message's `INSERT …
/// RETURNING id`], [its deliveries, counters and chain, waited for at the
/// job's end], [`RELEASE`, the announcements, `COMMIT`]. It was 11 before
/// the send read everything at once and built the message's view from what
/// it wrote. Round trips, not the SQL, set the writer's pace on PostgreSQL
/// (BENCHMARKS.md, "The store on PostgreSQL").
const SEND_BATCH_ROUND_TRIPS: u64 = 4;

/// Each write batch the broker logged (`store batch`, debug level, which
/// the tests' brokers run at) after byte `from` of its log: (jobs, round
/// trips).
fn batches(env: &Env, from: usize) -> Vec<(u64, u64)> {
    let field = |l: &str, name: &str| -> Option<u64> {
        l.split(name)
            .nth(1)?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    };
    let log = broker_log(env);
    log.get(from..)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("store batch"))
        .filter_map(|l| Some((field(l, "jobs=")?, field(l, "round_trips=")?)))
        .collect()
}

/// A send by name, one at a time (each its own batch), costs at most
/// [`SEND_BATCH_ROUND_TRIPS`] round trips (the median: a batch of the
/// broker's own upkeep may fall in between). Sends arriving together share
/// a batch, and each costs 2 round trips more (its reads, its `INSERT`;
/// its deferred writes travel with the next job's).
#[tokio::test]
async fn a_send_costs_few_round_trips() {
    let Some((env, _url)) = pg_env() else { return };
    let _b = Broker::start(&env, &[]).await;
    let (_, alice) = env
        .register("/w/a", |r| r.name = Some("alice".into()))
        .await;
    let _ = env.register("/w/b", |r| r.name = Some("bob".into())).await;
    send_text(&alice, "bob", "warm").await;
    let from = broker_log(&env).len();
    for i in 0..20 {
        send_text(&alice, "bob", &format!("m{i}")).await;
    }
    let mut trips: Vec<u64> = batches(&env, from)
        .into_iter()
        .filter(|(jobs, _)| *jobs == 1)
        .map(|(_, t)| t)
        .collect();
    assert!(
        trips.len() >= 20,
        "the sends' batches were not logged: {trips:?}"
    );
    trips.sort();
    let median = trips[trips.len() / 2];
    eprintln!("round trips of a batch with one send: {trips:?}");
    assert!(
        median <= SEND_BATCH_ROUND_TRIPS,
        "a send's batch took {median} round trips (at most {SEND_BATCH_ROUND_TRIPS}): {trips:?}"
    );

    // Together (8 senders: a pair is rate limited): every batch of n
    // sends within 2 n + 2.
    let mut clients = Vec::new();
    for i in 0..8 {
        clients.push(env.register(&format!("/w/s{i}"), |_| {}).await.1);
    }
    let from = broker_log(&env).len();
    let mut senders = tokio::task::JoinSet::new();
    for (i, c) in clients.into_iter().enumerate() {
        senders.spawn(async move {
            for k in 0..8 {
                send_text(&c, "bob", &format!("t{i}-{k}")).await;
            }
        });
    }
    while let Some(r) = senders.join_next().await {
        r.unwrap();
    }
    let shared: Vec<(u64, u64)> = batches(&env, from)
        .into_iter()
        .filter(|(jobs, _)| *jobs > 1)
        .collect();
    eprintln!("batches of several sends (jobs, round trips): {shared:?}");
    for (jobs, trips) in &shared {
        assert!(
            *trips <= 2 * jobs + 2,
            "a batch of {jobs} sends took {trips} round trips: {shared:?}"
        );
    }
}
