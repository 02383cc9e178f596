//! `claude-peers-mcp`: the MCP stdio server alone, without the broker, the CLI
//! or the installer, so that the one server each agent session runs maps only
//! its own code. `claude-peers mcp` replaces itself with this binary when it
//! lies beside it (see `claude_peers::mcp`); it takes the same options.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use claude_peers::global::Global;
use claude_peers::mcp::{self, ToolProfile};

#[derive(Parser)]
#[command(
    name = "claude-peers-mcp",
    version = mcp::VERSION,
    about = "The claude-peers MCP stdio server (what `claude-peers mcp` runs)."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    /// Tool set: `full` (default) or `core` (messaging only).
    #[arg(long, env = "CLAUDE_PEERS_TOOLS", default_value = "full")]
    tools: ToolProfile,
    /// The `claude-peers` executable (to start a broker with). Default: the
    /// one beside this binary.
    #[arg(long, hide = true)]
    exe: Option<PathBuf>,
    /// The version of `--exe`; when it is not ours, `claude-peers mcp
    /// --in-process` serves instead.
    #[arg(long, hide = true)]
    exe_version: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    claude_peers::init_logging("info");
    let exe = match cli.exe {
        Some(exe) => exe,
        None => match std::env::current_exe() {
            Ok(me) => me.with_file_name("claude-peers"),
            Err(e) => {
                eprintln!("claude-peers-mcp: cannot find the claude-peers executable: {e}");
                return ExitCode::FAILURE;
            }
        },
    };
    if let Some(theirs) = cli.exe_version.as_deref()
        && theirs != mcp::VERSION
    {
        tracing::info!(
            "claude-peers is {theirs}, claude-peers-mcp {}: serving from claude-peers",
            mcp::VERSION
        );
        let e = mcp::exec_in_process(&cli.global, cli.tools, &exe);
        eprintln!("claude-peers-mcp: cannot run {}: {e}", exe.display());
        return ExitCode::FAILURE;
    }
    let result = claude_peers::current_thread()
        .and_then(|rt| rt.block_on(mcp::run(&cli.global, cli.tools, exe)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("claude-peers-mcp: {e:#}");
            ExitCode::FAILURE
        }
    }
}
