//! `claude-peers broker`: run the broker in the foreground.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};
use claude_peers_broker::AutoGroup;
use claude_peers_broker::{Config, DashboardLogin, Limits, StoreLocation, TlsFiles};
use claude_peers_proto::limits;

use crate::Global;

#[derive(Args, Debug)]
pub struct BrokerArgs {
    /// Address to listen on. Anything but loopback needs --allow-lan and CLAUDE_PEERS_TOKEN.
    #[arg(long, env = "CLAUDE_PEERS_BIND", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST), value_parser = crate::parse_ip)]
    bind: IpAddr,
    /// Permit a non-loopback --bind (other machines can then reach the broker).
    #[arg(long)]
    allow_lan: bool,
    /// Token peers on other machines must present to register (at least 32 characters).
    #[arg(
        long = "join-token",
        env = "CLAUDE_PEERS_TOKEN",
        hide_env_values = true
    )]
    join_token: Option<String>,
    /// Require the join token from peers on this machine too (CLAUDE_PEERS_TOKEN).
    #[arg(long = "require-token", env = "CLAUDE_PEERS_REQUIRE_TOKEN", value_parser = parse_flag, default_value = "0", num_args = 0..=1, default_missing_value = "1")]
    require_token: bool,
    /// Most WebSocket streams open at once.
    #[arg(long, env = "CLAUDE_PEERS_MAX_STREAMS", default_value_t = limits::MAX_STREAM_CONNECTIONS)]
    max_streams: usize,
    /// Extra host names accepted in the Host header (e.g. this machine's LAN name). Repeatable.
    #[arg(
        long = "allowed-host",
        env = "CLAUDE_PEERS_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    allowed_hosts: Vec<String>,
    /// Skip process liveness checks (tests).
    #[arg(long, env = "CLAUDE_PEERS_SKIP_PID_CHECK", value_parser = parse_flag, default_value = "0")]
    skip_pid_check: bool,
    /// How peers are grouped automatically.
    #[arg(long, env = "CLAUDE_PEERS_AUTO_GROUP", default_value = "branch")]
    auto_group: AutoGroupArg,
    /// When the dashboard asks for the admin token.
    #[arg(long, env = "CLAUDE_PEERS_DASHBOARD_LOGIN", default_value = "auto")]
    dashboard_login: LoginArg,
    /// Undelivered messages one peer may have waiting.
    #[arg(long, env = "CLAUDE_PEERS_QUEUE_DEPTH", default_value_t = limits::DEFAULT_QUEUE_DEPTH)]
    queue_depth: u32,
    /// Messages one peer may send per minute (0 = no limit).
    #[arg(long, env = "CLAUDE_PEERS_SENDS_PER_MINUTE", default_value_t = limits::DEFAULT_SENDS_PER_MINUTE)]
    sends_per_minute: u32,
    /// Messages one peer may send to one other peer per minute (0 = no limit).
    #[arg(long, env = "CLAUDE_PEERS_PAIR_SENDS_PER_MINUTE", default_value_t = limits::DEFAULT_PAIR_SENDS_PER_MINUTE)]
    pair_sends_per_minute: u32,
    /// Agent-to-agent messages in a chain (since a person last wrote) before
    /// further ones are held for the operator (0 = no loop guard).
    #[arg(long, env = "CLAUDE_PEERS_CHAIN_LIMIT", default_value_t = limits::DEFAULT_CHAIN_LIMIT)]
    chain_limit: u32,
    /// API requests one peer may make per second (0 = no limit).
    #[arg(long, env = "CLAUDE_PEERS_REQUESTS_PER_SECOND", default_value_t = limits::DEFAULT_REQUESTS_PER_SECOND)]
    requests_per_second: u32,
    /// Registrations per minute, in all (0 = no limit).
    #[arg(long, env = "CLAUDE_PEERS_REGISTRATIONS_PER_MINUTE", default_value_t = limits::DEFAULT_REGISTRATIONS_PER_MINUTE)]
    registrations_per_minute: u32,
    /// Milliseconds a disconnected peer has to reconnect before it shows as stale.
    #[arg(long, env = "CLAUDE_PEERS_RECONNECT_GRACE_MS", default_value_t = limits::RECONNECT_GRACE_MS)]
    reconnect_grace_ms: i64,
    /// Milliseconds after which a stale peer is removed from the list.
    #[arg(long, env = "CLAUDE_PEERS_REMOVE_AFTER_MS", default_value_t = limits::REMOVE_AFTER_MS)]
    remove_after_ms: i64,
    /// Milliseconds an active-files report lasts without a new one.
    #[arg(long, env = "CLAUDE_PEERS_ACTIVE_FILES_TTL_MS", default_value_t = limits::DEFAULT_ACTIVE_FILES_TTL_MS)]
    active_files_ttl_ms: i64,
    /// LibreTranslate-compatible URL (e.g. http://127.0.0.1:5000/translate) for the
    /// dashboard's translate button when the browser has no on-device translator.
    #[arg(long = "translate-url", env = "CLAUDE_PEERS_TRANSLATE_URL")]
    translate_url: Option<String>,
    /// API key for --translate-url, if the server needs one.
    #[arg(
        long = "translate-key",
        env = "CLAUDE_PEERS_TRANSLATE_KEY",
        hide_env_values = true
    )]
    translate_key: Option<String>,
    /// Relay sessions' permission prompts to the operator (dashboard,
    /// `claude-peers permissions`): MCP servers started while it is on ask
    /// Claude Code for them. Off by default.
    #[arg(long = "permission-relay", env = "CLAUDE_PEERS_PERMISSION_RELAY", value_parser = parse_flag, default_value = "0", num_args = 0..=1, default_missing_value = "1")]
    permission_relay: bool,
    /// Milliseconds a relayed permission request waits for the operator before
    /// it leaves the lane (the terminal prompt still works).
    #[arg(long = "permission-timeout-ms", env = "CLAUDE_PEERS_PERMISSION_TIMEOUT_MS", default_value_t = limits::DEFAULT_PERMISSION_TIMEOUT_MS)]
    permission_timeout_ms: i64,
    /// Milliseconds a direct message may stay unread by a peer that is not
    /// connected before it shows as unreachable in the "needs you" lane (its
    /// sender is told once).
    #[arg(long = "unreachable-after-ms", env = "CLAUDE_PEERS_UNREACHABLE_AFTER_MS", default_value_t = limits::DEFAULT_UNREACHABLE_AFTER_MS)]
    unreachable_after_ms: i64,
    /// Webhook for new "needs you" items: a small JSON POST ({"text", "content",
    /// "title", "count", "items"}) that ntfy, Slack and Discord accept. http:// only.
    #[arg(long = "notify-url", env = "CLAUDE_PEERS_NOTIFY_URL")]
    notify_url: Option<String>,
    /// Milliseconds in which new items share one webhook notification.
    #[arg(long = "notify-coalesce-ms", env = "CLAUDE_PEERS_NOTIFY_COALESCE_MS", default_value_t = limits::DEFAULT_NOTIFY_COALESCE_MS)]
    notify_coalesce_ms: u64,
    /// Milliseconds one webhook POST may take before it is retried.
    #[arg(long = "notify-timeout-ms", env = "CLAUDE_PEERS_NOTIFY_TIMEOUT_MS", default_value_t = limits::DEFAULT_NOTIFY_TIMEOUT_MS)]
    notify_timeout_ms: u64,
    /// Serve HTTPS and WSS with this certificate chain (PEM); needs --tls-key.
    #[arg(long = "tls-cert", env = "CLAUDE_PEERS_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert; needs --tls-cert.
    #[arg(long = "tls-key", env = "CLAUDE_PEERS_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Stand by: if another broker uses this --db, wait and take over when it
    /// stops or dies (instead of refusing to start). On PostgreSQL brokers
    /// serve the database together; this waits only for --db's lock.
    #[arg(long, env = "CLAUDE_PEERS_STANDBY", value_parser = parse_flag, default_value = "0", num_args = 0..=1, default_missing_value = "1")]
    standby: bool,
    /// Where the data lives: sqlite:PATH (default: --db) or a postgres:// URL
    /// several brokers share (--db then only names this broker's lock, port
    /// file and admin token).
    #[arg(long, env = "CLAUDE_PEERS_STORE", hide_env_values = true)]
    store: Option<String>,
    /// Set when an MCP server started this broker.
    #[arg(long, hide = true)]
    spawned: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum AutoGroupArg {
    Branch,
    Repo,
    Off,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LoginArg {
    Auto,
    Always,
}

fn parse_flag(s: &str) -> Result<bool, String> {
    match s.trim() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" | "" => Ok(false),
        other => Err(format!("expected 1 or 0, got {other:?}")),
    }
}

