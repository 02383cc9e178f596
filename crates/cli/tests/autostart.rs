//! The first session starts the broker by itself; many sessions starting at
//! the same moment still end with exactly one broker.

#[macro_use]
mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use common::*;
use serde_json::json;

#[tokio::test]
async fn five_sessions_at_once_start_exactly_one_broker() {
    autostarted(|env| async move {
        assert!(broker_pids(&env.db).is_empty());
        let dirs: Vec<_> = (0..5).map(|i| env.subdir(&format!("s{i}"))).collect();
        let starts = dirs.iter().map(|d| Mcp::start(&env, d));
        let mut mcps = futures_util::future::join_all(starts).await;

        let pids = broker_pids(&env.db);
        assert_eq!(
            pids.len(),
            1,
            "brokers running for this database: {pids:?}\n{}",
            broker_log(&env)
        );
        // The broker is detached from the sessions: its own process group.
        let pgid = unsafe { libc::getpgid(pids[0] as i32) };
        assert_eq!(
            pgid, pids[0] as i32,
            "the auto-started broker leads its own session"
        );

        // Every session sees the four others.
        for m in mcps.iter_mut() {
            let r = m.call("list_peers", json!({})).await;
            assert!(r.text.starts_with("4 peer(s)"), "{}", r.text);
        }
        // The auto-started broker logs to a file beside the database.
        let log = std::fs::read_to_string(env.db.with_extension("log"))
            .expect("broker log beside the database");
        assert!(log.contains("listening"), "{log}");
        // http://127.0.0.1:<port>/ answers with the dashboard.
        let page = reqwest::get(env.url("/")).await.unwrap();
        assert_eq!(page.status(), 200);
        assert!(
            page.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    })
    .await;
}

/// The collision `autostarted` retries: another process takes the chosen
/// port before the broker binds it; the test runs again on a new port.
#[tokio::test]
async fn a_port_taken_before_the_broker_binds_it_is_tried_again_on_another() {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    static TAKEN: Mutex<Vec<(u16, std::net::TcpListener)>> = Mutex::new(Vec::new());
    autostarted(|env| async move {
        if RUNS.fetch_add(1, Ordering::SeqCst) == 0 {
            let taker = std::net::TcpListener::bind(("127.0.0.1", env.port())).unwrap();
            TAKEN.lock().unwrap().push((env.port(), taker));
            panic!("the broker could not bind its port");
        }
        let taken = TAKEN.lock().unwrap()[0].0;
        assert_ne!(env.port(), taken, "a new port");
        let m = Mcp::start(&env, &env.subdir("s")).await;
        assert!(!m.id.is_empty());
    })
    .await;
    assert_eq!(RUNS.load(Ordering::SeqCst), 2);
}

/// A failure while the port is free (or held by the test's own broker) is the
/// test's failure: not run again.
#[tokio::test]
async fn a_failure_that_is_not_a_port_collision_is_not_retried() {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    let run = tokio::spawn(autostarted(|env| async move {
        RUNS.fetch_add(1, Ordering::SeqCst);
        let _m = Mcp::start(&env, &env.subdir("s")).await;
        panic!("a real failure");
    }))
    .await;
    assert!(run.is_err_and(|e| e.is_panic()));
    assert_eq!(RUNS.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_second_broker_on_the_same_database_exits_with_a_clear_message() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let db = env.db.to_string_lossy().to_string();
    // Any free port (0): the database lock is taken before the port is bound.
    let (ok, _out, err) = env.cli(&["broker", "--db", &db, "--port", "0"]).await;
    assert!(!ok);
    assert!(
        err.contains("another broker") && err.contains("already uses the database"),
        "{err}"
    );
}

#[tokio::test]
async fn a_second_broker_on_the_same_port_exits_with_a_clear_message() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let other_db = env
        .dir
        .path()
        .join("other.db")
        .to_string_lossy()
        .to_string();
    // Its own SQLite store, also when the suite runs on PostgreSQL (where a
    // second broker on the same database is refused before any port).
    let store = format!("sqlite:{other_db}");
    let (ok, _out, err) = env
        .cli(&["broker", "--db", &other_db, "--store", &store])
        .await;
    assert!(!ok);
    assert!(
        err.contains(&format!("port {} is already in use", env.port())),
        "{err}"
    );
}

#[tokio::test]
async fn health_reports_status_version_and_peer_count() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let h = env.anon().health().await.unwrap();
    assert_eq!(
        (h.service.as_str(), h.status.as_str(), h.peers),
        ("claude-peers", "ok", 0)
    );
    assert_eq!(h.version, env!("CARGO_PKG_VERSION"));
    assert!(
        h.pid.is_none() && h.db.is_none(),
        "pid and db only for the operator"
    );
    env.register("/x", |_| {}).await;
    let h = env.admin().health().await.unwrap();
    assert_eq!(h.peers, 1);
    assert!(h.pid.is_some() && h.db.is_some());
}
