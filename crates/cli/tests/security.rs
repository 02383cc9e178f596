//! Safe by default: loopback unless told otherwise (with a token), credentials
//! for people and peers, cross-site requests refused, tokens never shown.

#[macro_use]
mod common;

use claude_peers_proto::ErrorCode;
use claude_peers_proto::api::RegisterRequest;
use common::*;
use serde_json::json;

const TOKEN: &str = "0123456789abcdef0123456789abcdef-join";

#[tokio::test]
async fn a_non_loopback_bind_needs_the_flag_and_a_token() {
    let env = Env::new();
    let port = env.port().to_string();
    let (ok, _, err) = env
        .cli(&["broker", "--bind", "0.0.0.0", "--port", &port])
        .await;
    assert!(!ok);
    assert!(
        err.contains("refusing to listen on 0.0.0.0") && err.contains("--allow-lan"),
        "{err}"
    );
    let (ok, _, err) = env
        .cli(&[
            "broker",
            "--bind",
            "0.0.0.0",
            "--allow-lan",
            "--port",
            &port,
        ])
        .await;
    assert!(!ok);
    assert!(
        err.contains("without a token") && err.contains("CLAUDE_PEERS_TOKEN"),
        "{err}"
    );
    let (ok, _, err) = env
        .cli(&[
            "broker",
            "--bind",
            "0.0.0.0",
            "--allow-lan",
            "--join-token",
            "short",
            "--port",
            &port,
        ])
        .await;
    assert!(!ok);
    assert!(err.contains("at least 32 characters"), "{err}");
    assert!(env.anon().health().await.is_err(), "nothing was started");

    // With both, it starts; the dashboard then requires the admin token.
    let _b = Broker::start(
        &env,
        &["--bind", "0.0.0.0", "--allow-lan", "--join-token", TOKEN],
    )
    .await;
    let resp = reqwest::Client::new()
        .post(env.url("/v1/session"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "no automatic sign-in on a LAN broker");
    let resp = reqwest::Client::new()
        .post(env.url("/v1/session"))
        .json(&json!({"token": env.admin_token()}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
}

#[tokio::test]
async fn the_join_token_is_required_when_asked_for() {
    let env = Env::new().with("CLAUDE_PEERS_TOKEN", TOKEN);
    let _b = Broker::start(&env, &["--require-token"]).await;
    let req = RegisterRequest {
        pid: std::process::id(),
        cwd: "/x".into(),
        ..Default::default()
    };
    let err = env.anon().register(&req, None).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
    assert!(err.to_string().contains("join token"), "{err}");
    let err = env
        .anon()
        .register_with(&req, None, Some("wrong-token-wrong-token-wrong-token"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Unauthorized));
    env.anon()
        .register_with(&req, None, Some(TOKEN))
        .await
        .expect("with the token");
    // The MCP server presents CLAUDE_PEERS_TOKEN from its environment.
    let mut m = Mcp::start(&env, &env.subdir("m")).await;
    assert!(!m.call("whoami", json!({})).await.is_error);
}

#[tokio::test]
async fn the_dashboard_can_be_made_to_ask_for_a_login_on_loopback() {
    let env = Env::new();
    let _b = Broker::start(&env, &["--dashboard-login", "always"]).await;
    let http = reqwest::Client::new();
    let r = http
        .post(env.url("/v1/session"))
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = http.get(env.url("/v1/state")).send().await.unwrap();
    assert_eq!(
        r.status(),
        401,
        "the state is not readable without signing in"
    );
    let r = http
        .post(env.url("/v1/session"))
        .json(&json!({"token": env.admin_token()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let r = http
        .get(env.url("/v1/state"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the session cookie signs the page in");
    // A forged request from another site carrying the cookie is refused (CSRF).
    let r = http
        .post(env.url("/v1/messages"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .header("content-type", "application/json")
        .body(r#"{"to":"x","text":"hi"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(env.url("/v1/messages"))
        .header("cookie", &cookie)
        .header("content-type", "text/plain")
        .body(r#"{"to":"x","text":"hi"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        415,
        "a simple cross-site form post has no JSON content type"
    );
    let forged = cookie.replace(|c: char| c.is_ascii_digit(), "7");
    let r = http
        .get(env.url("/v1/state"))
        .header("cookie", forged)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "a tampered cookie does not sign in");
}

#[tokio::test]
async fn stream_connections_are_limited() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let env = Env::new();
    let _b = Broker::start(&env, &["--max-streams", "2"]).await;
    let connect = || async {
        let mut req = format!("ws://127.0.0.1:{}/v1/stream", env.port())
            .into_client_request()
            .unwrap();
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {}", env.admin_token()).parse().unwrap(),
        );
        tokio_tungstenite::connect_async(req).await
    };
    let _a = connect().await.unwrap();
    let _b2 = connect().await.unwrap();
    let err = connect().await.unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    drop(_a);
    until!("room again once one closed", connect().await.is_ok());
}

#[tokio::test]
async fn tokens_never_appear_in_tool_results_or_logs() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    let mut seen = String::new();
    for tool in ["whoami", "list_peers", "check_messages", "check_acks"] {
        seen.push_str(&a.call(tool, json!({})).await.text);
    }
    seen.push_str(
        &a.call("send_message", json!({"to_id": b.name, "message": "x"}))
            .await
            .text,
    );
    seen.push_str(&b.channel(WAIT).await.unwrap().to_string());
    assert!(
        !seen.contains("cpt_"),
        "a token leaked into a tool result: {seen}"
    );
    let logs = broker_log(&env)
        + &std::fs::read_to_string(env.dir.path().join("mcp-test.log")).unwrap_or_default();
    assert!(!logs.contains("cpt_"), "a token leaked into a log");
    assert!(!logs.contains(&env.admin_token()));
}

#[tokio::test]
async fn peers_cannot_answer_permission_prompts() {
    // With the relay off (the default) the server does not declare it, so
    // Claude Code never asks it to allow a tool; with it on, only the operator
    // answers (permission_relay.rs).
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let mut m = Mcp::spawn(&env, &env.subdir("m"), &[]).await;
    let init = m.handshake("2025-11-25").await;
    let exp = init["result"]["capabilities"]["experimental"]
        .as_object()
        .unwrap();
    assert!(exp.contains_key("claude/channel"));
    assert!(!exp.contains_key("claude/channel/permission"), "{init}");
}

#[tokio::test]
async fn private_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let _m = Mcp::start(&env, &env.subdir("m")).await;
    let mode = |p: std::path::PathBuf| {
        std::fs::metadata(&p)
            .unwrap_or_else(|_| panic!("{}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(env.db.with_extension("admin-token")), 0o600);
    let sessions = env.db.with_extension("sessions");
    assert_eq!(mode(sessions.clone()), 0o700);
    for e in std::fs::read_dir(&sessions).unwrap().flatten() {
        assert_eq!(mode(e.path()) & 0o077, 0, "{}", e.path().display());
    }
}
