//! The MCP stdio server that Claude Code starts once per session.
//!
//! - [`server`]: the handshake (channel capability, protocol ≤ 2025-11-25,
//!   instructions) and tool dispatch;
//! - [`tools`]: the tools, with the seed's names and parameters;
//!   [`coord_tools`]: the coordination tools (tasks, decisions, verification,
//!   proposals, approvals, files, structured messages, the session report);
//!   [`schema`]: their input schemas in compact form (less context per session);
//! - [`session`]: the link to the broker (auto-start, registration, stream,
//!   reconnect) and the pusher (messaging socket, else channel notification);
//! - [`host`]: what the Claude Code session tells us about itself (session id,
//!   messaging socket, permission mode, inbound setting);
//! - [`msgsocket`]: writing a peer message into the session's messaging socket;
//! - [`channel`]: the exact shape of channel notifications;
//! - [`permission`]: the permission relay (capability decided at `initialize`,
//!   requests to the broker, the operator's answers back to Claude Code);
//! - [`git`]: repository, branch and recent files, gathered in the background.
//!
//! The handshake is answered as soon as the broker's `/health` says whether the
//! permission relay is on (at most `RELAY_PROBE_WAIT_MS`, 3 s, when the broker
//! is slow or absent); registration happens in the background.

pub mod channel;
pub mod coord_tools;
pub mod format;
pub mod git;
pub mod host;
pub mod msgsocket;
pub mod permission;
pub mod schema;
pub mod server;
pub mod session;
pub mod tools;

use std::sync::Arc;
use std::time::Duration;

use rmcp::ServiceExt;

pub use session::Options;

/// Run the MCP server on stdin/stdout until the client goes away, then leave
/// the network and exit the process.
pub async fn run(opts: Options, profile: &str) -> anyhow::Result<()> {
    let session = session::Session::new(opts);
    session.start();
    let tools = tools::Tools {
        session: session.clone(),
        router: Arc::new(tools::router(profile)),
    };
    let parent = session.parent_pid();
    // The handshake itself is raced against the end of the session too: a
    // client that dies before saying hello must not leave us waiting forever.
    let serving = async {
        match tools.serve(rmcp::transport::stdio()).await {
            Ok(running) => format!(
                "client closed the connection ({:?})",
                running.waiting().await
            ),
            Err(e) => format!("the MCP handshake failed: {e}"),
        }
    };
    let reason = tokio::select! {
        r = serving => r,
        _ = parent_gone(parent) => "the Claude Code process is gone".to_string(),
        _ = signal() => "signal".to_string(),
    };
    tracing::info!(%reason, "stopping");
    session.leave().await;
    if !claude_peers_proto::process::alive(parent, None)
        || std::os::unix::process::parent_id() != parent
    {
        session.forget_credentials();
    }
    // The stdio reader cannot be cancelled; exit instead of waiting for it.
    std::process::exit(0);
}

async fn parent_gone(parent: u32) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        if std::os::unix::process::parent_id() != parent {
            return;
        }
    }
}

async fn signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return std::future::pending().await;
    };
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = hup.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
