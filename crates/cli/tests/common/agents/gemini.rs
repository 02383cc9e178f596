//! Gemini CLI 0.61.0: `gemini -p` (one non-interactive session) against a
//! Gemini-API fake (`GOOGLE_GEMINI_BASE_URL`, an API key, the API-key auth
//! chosen in `settings.json`). The project folder is trusted (else Gemini CLI
//! starts no MCP server) and the model fixed (`-m`, no routing call); a
//! non-interactive session offers MCP tools only in `--approval-mode yolo`.

use serde_json::{Value, json};

use super::Agent;

pub const FOLDER: &str = "gemini-cli-0.61.0";

pub fn configure(agent: &mut Agent) {
    let url = agent.model.url.clone();
    agent.env("GEMINI_API_KEY", "fake-key");
    agent.env("GOOGLE_GEMINI_BASE_URL", &url);
    let dir = agent.home.join(".gemini");
    let settings = dir.join("settings.json");
    let mut s: Value = std::fs::read_to_string(&settings)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| json!({}));
    s["security"]["auth"]["selectedType"] = json!("gemini-api-key");
    std::fs::write(&settings, s.to_string()).unwrap();
    let trusted = json!({agent.project.display().to_string(): "TRUST_FOLDER"});
    std::fs::write(dir.join("trustedFolders.json"), trusted.to_string()).unwrap();
}

pub fn one_shot(prompt: &str) -> Vec<String> {
    [
        "-m",
        "gemini-2.5-flash",
        "--approval-mode",
        "yolo",
        "-p",
        prompt,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}
