//! OpenCode 1.18.33 offline: `OPENCODE_DISABLE_MODELS_FETCH=1` (no model
//! catalogue download, which is what kept `opencode serve` from starting
//! offline) and a project `opencode.json` whose `provider` uses the bundled
//! `@ai-sdk/openai-compatible` with the fake's `baseURL`. `opencode run` is a
//! one-shot session; [`Server`] is `opencode serve`, driven over its HTTP
//! API, where our plugin (written by `install`) can wake an idle session.
//! OpenCode also installs `@opencode-ai/plugin` from the npm registry into
//! each config folder that has no `node_modules` yet, in the background, and
//! holds its first request until that ends; our plugin does not use it, so
//! the folder is marked installed ([`PLUGIN_SDK`] in `package.json` and
//! `package-lock.json`) and nothing leaves the machine.

use std::process::Stdio;
use std::time::Instant;

use super::{Agent, Group, START_WAIT};
use crate::common::free_port;
use serde_json::{Value, json};

pub const FOLDER: &str = "opencode-1.18.33";

/// The package OpenCode adds to a config folder, at its own version.
const PLUGIN_SDK: (&str, &str) = ("@opencode-ai/plugin", "1.18.33");

/// How long one readiness probe of `opencode serve` may take.
const PROBE: std::time::Duration = std::time::Duration::from_secs(2);

/// The model, as `provider/model`.
const MODEL: &str = "fake/fake-model";

pub fn configure(agent: &mut Agent) {
    agent.env("OPENCODE_DISABLE_MODELS_FETCH", "1");
    agent.env("OPENCODE_DISABLE_AUTOUPDATE", "1");
    agent.env("OPENCODE_DISABLE_DEFAULT_PLUGINS", "1");
    let config = json!({
        "provider": {"fake": {"npm": "@ai-sdk/openai-compatible", "name": "Fake",
            "options": {"baseURL": format!("{}/v1", agent.model.url), "apiKey": "fake-key"},
            "models": {"fake-model": {"name": "Fake"}}}},
        "model": MODEL,
    });
    std::fs::write(agent.project.join("opencode.json"), config.to_string()).unwrap();
    let dir = agent.home.join(".config/opencode");
    std::fs::create_dir_all(dir.join("node_modules")).unwrap();
    let deps = json!({PLUGIN_SDK.0: PLUGIN_SDK.1});
    let package = json!({"dependencies": deps});
    let lock = json!({"packages": {"": {"dependencies": deps}}});
    std::fs::write(dir.join("package.json"), package.to_string()).unwrap();
    std::fs::write(dir.join("package-lock.json"), lock.to_string()).unwrap();
}

pub fn one_shot(prompt: &str) -> Vec<String> {
    ["run", "-m", MODEL, prompt]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// `opencode serve` on a free port; killed when dropped.
pub struct Server {
    pub url: String,
    http: reqwest::Client,
    _child: Group,
}

impl Server {
    /// Start it and wait until its API answers.
    pub async fn start(agent: &Agent) -> Result<Server, String> {
        let port = free_port();
        let args: Vec<String> = [
            "serve",
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut cmd = agent.command(&args);
        cmd.stdin(Stdio::null());
        let child = Group(cmd.spawn().map_err(|e| format!("opencode serve: {e}"))?);
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + START_WAIT;
        loop {
            let probe = http.get(format!("{url}/global/health")).timeout(PROBE);
            if let Ok(r) = probe.send().await
                && r.status().is_success()
            {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "opencode serve did not answer within {START_WAIT:?}"
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Ok(Server {
            url,
            http,
            _child: child,
        })
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .json(&body)
            .timeout(START_WAIT)
            .send()
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!("POST {path}: {status} {text}"));
        }
        serde_json::from_str(&text).map_err(|e| format!("POST {path}: {e}: {text}"))
    }

    /// A new session; its id.
    pub async fn session(&self) -> Result<String, String> {
        let s = self.post("/session", json!({})).await?;
        s["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("no session id in {s}"))
    }

    /// Type `text` into `session` and wait until the turn ends.
    pub async fn prompt(&self, session: &str, text: &str) -> Result<(), String> {
        let body = json!({"parts": [{"type": "text", "text": text}]});
        self.post(&format!("/session/{session}/message"), body)
            .await
            .map(|_| ())
    }
}
