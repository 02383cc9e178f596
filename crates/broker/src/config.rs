//! Broker configuration: built by the CLI from flags and `CLAUDE_PEERS_*` variables.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use claude_peers_proto::limits;

/// Limits that an operator may tune (defaults in [`claude_peers_proto::limits`]).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Undelivered messages one recipient may hold.
    pub queue_depth: u32,
    /// Sends one peer may make per minute (0 = unlimited).
    pub sends_per_minute: u32,
    /// Messages one peer may send to one other peer per minute (0 = unlimited).
    pub pair_sends_per_minute: u32,
    /// Depth of an agent-to-agent chain past which sends are held (0 = no guard).
    pub chain_limit: u32,
    /// API requests one caller may make per second (0 = unlimited).
    pub requests_per_second: u32,
    /// Registrations the broker accepts per minute (0 = unlimited).
    pub registrations_per_minute: u32,
    /// Grace before a disconnected peer is shown as stale.
    pub reconnect_grace_ms: i64,
    /// Time after which a stale peer is removed from the list.
    pub remove_after_ms: i64,
    /// Time an active-files report lasts without a new one.
    pub active_files_ttl_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            queue_depth: limits::DEFAULT_QUEUE_DEPTH,
            sends_per_minute: limits::DEFAULT_SENDS_PER_MINUTE,
            pair_sends_per_minute: limits::DEFAULT_PAIR_SENDS_PER_MINUTE,
            chain_limit: limits::DEFAULT_CHAIN_LIMIT,
            requests_per_second: limits::DEFAULT_REQUESTS_PER_SECOND,
            registrations_per_minute: limits::DEFAULT_REGISTRATIONS_PER_MINUTE,
            reconnect_grace_ms: limits::RECONNECT_GRACE_MS,
            remove_after_ms: limits::REMOVE_AFTER_MS,
            active_files_ttl_ms: limits::DEFAULT_ACTIVE_FILES_TTL_MS,
        }
    }
}

/// The `--notify-url` webhook's settings (see `runtime::notify`).
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Where to POST (`http://`, or `https://` trusted as clients trust a
    /// broker: system roots plus `CLAUDE_PEERS_CA_FILE`).
    pub url: String,
    /// New items within this window share one notification.
    pub coalesce: std::time::Duration,
    /// One POST may take this long before it is retried.
    pub timeout: std::time::Duration,
}

/// The broker's TLS certificate chain and private key (`--tls-cert`,
/// `--tls-key`), both PEM files; see `http::tls`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Whether the dashboard asks for the admin token before it shows anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DashboardLogin {
    /// On a loopback-only broker, a page loaded from this machine is signed in
    /// at once; on a LAN broker, a login is required.
    #[default]
    Auto,
    /// Always require the admin token.
    Always,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub port: u16,
    /// Address to listen on; loopback unless `allow_lan`.
    pub bind: IpAddr,
    /// Set by `--allow-lan`: permits a non-loopback `bind`.
    pub allow_lan: bool,
    /// Token a peer on another machine must present to register (required with `allow_lan`).
    pub join_token: Option<String>,
    /// Require the join token from peers on this machine too (a shared machine
    /// whose other users must not join).
    pub require_join_token: bool,
    /// Most WebSocket streams open at once.
    pub max_streams: usize,
    /// Extra names accepted in the `Host` header (e.g. the machine's LAN name).
    pub allowed_hosts: Vec<String>,
    /// The SQLite database, and with PostgreSQL this broker's local state:
    /// its lock and port file and admin token live beside this path.
    pub db: PathBuf,
    /// Keep the data in this PostgreSQL database (`postgres://…`) instead of
    /// the SQLite file at `db`; several brokers may share it.
    pub postgres: Option<String>,
    /// Skip process liveness checks (tests).
    pub skip_pid_check: bool,
    pub auto_group: AutoGroup,
    pub dashboard_login: DashboardLogin,
    pub limits: Limits,
    /// Set when an MCP server started this broker (logs where it came from).
    pub spawned: bool,
    /// A LibreTranslate-compatible endpoint (`http://host:port/translate`) the
    /// dashboard's translate button may use; `None` = no server-side translation.
    pub translate_url: Option<String>,
    /// API key sent to that endpoint, if it needs one.
    pub translate_key: Option<String>,
    /// Relay sessions' permission prompts to the operator (`--permission-relay`).
    /// Off by default.
    pub permission_relay: bool,
    /// How long a relayed permission request waits in the lane before it expires.
    pub permission_timeout_ms: i64,
    /// Unread mail to a peer that is not connected counts as unreachable after this long.
    pub unreachable_after_ms: i64,
    /// Webhook for new "needs you" items (`--notify-url`), if any.
    pub notify: Option<NotifyConfig>,
    /// Serve HTTPS and WSS with this certificate and key; `None` = plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Wait for the database instead of refusing it while another broker
    /// holds it (`--standby`): take over when that broker stops or dies.
    pub standby: bool,
}

