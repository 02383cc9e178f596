//! The broker side of the dashboard: its embedded files and their headers, the
//! translation proxy (`/v1/translate`), the operator's group messages, and
//! the message events an operator stream hears (built without reading back).
//! The page itself is tested in a real browser by `tests/browser/`.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn admin(env: &Env, method: reqwest::Method, path: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .request(method, env.url(path))
        .bearer_auth(env.admin_token())
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_dashboard_file_is_served_with_a_strict_policy() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let page = reqwest::get(env.url("/")).await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "no inline script or style"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from the internet"
    );
    // Every module app.js pulls in (and what they pull in) is served as JavaScript.
    let mut todo = vec!["app.js".to_string()];
    let mut seen = Vec::new();
    while let Some(name) = todo.pop() {
        if seen.contains(&name) {
            continue;
        }
        let r = reqwest::get(env.url(&format!("/assets/{name}")))
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{name}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/javascript"),
            "{name}"
        );
        let js = r.text().await.unwrap();
        assert!(
            !js.contains("innerHTML") && !js.contains("eval("),
            "{name} builds the DOM with text only"
        );
        for line in js.lines().filter(|l| l.starts_with("import ")) {
            let dep = line.rsplit("\"./").next().unwrap().trim_end_matches("\";");
            todo.push(dep.to_string());
        }
        seen.push(name);
    }
    assert!(seen.len() >= 8, "{seen:?}");
    for name in ["style.css", "icon.svg"] {
        assert_eq!(
            reqwest::get(env.url(&format!("/assets/{name}")))
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert_eq!(
        reqwest::get(env.url("/assets/nope.js"))
            .await
            .unwrap()
            .status(),
        404
    );
}

/// A LibreTranslate stand-in: answers every POST with "[<target>] <q>".
async fn fake_translator() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/translate", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let (head_end, len) = loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(i) = text.find("\r\n\r\n") {
                        let len = text[..i]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap())
                            })
                            .unwrap_or(0);
                        break (i + 4, len);
                    }
                };
                while buf.len() < head_end + len {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let req: Value = serde_json::from_slice(&buf[head_end..]).unwrap();
                let body = json!({"translatedText": format!("[{}] {}", req["target"].as_str().unwrap(), req["q"].as_str().unwrap())}).to_string();
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            });
        }
    });
    (url, task)
}

