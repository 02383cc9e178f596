//! `claude-peers`: the one binary. `broker` runs the daemon, `mcp` is what Claude
//! Code starts, and the rest are commands for people (`status`, `peers`, `send`,
//! `broadcast`, `groups`, `watch`, `kill-broker`, `token`, `report`, `new-session`).

mod cmd;
mod ctx;
mod table;

use std::net::IpAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
pub use claude_peers::global::Global;
use claude_peers::mcp::ToolProfile;
use claude_peers::{current_thread, init_logging};

#[derive(Parser)]
#[command(
    name = "claude-peers",
    version,
    about = "Connect Claude Code sessions: discovery, messages pushed at once, coordination, and a dashboard.",
    after_help = "Exit codes: 0 success; 1 error (for `doctor`: a check failed); 3 `status`: the broker is not running."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the broker in the foreground (HTTP + WebSocket API, SQLite or PostgreSQL, dashboard).
    Broker(Box<cmd::broker::BrokerArgs>),
    /// Run the MCP stdio server (Claude Code starts this).
    Mcp {
        /// Tool set: `full` (default) or `core` (messaging only).
        #[arg(long, env = "CLAUDE_PEERS_TOOLS", default_value = "full")]
        tools: ToolProfile,
        /// Serve from this process instead of `claude-peers-mcp` beside it
        /// (which `claude-peers-mcp` asks for when its version differs).
        #[arg(long, hide = true)]
        in_process: bool,
    },
    /// Broker status and peers. Exit code 0 when the broker runs, 3 when it
    /// does not, 1 on any other error.
    Status,
    /// List peers with their groups.
    Peers,
    /// Send a message to a peer (by name, name@group, or id) as the CLI.
    Send {
        to: String,
        /// The message this one answers (joins its thread).
        #[arg(long)]
        reply_to: Option<i64>,
        #[arg(required = true, num_args = 1..)]
        message: Vec<String>,
    },
    /// Send a message to every peer in a scope.
    Broadcast {
        scope: claude_peers_proto::api::Scope,
        #[arg(required = true, num_args = 1..)]
        message: Vec<String>,
    },
    /// List isolation groups and their members; or change them.
    Groups {
        #[command(subcommand)]
        action: Option<cmd::groups::GroupAction>,
    },
    /// Stream what happens, live (messages, deliveries, peers).
    Watch,
    /// Stop the broker that owns this port and database (verified).
    KillBroker {
        /// Let connected sessions start a new broker by themselves.
        #[arg(long)]
        allow_restart: bool,
    },
    /// Print the admin token (to sign in to the dashboard from another device).
    Token,
    /// Print the session report (markdown), or with --export the session's messages.
    Report {
        /// A session id (default: the current session).
        #[arg(long)]
        session: Option<String>,
        /// Print the messages as text instead of the report.
        #[arg(long)]
        export: bool,
    },
    /// Begin a new session now (session-scoped lists start empty).
    NewSession,
    /// Everything waiting on you, newest first: permission prompts, approvals,
    /// verifications, proposals, messages to you, unreachable mail, blocked
    /// tasks, held loops. Answer the approvals and verification requests
    /// addressed to you (`approve`, `reject`, `verify`).
    Inbox {
        #[command(subcommand)]
        action: Option<cmd::inbox::InboxAction>,
    },
    /// Sessions' permission prompts relayed to you (broker --permission-relay):
    /// list them, or allow / deny one.
    Permissions {
        #[command(subcommand)]
        action: Option<cmd::permissions::PermissionAction>,
    },
    /// Full-text search over every message, best match first.
    Search {
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        /// Only messages from this peer (name or id), `dashboard` or `cli`.
        #[arg(long)]
        from: Option<String>,
        /// Only this thread (the id of its first message).
        #[arg(long)]
        thread: Option<i64>,
        /// Only since: 30m, 2h, 7d, or 2026-11-27T10:00:00Z.
        #[arg(long)]
        since: Option<String>,
        /// Most hits (default 20, at most 100).
        #[arg(long)]
        limit: Option<u32>,
    },
    /// List the chains of agent messages the loop guard holds.
    Held,
    /// Release a held chain: its messages are delivered, the chain starts from zero.
    Release { chain: i64 },
    /// Register the MCP server and hooks in the agent clients found (or named).
    Install(cmd::setup::SetupArgs),
    /// Remove exactly what `install` added.
    Uninstall(cmd::setup::SetupArgs),
    /// Check every gate (broker, database, port, versions, round trip, file
    /// permissions, each client's registration and hooks); print the fix for
    /// each failure. Exit code 1 when a check fails.
    Doctor,
    /// Handle an agent client's hook (the client runs this; JSON on stdin).
    /// Claude Code: SessionStart, SessionEnd, UserPromptSubmit, PostToolUse,
    /// PreToolUse, Stop. Gemini CLI (`--client gemini`): SessionStart,
    /// SessionEnd, BeforeAgent, AfterTool, BeforeTool. Codex CLI (`--client
    /// codex`): SessionStart, SessionEnd, UserPromptSubmit, PostToolUse,
    /// PreToolUse (apply_patch).
    Hook {
        /// The client running the hook: claude-code, gemini or codex.
        #[arg(long, default_value = "claude-code")]
        client: String,
        /// The hook event name, as the client spells it.
        event: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Hooks log nothing: their stderr reaches the model.
    if let Command::Hook { client, event } = &cli.command {
        return cmd::hook::run(&cli.global, client, event);
    }
    let result = match cli.command {
        Command::Broker(args) => {
            init_logging("info");
            multi_thread().and_then(|rt| rt.block_on(cmd::broker::run(&cli.global, *args)))
        }
        Command::Mcp { tools, in_process } => {
            init_logging("info");
            mcp(&cli.global, tools, in_process)
        }
        Command::Install(args) => {
            init_logging("warn");
            cmd::setup::run(&args, cli.global.json, true)
        }
        Command::Uninstall(args) => {
            init_logging("warn");
            cmd::setup::run(&args, cli.global.json, false)
        }
        command => {
            init_logging("warn");
            current_thread().and_then(|rt| {
                rt.block_on(async {
                    let ctx = ctx::Ctx::new(&cli.global).await?;
                    match command {
                        Command::Status => cmd::status::status(&ctx).await,
                        Command::Peers => cmd::status::peers(&ctx).await,
                        Command::Send {
                            to,
                            reply_to,
                            message,
                        } => cmd::send::send(&ctx, &to, &message.join(" "), reply_to).await,
                        Command::Broadcast { scope, message } => {
                            cmd::send::broadcast(&ctx, scope, &message.join(" ")).await
                        }
                        Command::Groups { action } => cmd::groups::run(&ctx, action).await,
                        Command::Watch => cmd::watch::run(&ctx).await,
                        Command::KillBroker { allow_restart } => {
                            cmd::kill::run(&ctx, !allow_restart).await
                        }
                        Command::Token => cmd::status::token(&ctx),
                        Command::Report { session, export } => {
                            cmd::report::report(&ctx, session.as_deref(), export).await
                        }
                        Command::NewSession => cmd::report::new_session(&ctx).await,
                        Command::Inbox { action } => cmd::inbox::run(&ctx, action).await,
                        Command::Permissions { action } => {
                            cmd::permissions::run(&ctx, action).await
                        }
                        Command::Search {
                            query,
                            from,
                            thread,
                            since,
                            limit,
                        } => {
                            let search = cmd::conversations::Search {
                                query: query.join(" "),
                                from,
                                thread,
                                since,
                                limit,
                            };
                            cmd::conversations::search(&ctx, search).await
                        }
                        Command::Held => cmd::conversations::held(&ctx).await,
                        Command::Release { chain } => {
                            cmd::conversations::release(&ctx, chain).await
                        }
                        Command::Doctor => cmd::doctor::run(&ctx).await,
                        Command::Broker(_)
                        | Command::Mcp { .. }
                        | Command::Install(_)
                        | Command::Uninstall(_)
                        | Command::Hook { .. } => unreachable!("handled above"),
                    }
                })
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.downcast_ref::<Exit>().is_some() => {
            ExitCode::from(e.downcast_ref::<Exit>().map_or(1, |x| x.0))
        }
        Err(e) => {
            eprintln!("claude-peers: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Exit code of `status` when the broker is not running (as `systemctl status`).
pub const EXIT_NOT_RUNNING: u8 = 3;

/// An error that only sets the exit code: the command already printed its answer.
#[derive(Debug)]
pub struct Exit(pub u8);

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for Exit {}

/// `claude-peers mcp`: become `claude-peers-mcp` (see [`claude_peers::mcp`]),
/// else serve in this process.
fn mcp(g: &Global, tools: ToolProfile, in_process: bool) -> anyhow::Result<()> {
    let exe = std::env::current_exe()
        .map_err(|e| anyhow::anyhow!("cannot find the claude-peers executable: {e}"))?;
    if !in_process {
        let e = claude_peers::mcp::exec_lean(g, tools, &exe);
        tracing::debug!(
            "serving in-process: cannot run {}: {e}",
            claude_peers::mcp::LEAN_BINARY
        );
    }
    current_thread().and_then(|rt| rt.block_on(claude_peers::mcp::run(g, tools, exe)))
}

fn multi_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Parse an IP address for `--bind`.
pub fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse().map_err(|_| format!("{s:?} is not an IP address"))
}
