//! What the two executables of this package share: the options every command
//! takes ([`global`]), logging, and the MCP server's launch ([`mcp`]).
//!
//! `claude-peers` is the whole product (broker, CLI, hooks, install, MCP
//! server); `claude-peers-mcp` is the MCP server alone. Clients keep running
//! `claude-peers mcp`, which replaces itself with the sibling
//! `claude-peers-mcp` when it is installed beside it: the server then maps only
//! its own code, about 3.5 MB less resident memory per agent session (see
//! [`mcp`] and BENCHMARKS.md).

pub mod global;
pub mod mcp;

/// Log to stderr at `default` level (`LOG_LEVEL` overrides it) for our crates,
/// `warn` for the others.
pub fn init_logging(default: &str) {
    let level = std::env::var("LOG_LEVEL")
        .ok()
        .map(|l| l.to_ascii_lowercase())
        .filter(|l| matches!(l.as_str(), "trace" | "debug" | "info" | "warn" | "error"))
        .unwrap_or_else(|| default.to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(format!(
        "warn,claude_peers={level},claude_peers_broker={level},claude_peers_mcp={level},claude_peers_client={level}"
    ))
    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// A single-threaded tokio runtime (every command but the broker).
pub fn current_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}