pub async fn run(g: &Global, a: BrokerArgs) -> Result<()> {
    let endpoint = claude_peers::global::endpoint(g);
    let mut config = Config::new(g.port, endpoint.db);
    config.bind = a.bind;
    config.allow_lan = a.allow_lan;
    config.join_token = a.join_token.filter(|t| !t.is_empty());
    config.require_join_token = a.require_token;
    config.max_streams = a.max_streams;
    config.allowed_hosts = a
        .allowed_hosts
        .into_iter()
        .filter(|h| !h.is_empty())
        .collect();
    config.skip_pid_check = a.skip_pid_check;
    config.auto_group = match a.auto_group {
        AutoGroupArg::Branch => AutoGroup::Branch,
        AutoGroupArg::Repo => AutoGroup::Repo,
        AutoGroupArg::Off => AutoGroup::Off,
    };
    config.dashboard_login = match a.dashboard_login {
        LoginArg::Auto => DashboardLogin::Auto,
        LoginArg::Always => DashboardLogin::Always,
    };
    config.limits = Limits {
        queue_depth: a.queue_depth.max(1),
        sends_per_minute: a.sends_per_minute,
        pair_sends_per_minute: a.pair_sends_per_minute,
        chain_limit: a.chain_limit,
        requests_per_second: a.requests_per_second,
        registrations_per_minute: a.registrations_per_minute,
        reconnect_grace_ms: a.reconnect_grace_ms.max(0),
        remove_after_ms: a.remove_after_ms.max(0),
        active_files_ttl_ms: a.active_files_ttl_ms.max(1_000),
    };
    config.spawned = a.spawned;
    config.standby = a.standby;
    if let Some(store) = a.store.filter(|s| !s.trim().is_empty()) {
        match StoreLocation::parse(&store).map_err(anyhow::Error::msg)? {
            StoreLocation::Sqlite(path) => config.db = path,
            StoreLocation::Postgres(url) => config.postgres = Some(url),
        }
    }
    config.permission_relay = a.permission_relay;
    if a.permission_timeout_ms < 1_000 {
        anyhow::bail!(
            "--permission-timeout-ms must be at least 1000 (got {})",
            a.permission_timeout_ms
        );
    }
    config.permission_timeout_ms = a.permission_timeout_ms;
    config.unreachable_after_ms = a.unreachable_after_ms.max(0);
    if let Some(url) = a.notify_url.filter(|u| !u.trim().is_empty()) {
        if !url.starts_with("http://") && !url.starts_with("https://") {
            anyhow::bail!("--notify-url must be an http:// or https:// URL (got {url:?})");
        }
        config.notify = Some(claude_peers_broker::runtime::notify::NotifyConfig {
            url,
            coalesce: std::time::Duration::from_millis(a.notify_coalesce_ms),
            timeout: std::time::Duration::from_millis(a.notify_timeout_ms.max(100)),
        });
    }
    config.translate_url = a.translate_url.filter(|u| !u.trim().is_empty());
    config.translate_key = a.translate_key.filter(|k| !k.is_empty());
    if let Some(u) = &config.translate_url
        && !u.starts_with("http://")
    {
        anyhow::bail!("--translate-url must be an http:// URL (got {u:?})");
    }
    config.tls = match (a.tls_cert, a.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        (None, None) => None,
        _ => anyhow::bail!("--tls-cert and --tls-key go together: give both, or neither"),
    };
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let running = claude_peers_broker::start(config).await?;
    let addr = running.local_addr()?;
    eprintln!("claude-peers broker listening on {scheme}://{addr}/ (dashboard at that address)");
    running.serve().await?;
    Ok(())
}
