//! Codex CLI 0.171.0: `codex exec` (one non-interactive session) against a
//! Responses-API fake, chosen with `-c` overrides (a `model_providers` entry
//! with a local `base_url`, `wire_api = "responses"`, its key from the
//! environment), so the `config.toml` that `install` wrote (our MCP server,
//! the hooks' trust) is used as it is. `codex exec` never asks for approval,
//! and Codex asks before every MCP tool call unless the server's
//! `default_tools_approval_mode` is `approve`: the person's choice, set here.
//! Codex starts an MCP server with a few variables of its own environment
//! only; `install` lists ours in the server's `env_vars`, so the test's
//! broker (its port and database in the environment) reaches the server as
//! it reaches the hooks.

use super::Agent;

pub const FOLDER: &str = "codex-0.171.0";

/// The variable the fake provider's key is read from.
const KEY_VAR: &str = "CLAUDE_PEERS_FAKE_MODEL_KEY";

pub fn configure(agent: &mut Agent) {
    agent.env(KEY_VAR, "fake-key");
}

pub fn one_shot(agent: &Agent, prompt: &str) -> Vec<String> {
    let provider = format!(
        "model_providers.fake={{name=\"fake\",base_url=\"{}/v1\",wire_api=\"responses\",env_key=\"{KEY_VAR}\"}}",
        agent.model.url
    );
    [
        "exec",
        "--skip-git-repo-check",
        "-c",
        "model_provider=\"fake\"",
        "-c",
        "model=\"fake-model\"",
        "-c",
        &provider,
        "-c",
        "mcp_servers.claude-peers.default_tools_approval_mode=\"approve\"",
        prompt,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
