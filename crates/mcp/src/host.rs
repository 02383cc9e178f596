//! What the MCP server can learn about the Claude Code session that started
//! it, from its environment, its parent's command line and the user's
//! settings: the session id, the session's own messaging socket, whether it
//! bypasses permission prompts, and its `crossSessionInbound` setting.
//!
//! Environment read (all set by Claude Code 2.1.332 for its MCP servers):
//! `CLAUDE_CODE_SESSION_ID`, `CLAUDE_CODE_MESSAGING_SOCKET`,
//! `CLAUDE_CODE_MESSAGING_TOKEN`; `CLAUDE_CONFIG_DIR` (else `~/.claude`) for
//! `settings.json`.

use std::path::{Path, PathBuf};

use claude_peers_proto::reach::{BYPASS_MODE, Inbound};

/// The session's messaging socket and the token that authenticates to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagingSocket {
    pub path: PathBuf,
    pub token: String,
}

/// What is known about the host session at start.
#[derive(Debug, Clone, Default)]
pub struct Host {
    pub cc_session: Option<String>,
    pub socket: Option<MessagingSocket>,
    /// `bypassPermissions` when the parent was started to skip permission
    /// prompts (hooks report the live mode later).
    pub permission_mode: Option<String>,
    pub inbound: Option<Inbound>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Host {
    /// Read the environment, the parent's command line and the settings.
    pub fn detect(parent_pid: u32) -> Self {
        let socket = match (
            var("CLAUDE_CODE_MESSAGING_SOCKET"),
            var("CLAUDE_CODE_MESSAGING_TOKEN"),
        ) {
            (Some(path), Some(token)) => Some(MessagingSocket {
                path: PathBuf::from(path),
                token,
            }),
            _ => None,
        };
        let cmdline = std::fs::read(format!("/proc/{parent_pid}/cmdline")).unwrap_or_default();
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let settings = var("CLAUDE_CONFIG_DIR")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|h| Path::new(&h).join(".claude")))
            .map(|d| d.join("settings.json"));
        Self {
            cc_session: var("CLAUDE_CODE_SESSION_ID"),
            socket,
            permission_mode: bypass_in_args(&args).then(|| BYPASS_MODE.to_string()),
            inbound: settings.as_deref().and_then(inbound_setting),
        }
    }
}

/// Whether a command line starts Claude Code bypassing permission prompts.
pub fn bypass_in_args(args: &[String]) -> bool {
    args.iter().enumerate().any(|(i, a)| {
        a == "--dangerously-skip-permissions"
            || a == &format!("--permission-mode={BYPASS_MODE}")
            || (a == "--permission-mode"
                && args.get(i + 1).map(String::as_str) == Some(BYPASS_MODE))
    })
}

/// The `crossSessionInbound` setting in a settings file, if set and known.
pub fn inbound_setting(path: &Path) -> Option<Inbound> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    match v.get("crossSessionInbound")?.as_str()? {
        "accept" => Some(Inbound::Accept),
        "hold" => Some(Inbound::Hold),
        "refuse" => Some(Inbound::Refuse),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn bypass_flags_are_recognised() {
        assert!(bypass_in_args(&args(&[
            "claude",
            "--dangerously-skip-permissions"
        ])));
        assert!(bypass_in_args(&args(&[
            "claude",
            "--permission-mode",
            "bypassPermissions"
        ])));
        assert!(bypass_in_args(&args(&[
            "claude",
            "--permission-mode=bypassPermissions"
        ])));
        assert!(!bypass_in_args(&args(&[
            "claude",
            "--permission-mode",
            "plan"
        ])));
        assert!(!bypass_in_args(&args(&["claude"])));
    }

    #[test]
    fn inbound_setting_is_read() {
        let dir = std::env::temp_dir().join(format!("cp-host-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("settings.json");
        std::fs::write(&p, r#"{"crossSessionInbound":"accept","x":1}"#).unwrap();
        assert_eq!(inbound_setting(&p), Some(Inbound::Accept));
        std::fs::write(&p, r#"{"crossSessionInbound":"bogus"}"#).unwrap();
        assert_eq!(inbound_setting(&p), None);
        std::fs::write(&p, "not json").unwrap();
        assert_eq!(inbound_setting(&p), None);
        let _ = std::fs::remove_dir_all(dir);
    }
}