#[tokio::test]
async fn translation_is_off_until_configured_then_proxied() {
    let env = Env::new();
    let mut b = Broker::start(&env, &[]).await;
    let (s, v) = admin(&env, reqwest::Method::GET, "/v1/translate", json!({})).await;
    assert_eq!((s, v["enabled"].clone()), (200, json!(false)));
    let (s, v) = admin(
        &env,
        reqwest::Method::POST,
        "/v1/translate",
        json!({"text": "hi", "target": "ar"}),
    )
    .await;
    assert_eq!(s, 404, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--translate-url"),
        "{v}"
    );
    b.sigkill();
    b.wait_exit().await;

    let (url, _t) = fake_translator().await;
    let _b = Broker::start(&env, &["--translate-url", &url]).await;
    let (s, v) = admin(&env, reqwest::Method::GET, "/v1/translate", json!({})).await;
    assert_eq!((s, v["enabled"].clone()), (200, json!(true)));
    let (s, v) = admin(
        &env,
        reqwest::Method::POST,
        "/v1/translate",
        json!({"text": "good morning", "target": "ar"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["translated"], "[ar] good morning");
    let (s, _) = admin(
        &env,
        reqwest::Method::POST,
        "/v1/translate",
        json!({"text": "x", "target": "ar\"; drop"}),
    )
    .await;
    assert_eq!(s, 400);
    // Only the operator may use it.
    let anon = reqwest::Client::new()
        .post(env.url("/v1/translate"))
        .json(&json!({"text": "x", "target": "ar"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
}

#[tokio::test]
async fn the_operator_writes_to_one_group() {
    let env = Env::new().with("CLAUDE_PEERS_AUTO_GROUP", "off");
    let _b = Broker::start(&env, &[]).await;
    let mut a = Mcp::start(&env, &env.subdir("a")).await;
    let mut b = Mcp::start(&env, &env.subdir("b")).await;
    let (s, g) = admin(
        &env,
        reqwest::Method::POST,
        "/v1/groups",
        json!({"name": "crew"}),
    )
    .await;
    assert_eq!(s, 201, "{g}");
    let gid = g["id"].as_str().unwrap().to_string();
    let (_, st) = admin(&env, reqwest::Method::GET, "/v1/state", json!({})).await;
    let a_id = st["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["cwd"].as_str().unwrap().ends_with("/a"))
        .map(|p| p["id"].as_str().unwrap().to_string())
        .unwrap();
    let (s, v) = admin(
        &env,
        reqwest::Method::POST,
        &format!("/v1/groups/{gid}/messages"),
        json!({"text": "nobody yet"}),
    )
    .await;
    assert_eq!(s, 400, "an empty group: {v}");
    let (s, _) = admin(
        &env,
        reqwest::Method::PUT,
        &format!("/v1/peers/{a_id}/group"),
        json!({"group": "crew"}),
    )
    .await;
    assert_eq!(s, 204);
    let (s, v) = admin(
        &env,
        reqwest::Method::POST,
        "/v1/groups/crew/messages",
        json!({"text": "crew only"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["recipients"].as_array().unwrap().len(), 1);
    let n = a.channel(WAIT).await.expect("a member gets it");
    assert!(
        n["params"]["content"]
            .as_str()
            .unwrap()
            .contains("crew only"),
        "{n}"
    );
    assert!(
        b.drain_channel(Duration::from_millis(300)).await.is_empty(),
        "b is not in the group"
    );
    let (_, st) = admin(&env, reqwest::Method::GET, "/v1/state", json!({})).await;
    let m = &st["messages"][0];
    assert_eq!(
        (
            m["group"]["name"].as_str(),
            m["to"].is_null(),
            m["scope"].is_null()
        ),
        (Some("crew"), true, true),
        "{m}"
    );
    let (s, _) = admin(
        &env,
        reqwest::Method::POST,
        "/v1/groups/nope/messages",
        json!({"text": "x"}),
    )
    .await;
    assert_eq!(s, 404);
}

/// The message event an operator stream hears is built by the send from
/// what it wrote (not read back): it equals the message as the operator
/// reads it afterwards, field for field (a reply in a thread, in a group,
/// with the sender's context; one to the operator).
#[tokio::test]
async fn a_message_event_equals_the_message_read_back() {
    use claude_peers_client::stream::{Incoming, Stream};
    use claude_peers_proto::api::{ContextSnapshot, MessageView};
    use claude_peers_proto::stream::{Event, ServerFrame};

    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let (a, alice) = env
        .register("/w/repo/a", |r| r.name = Some("alice".into()))
        .await;
    let (b, _bob) = env
        .register("/w/repo/b", |r| r.name = Some("bob".into()))
        .await;
    let admin = env.admin();
    admin.create_group("red").await.unwrap();
    admin.assign_group(&a.peer.id, Some("red")).await.unwrap();
    admin.assign_group(&b.peer.id, Some("red")).await.unwrap();
    let mut events = Stream::connect(&env.endpoint(), &env.admin_token())
        .await
        .unwrap();
    let first = send_text(&alice, "bob", "the first").await;
    let reply = alice
        .send(&claude_peers_proto::api::SendRequest {
            to: "bob".into(),
            text: "the reply".into(),
            reply_to: Some(first),
            context: Some(ContextSnapshot {
                branch: Some("main".into()),
                recent_files: vec!["src/lib.rs".into()],
                summary: "working".into(),
                cwd: "/w/repo/a".into(),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .message_id;
    let to_person = send_text(&alice, "dashboard", "for you").await;
    let mut heard: Vec<MessageView> = Vec::new();
    while heard.len() < 3 {
        let frame = tokio::time::timeout(WAIT, events.next())
            .await
            .expect("the message events");
        if let Incoming::Frame(ServerFrame::Event { event }) = frame
            && let Event::Message { message } = *event
        {
            heard.push(message);
        }
    }
    let mut read: Vec<MessageView> = admin.thread(first, None).await.unwrap().messages;
    read.extend(admin.thread(to_person, None).await.unwrap().messages);
    for id in [first, reply, to_person] {
        let event = heard.iter().find(|m| m.id == id).expect("an event");
        let back = read.iter().find(|m| m.id == id).expect("read back");
        assert!(back.group.is_some(), "sent in a group: {back:?}");
        assert_eq!(
            serde_json::to_value(event).unwrap(),
            serde_json::to_value(back).unwrap(),
            "message {id}"
        );
    }
}