impl Config {
    /// A loopback broker on `port` with database `db` and default limits.
    pub fn new(port: u16, db: PathBuf) -> Self {
        Self {
            port,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            allow_lan: false,
            join_token: None,
            require_join_token: false,
            max_streams: claude_peers_proto::limits::MAX_STREAM_CONNECTIONS,
            allowed_hosts: Vec::new(),
            db,
            postgres: None,
            skip_pid_check: false,
            auto_group: AutoGroup::default(),
            dashboard_login: DashboardLogin::default(),
            limits: Limits::default(),
            spawned: false,
            translate_url: None,
            translate_key: None,
            permission_relay: false,
            permission_timeout_ms: limits::DEFAULT_PERMISSION_TIMEOUT_MS,
            unreachable_after_ms: limits::DEFAULT_UNREACHABLE_AFTER_MS,
            notify: None,
            tls: None,
            standby: false,
        }
    }

    /// Whether the broker listens only on a loopback address.
    pub fn loopback_only(&self) -> bool {
        self.bind.is_loopback()
    }
}

/// How registering peers are grouped automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoGroup {
    /// One group per repository and branch (the default).
    #[default]
    Branch,
    /// One group per repository, whatever the branch.
    Repo,
    /// Everyone starts in the lobby.
    Off,
}

impl AutoGroup {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "branch" => Self::Branch,
            "repo" => Self::Repo,
            "off" => Self::Off,
            _ => return None,
        })
    }
}

/// A `--store` / `CLAUDE_PEERS_STORE` value: where the broker keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// `sqlite:PATH`: the embedded database, one broker at a time.
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`: a database several brokers share.
    Postgres(String),
}

impl StoreLocation {
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        if let Some(path) = s.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err("--store sqlite: needs a path (sqlite:/path/to/peers.db)".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            return Ok(Self::Postgres(s.to_string()));
        }
        Err(format!(
            "--store must be sqlite:PATH or a postgres:// URL (got {:?})",
            s.split('@').next_back().unwrap_or(s)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::StoreLocation;

    #[test]
    fn a_store_is_sqlite_with_a_path_or_a_postgres_url() {
        assert_eq!(
            StoreLocation::parse("sqlite:/tmp/p.db"),
            Ok(StoreLocation::Sqlite("/tmp/p.db".into()))
        );
        assert_eq!(
            StoreLocation::parse(" postgres://u@h/db "),
            Ok(StoreLocation::Postgres("postgres://u@h/db".into()))
        );
        assert!(StoreLocation::parse("postgresql://h/db").is_ok());
        assert!(
            StoreLocation::parse("sqlite:")
                .unwrap_err()
                .contains("needs a path")
        );
        let e = StoreLocation::parse("mysql://secret@h/db").unwrap_err();
        assert!(e.contains("sqlite:PATH") && !e.contains("secret"), "{e}");
    }
}
