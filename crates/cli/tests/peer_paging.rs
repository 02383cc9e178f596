//! `list_peers` a page at a time: a long listing is cut at
//! `DEFAULT_PEER_PAGE` with a cursor for the rest, every peer is listed once
//! across the pages (over HTTP, through the MCP tool and in the CLI), and a
//! bad cursor or page size is refused with a sentence that says why.

mod common;

use std::collections::BTreeSet;

use claude_peers_proto::ErrorCode;
use claude_peers_proto::api::{ListPeersQuery, Scope};
use claude_peers_proto::limits::{DEFAULT_PEER_PAGE, MAX_PAGE};
use common::*;
use serde_json::json;

/// Peers beyond one default page.
const EXTRA: usize = 7;

/// The ids a `list_peers` result names, in order.
fn ids_in(text: &str) -> Vec<String> {
    text.split("(id ")
        .skip(1)
        .map(|rest| rest.split(')').next().unwrap_or_default().to_string())
        .collect()
}

/// The cursor a `list_peers` result offers for the next page.
fn cursor_in(text: &str) -> Option<String> {
    let rest = text.split("with cursor \"").nth(1)?;
    Some(rest.split('"').next()?.to_string())
}

#[tokio::test]
async fn a_long_listing_is_paged_and_every_peer_is_listed_once() {
    let env = Env::new();
    let _b = Broker::start(&env, &["--registrations-per-minute", "10000"]).await;
    let dir = env.subdir("w");
    let cwd = dir.to_str().unwrap();
    let mut registered = BTreeSet::new();
    for _ in 0..DEFAULT_PEER_PAGE as usize + EXTRA {
        let (r, _) = env.register(cwd, |_| {}).await;
        registered.insert(r.peer.id);
    }
    let mut m = Mcp::start(&env, &dir).await;

    // The MCP tool: a full first page that says how to get the next.
    let first = m.call("list_peers", json!({})).await;
    assert!(!first.is_error, "{}", first.text);
    assert!(
        first
            .text
            .starts_with(&format!("{DEFAULT_PEER_PAGE} peer(s) (scope: machine)")),
        "{}",
        first.text
    );
    let cursor = cursor_in(&first.text).expect("a cursor for the next page");
    let second = m
        .call("list_peers", json!({"cursor": cursor, "scope": "machine"}))
        .await;
    assert!(!second.is_error, "{}", second.text);
    assert!(
        second.text.starts_with(&format!("{EXTRA} peer(s)")),
        "{}",
        second.text
    );
    assert_eq!(cursor_in(&second.text), None, "{}", second.text);
    let mut listed = ids_in(&first.text);
    listed.extend(ids_in(&second.text));
    assert_eq!(listed.len(), registered.len(), "each peer once: {listed:?}");
    assert_eq!(listed.into_iter().collect::<BTreeSet<_>>(), registered);
    // The same pages in a narrower scope.
    let dir_page = m.call("list_peers", json!({"scope": "directory"})).await;
    assert_eq!(ids_in(&dir_page.text).len(), DEFAULT_PEER_PAGE as usize);
    assert!(cursor_in(&dir_page.text).is_some(), "{}", dir_page.text);

    // Over HTTP: small pages add up to the whole listing, in order.
    let admin = env.admin();
    let mut q = ListPeersQuery {
        scope: Some(Scope::Machine),
        limit: Some(10),
        ..Default::default()
    };
    let mut pages = Vec::new();
    loop {
        let page = admin.peers_page(&q).await.unwrap();
        assert!(page.peers.len() <= 10);
        pages.extend(page.peers.into_iter().map(|p| p.id));
        match page.next {
            Some(next) => q.cursor = Some(next),
            None => break,
        }
        assert!(pages.len() <= registered.len() + 1, "the pages never end");
    }
    let all: Vec<String> = admin
        .all_peers(&ListPeersQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(pages, all);
    assert_eq!(all.len(), registered.len() + 1, "the MCP server's peer too");
    // Without a limit, a page holds DEFAULT_PEER_PAGE.
    let page = admin.peers_page(&ListPeersQuery::default()).await.unwrap();
    assert_eq!(page.peers.len(), DEFAULT_PEER_PAGE as usize);
    assert!(page.next.is_some());

    // The CLI lists everyone (it follows the pages).
    let (ok, out, err) = env.cli(&["peers", "--json"]).await;
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().map(Vec::len), Some(registered.len() + 1));
}

#[tokio::test]
async fn a_bad_cursor_or_page_size_is_refused_clearly() {
    let env = Env::new();
    let _b = Broker::start(&env, &[]).await;
    let dir = env.subdir("w");
    let (_, peer) = env.register(dir.to_str().unwrap(), |_| {}).await;
    for bad in ["nonsense", "12.UPPER", "-1.abc", "99999999999999999999.abc"] {
        let err = peer
            .peers(&ListPeersQuery {
                cursor: Some(bad.into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidRequest), "{bad}: {err}");
        assert!(
            err.to_string().contains("invalid cursor") && err.to_string().contains(bad),
            "{bad}: {err}"
        );
    }
    for limit in [0, MAX_PAGE + 1] {
        let err = peer
            .peers(&ListPeersQuery {
                limit: Some(limit),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(ErrorCode::InvalidRequest), "{err}");
        assert!(
            err.to_string().contains("'limit' must be between 1"),
            "{err}"
        );
    }
    // A cursor past the end is a valid, empty page.
    let past = peer
        .peers_page(&ListPeersQuery {
            cursor: Some(format!("{}.zzzz", i64::MAX)),
            include_self: Some(true),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(past.peers.is_empty() && past.next.is_none());

    let mut m = Mcp::start(&env, &dir).await;
    let r = m
        .call("list_peers", json!({"cursor": "not-a-cursor"}))
        .await;
    refused(
        &r,
        "invalid cursor \"not-a-cursor\": pass the cursor a previous listing returned",
    );
}
