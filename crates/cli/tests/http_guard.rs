//! The floor of browser and identity safety: Host and Origin checks, JSON-only
//! state changes, credentials on every call, and no way to act as another peer.

mod common;

use claude_peers_proto::api::SendRequest;
use common::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

async fn raw(
    env: &Env,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let client = reqwest::Client::new();
    let mut rb = client.request(method.parse().unwrap(), env.url(path));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    if let Some(b) = body {
        rb = rb.body(b.to_string());
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let v = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, v, headers)
}

#[tokio::test]
async fn foreign_host_headers_are_refused() {
    let env = Env::new();
    let _b = Broker::start(&env, &["--allowed-host", "devbox.lan"]).await;
    for host in ["evil.example", "127.0.0.1.nip.io", "attacker.com:7899"] {
        let (s, v, _) = raw(&env, "GET", "/health", &[("host", host)], None).await;
        assert_eq!(s, 403, "{host}");
        assert_eq!(v["error"]["code"], "host_not_allowed");
    }
    let port = env.port().to_string();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("devbox.lan:{port}"),
    ] {
        let (s, _, _) = raw(&env, "GET", "/health", &[("host", &host)], None).await;
        assert_eq!(s, 200, "{host}");
    }
}

#[tokio::test]
async fn foreign_origins_are_refused_on_http_and_websocket() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let (s, v, h) = raw(
        &env,
        "POST",
        "/v1/peers",
        &[
            ("origin", "https://evil.example"),
            ("content-type", "application/json"),
        ],
        Some(r#"{"pid":1,"cwd":"/x"}"#),
    )
    .await;
    assert_eq!(s, 403);
    assert_eq!(v["error"]["code"], "origin_not_allowed");
    assert!(h.get("access-control-allow-origin").is_none(), "no CORS");
    let (s, _, h) = raw(
        &env,
        "OPTIONS",
        "/v1/messages",
        &[
            ("origin", "https://evil.example"),
            ("access-control-request-method", "POST"),
        ],
        None,
    )
    .await;
    assert_ne!(s, 204);
    assert!(
        h.get("access-control-allow-origin").is_none(),
        "no CORS preflight"
    );
    // Same-origin requests (the dashboard) are fine.
    let own = format!("http://127.0.0.1:{}", env.port());
    let (s, _, _) = raw(&env, "GET", "/health", &[("origin", &own)], None).await;
    assert_eq!(s, 200);

    // A cross-site WebSocket is refused even with valid credentials.
    let mut req = format!("ws://127.0.0.1:{}/v1/stream", env.port())
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    req.headers_mut().insert(
        "authorization",
        format!("Bearer {}", env.admin_token()).parse().unwrap(),
    );
    let err = tokio_tungstenite::connect_async(req).await.unwrap_err();
    assert!(err.to_string().contains("403"), "{err}");
    let mut ok = format!("ws://127.0.0.1:{}/v1/stream", env.port())
        .into_client_request()
        .unwrap();
    ok.headers_mut().insert("origin", own.parse().unwrap());
    ok.headers_mut().insert(
        "authorization",
        format!("Bearer {}", env.admin_token()).parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(ok)
        .await
        .expect("same-origin stream");
    let hello = ws.next().await.unwrap().unwrap();
    assert!(hello.to_text().unwrap().contains("\"hello\""));
}

#[tokio::test]
async fn state_changes_must_be_json() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let (_, a) = env.register("/a", |_| {}).await;
    let auth = format!("Bearer {}", a.token().unwrap());
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data"),
    ] {
        let mut h = vec![("authorization", auth.as_str())];
        if let Some(ct) = ct {
            h.push(("content-type", ct));
        }
        let (s, v, _) = raw(
            &env,
            "POST",
            "/v1/messages",
            &h,
            Some(r#"{"to":"x","text":"y"}"#),
        )
        .await;
        assert_eq!(s, 415, "{ct:?}");
        assert_eq!(v["error"]["code"], "unsupported_media_type");
    }
}

#[tokio::test]
async fn every_action_needs_credentials_and_acts_only_as_their_owner() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let (a, ac) = env.register("/a", |_| {}).await;
    let (b, _bc) = env.register("/b", |_| {}).await;
    let (_, cc) = env.register("/c", |_| {}).await;
    // No token, a made-up token.
    let (s, v, _) = raw(&env, "GET", "/v1/peers", &[], None).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (s, _, _) = raw(
        &env,
        "GET",
        "/v1/peers",
        &[("authorization", "Bearer cpt_0000")],
        None,
    )
    .await;
    assert_eq!(s, 401);
    // There is no field to claim another identity: the sender is the token's peer.
    let auth = format!("Bearer {}", ac.token().unwrap());
    let (s, v, _) = raw(
        &env,
        "POST",
        "/v1/messages",
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        Some(&json!({"to": b.peer.id, "text": "x", "from_id": "someone-else"}).to_string()),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `from_id`")
    );
    let sent = ac
        .send(&SendRequest {
            to: b.peer.id.clone(),
            text: "for b".into(),
            context: None,
            wait_ms: None,
            ..Default::default()
        })
        .await
        .unwrap();
    let feed = env.admin().feed(None, None).await.unwrap();
    assert_eq!(feed.messages[0].from.id, a.peer.id);
    // C cannot acknowledge B's message, nor pin it.
    let err = cc.ack(sent.message_id).await.unwrap_err();
    assert!(err.to_string().contains("not a recipient"), "{err}");
    assert!(cc.pin(sent.message_id, true).await.is_err());
    // A peer token is not an operator credential.
    let err = ac.create_group("mine").await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(claude_peers_proto::ErrorCode::Forbidden),
        "{err}"
    );
    let err = ac.shutdown(false).await.unwrap_err();
    assert_eq!(err.code(), Some(claude_peers_proto::ErrorCode::Forbidden));
    // The operator cannot act as a peer on peer-only routes.
    let err = env.admin().me().await.unwrap_err();
    assert_eq!(err.code(), Some(claude_peers_proto::ErrorCode::Forbidden));
    // A leaked peer token does not appear in the broker log.
    let log = broker_log(&env);
    assert!(!log.contains(ac.token().unwrap()), "tokens never logged");
}

#[tokio::test]
async fn the_dashboard_page_is_served_with_a_strict_policy() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let resp = reqwest::get(env.url("/")).await.unwrap();
    assert_eq!(resp.status(), 200);
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    let etag = resp.headers()["etag"].to_str().unwrap().to_string();
    let again = reqwest::Client::new()
        .get(env.url("/"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    // Sign-in from this machine works without a token on a loopback broker, and
    // the cookie is HttpOnly and SameSite=Strict.
    let (s, _, h) = raw(
        &env,
        "POST",
        "/v1/session",
        &[("content-type", "application/json")],
        Some("{}"),
    )
    .await;
    assert_eq!(s, 204);
    let cookie = h["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let (s, _, _) = raw(
        &env,
        "POST",
        "/v1/session",
        &[("content-type", "application/json")],
        Some(r#"{"token":"wrong"}"#),
    )
    .await;
    assert_eq!(s, 401);
}
