//! `claude-peers hook [--client C] EVENT`: what an agent client (Claude Code by
//! default, Gemini CLI or Codex CLI) runs for each installed hook.
//! Reads the client's JSON on stdin, answers on stdout/stderr with the exit
//! code the client reads (2 wakes the model from the `Stop` waiter).

use std::io::Read;
use std::process::ExitCode;

use claude_peers_hooks::HookEnv;

use crate::Global;

/// Largest stdin a hook reads (the client's JSON is small; a prompt may be long).
const MAX_STDIN_BYTES: u64 = claude_peers_proto::limits::MAX_HOOK_STDIN_BYTES;

pub fn run(g: &Global, client: &str, event: &str) -> ExitCode {
    let mut text = String::new();
    let read = std::io::stdin()
        .take(MAX_STDIN_BYTES)
        .read_to_string(&mut text);
    let outcome = match read {
        Err(e) => {
            claude_peers_hooks::Outcome::fail_open(format!("cannot read the hook input: {e}"))
        }
        Ok(_) => match claude_peers_hooks::HookClient::parse(client) {
            None => claude_peers_hooks::Outcome::fail_open(format!(
                "no hooks for client {client:?} (known: {})",
                claude_peers_hooks::HookClient::ALL
                    .map(|c| c.as_str())
                    .join(", ")
            )),
            Some(client) => {
                let exe = std::env::current_exe().unwrap_or_else(|_| "claude-peers".into());
                match (
                    claude_peers::global::brokers(g),
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build(),
                ) {
                    (Ok(brokers), Ok(rt)) => rt.block_on(async {
                        let mut env = HookEnv::from_env(brokers.pick().await, exe, client);
                        env.autostart = brokers.autostart();
                        claude_peers_hooks::run(&env, event, &text).await
                    }),
                    (Err(e), _) => claude_peers_hooks::Outcome::fail_open(format!("{e:#}")),
                    (_, Err(e)) => {
                        claude_peers_hooks::Outcome::fail_open(format!("cannot start: {e}"))
                    }
                }
            }
        },
    };
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    ExitCode::from(outcome.code.clamp(0, 255) as u8)
}
