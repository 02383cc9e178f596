//! Every `CLAUDE_PEERS_*` variable the binary reads, in one list: a client
//! that starts our MCP server with only part of its environment (Codex CLI)
//! is told to pass these on, so the server, and a broker it starts, see the
//! same settings as the hooks and the person's shell.

/// The variables, by name. A unit test keeps it equal to the names the
/// sources read.
pub const VARS: &[&str] = &[
    "CLAUDE_PEERS_ACTIVE_FILES_TTL_MS",
    "CLAUDE_PEERS_ADMIN_TOKEN",
    "CLAUDE_PEERS_ALLOWED_HOSTS",
    "CLAUDE_PEERS_AUTO_GROUP",
    "CLAUDE_PEERS_BIND",
    "CLAUDE_PEERS_BROKERS",
    "CLAUDE_PEERS_CA_FILE",
    "CLAUDE_PEERS_CHAIN_LIMIT",
    "CLAUDE_PEERS_DASHBOARD_LOGIN",
    "CLAUDE_PEERS_DB",
    "CLAUDE_PEERS_FILE_CONFLICT",
    "CLAUDE_PEERS_HOST",
    "CLAUDE_PEERS_MAX_STREAMS",
    "CLAUDE_PEERS_NAME",
    "CLAUDE_PEERS_NOTIFY_COALESCE_MS",
    "CLAUDE_PEERS_NOTIFY_TIMEOUT_MS",
    "CLAUDE_PEERS_NOTIFY_URL",
    "CLAUDE_PEERS_PAIR_SENDS_PER_MINUTE",
    "CLAUDE_PEERS_PEER_TURN_GUARD",
    "CLAUDE_PEERS_PEER_TURN_TOOLS",
    "CLAUDE_PEERS_PERMISSION_HOOK_WAIT_S",
    "CLAUDE_PEERS_PERMISSION_RELAY",
    "CLAUDE_PEERS_PERMISSION_TIMEOUT_MS",
    "CLAUDE_PEERS_PORT",
    "CLAUDE_PEERS_QUEUE_DEPTH",
    "CLAUDE_PEERS_RECONNECT_GRACE_MS",
    "CLAUDE_PEERS_REGISTRATIONS_PER_MINUTE",
    "CLAUDE_PEERS_REMOVE_AFTER_MS",
    "CLAUDE_PEERS_REQUESTS_PER_SECOND",
    "CLAUDE_PEERS_REQUIRE_TOKEN",
    "CLAUDE_PEERS_SENDS_PER_MINUTE",
    "CLAUDE_PEERS_SETTLE_MS",
    "CLAUDE_PEERS_SKIP_PID_CHECK",
    "CLAUDE_PEERS_STANDBY",
    "CLAUDE_PEERS_STORE",
    "CLAUDE_PEERS_TLS_CERT",
    "CLAUDE_PEERS_TLS_KEY",
    "CLAUDE_PEERS_TOKEN",
    "CLAUDE_PEERS_TOOLS",
    "CLAUDE_PEERS_TRANSLATE_KEY",
    "CLAUDE_PEERS_TRANSLATE_URL",
    "CLAUDE_PEERS_UNREACHABLE_AFTER_MS",
    "CLAUDE_PEERS_WAKE_LIFETIME_S",
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::VARS;

    /// `CLAUDE_PEERS_*` names in the `.rs` files under `dir`.
    fn names_in(dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                names_in(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("proto/src/env.rs") {
                let text = std::fs::read_to_string(&p).unwrap_or_default();
                for (at, _) in text.match_indices("CLAUDE_PEERS_") {
                    let rest = &text[at..];
                    let end = rest
                        .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
                        .unwrap_or(rest.len());
                    let name = &rest[..end];
                    // `CLAUDE_PEERS_*` in prose, `__CLAUDE_PEERS_EXE__` placeholders.
                    if name.len() > "CLAUDE_PEERS_".len() && !name.ends_with('_') {
                        out.insert(name.to_string());
                    }
                }
            }
        }
    }

    #[test]
    fn the_list_is_every_variable_the_sources_read() {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut read = BTreeSet::new();
        for krate in std::fs::read_dir(&crates).unwrap().flatten() {
            names_in(&krate.path().join("src"), &mut read);
        }
        let listed: BTreeSet<String> = VARS.iter().map(|s| s.to_string()).collect();
        assert!(read.len() > 30, "the scan found the sources: {read:?}");
        assert_eq!(
            read.difference(&listed).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "read but not listed in proto::env::VARS"
        );
        assert_eq!(
            listed.difference(&read).collect::<Vec<_>>(),
            Vec::<&String>::new(),
            "listed but read nowhere"
        );
    }

    #[test]
    fn every_variable_is_in_the_readme() {
        let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
        let text = std::fs::read_to_string(&readme).expect("README.md beside the crates");
        let missing: Vec<&str> = VARS
            .iter()
            .copied()
            .filter(|v| !text.contains(&format!("`{v}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "not documented in README.md: {missing:?}"
        );
    }
}
