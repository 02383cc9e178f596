//! Routes: server-side translation for the dashboard's translate button.
//!
//! Off unless the operator configures a LibreTranslate-compatible endpoint
//! (`--translate-url` / `CLAUDE_PEERS_TRANSLATE_URL`). The page prefers the
//! browser's on-device translator and uses this only as a fallback, so message
//! text goes nowhere the operator did not choose.
//!
//! - `GET /v1/translate` → `{"enabled": bool}`
//! - `POST /v1/translate {text, target, source?}` → `{"translated": "..."}`

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Json as Reply, Router};
use claude_peers_proto::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::Json;
use crate::error::Result;
use crate::http::auth::Operator;
use crate::http::state::AppState;

/// How long one call to the translation service may take.
const TIMEOUT: Duration = Duration::from_secs(15);

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1/translate", get(status).post(translate))
}

#[derive(Debug, Serialize)]
struct Status {
    enabled: bool,
}

async fn status(State(state): State<AppState>, _op: Operator) -> Reply<Status> {
    Reply(Status {
        enabled: state.config().translate_url.is_some(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TranslateRequest {
    text: String,
    target: String,
    #[serde(default)]
    source: Option<String>,
}

#[derive(Debug, Serialize)]
struct Translated {
    translated: String,
}

/// A language code such as `ar`, `en`, `pt-BR` or `zh-Hans`.
fn language(field: &str, code: &str) -> Result<String> {
    let ok = code.len() <= 10 && {
        let mut parts = code.split('-');
        let head = parts.next().unwrap_or("");
        (2..=3).contains(&head.len())
            && head.bytes().all(|b| b.is_ascii_lowercase())
            && parts
                .all(|p| (2..=4).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
    };
    if ok {
        Ok(code.to_string())
    } else {
        Err(ApiError::invalid(
            field,
            format!("'{field}' must be a language code such as \"ar\""),
        )
        .into())
    }
}

async fn translate(
    State(state): State<AppState>,
    _op: Operator,
    Json(req): Json<TranslateRequest>,
) -> Result<Reply<Translated>> {
    let config = state.config();
    let Some(url) = config.translate_url.clone() else {
        return Err(ApiError::not_found(
            "translation is not configured: start the broker with --translate-url \
             (or CLAUDE_PEERS_TRANSLATE_URL) pointing at a LibreTranslate server",
        )
        .into());
    };
    let target = language("target", &req.target)?;
    let source = match req.source.as_deref() {
        None | Some("") | Some("auto") => "auto".to_string(),
        Some(s) => language("source", s)?,
    };
    claude_peers_proto::validate::translate_text(&req.text)?;
    if req.text.trim().is_empty() {
        return Ok(Reply(Translated {
            translated: req.text,
        }));
    }
    let mut body = json!({"q": req.text, "source": source, "target": target, "format": "text"});
    if let Some(key) = &config.translate_key {
        body["api_key"] = json!(key);
    }
    let unavailable = |msg: String| ApiError::new(ErrorCode::Unavailable, msg);
    let client = claude_peers_client::tls::plain_reqwest_builder()
        .timeout(TIMEOUT)
        .build()
        .map_err(|e| unavailable(format!("translation client: {e}")))?;
    let resp = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .map_err(|e| unavailable(format!("the translation server did not answer: {e}")))?;
    let status = resp.status();
    let value: serde_json::Value = resp.json().await.map_err(|e| {
        unavailable(format!(
            "the translation server sent no JSON ({status}): {e}"
        ))
    })?;
    if !status.is_success() {
        let why = value["error"].as_str().unwrap_or("no reason given");
        return Err(
            unavailable(format!("the translation server refused ({status}): {why}")).into(),
        );
    }
    let Some(translated) = value["translatedText"].as_str() else {
        return Err(
            unavailable("the translation server's answer has no translatedText".into()).into(),
        );
    };
    Ok(Reply(Translated {
        translated: translated.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::language;

    #[test]
    fn language_codes() {
        for ok in ["ar", "en", "fil", "pt-BR", "zh-Hans"] {
            assert!(language("target", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "AR",
            "arabic",
            "en_US",
            "ar;drop",
            "x-very-long-tag",
        ] {
            assert!(language("target", bad).is_err(), "{bad}");
        }
    }
}
