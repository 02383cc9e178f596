//! The floor of browser safety, applied to every request before routing:
//!
//! - `Host` must be a loopback name (or a configured host), against DNS rebinding;
//! - `Origin`, when a browser sends it, must be the broker's own origin (HTTP and
//!   WebSocket), so no other web page can talk to the broker;
//! - a state-changing call must say `Content-Type: application/json`, so a page's
//!   "simple" form or `text/plain` POST is refused before any parsing.
//!
//! No CORS headers are ever sent.

use axum::extract::{Request, State};
use axum::http::Method;
use axum::http::header::{CONTENT_TYPE, HOST, ORIGIN};
use axum::middleware::Next;
use axum::response::Response;
use claude_peers_proto::{ApiError, ErrorCode};

use crate::config::Config;
use crate::error::api_response;
use crate::http::state::AppState;

/// Split `host[:port]` (IPv6 in brackets) into its host part, lower-cased.
fn host_part(authority: &str) -> String {
    let a = authority.trim().to_ascii_lowercase();
    if let Some(rest) = a.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("").to_string();
    }
    match a.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h.to_string(),
        _ => a,
    }
}

fn port_part(authority: &str) -> Option<u16> {
    let a = authority.trim();
    let after = match a.strip_prefix('[') {
        Some(rest) => rest.split_once(']').map(|(_, p)| p)?,
        None => a,
    };
    after.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

/// Whether a `Host` header value names this broker.
pub fn host_allowed(config: &Config, authority: &str) -> bool {
    let host = host_part(authority);
    if let Some(port) = port_part(authority)
        && port != config.port
    {
        return false;
    }
    matches!(host.as_str(), "localhost" | "127.0.0.1" | "::1")
        || (!config.bind.is_unspecified() && host == config.bind.to_string())
        || config.allowed_hosts.iter().any(|h| host_part(h) == host)
}

/// Whether a browser `Origin` is the broker's own.
pub fn origin_allowed(config: &Config, origin: &str) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    !rest.contains('/') && port_part(rest) == Some(config.port) && host_allowed(config, rest)
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

fn refuse(code: ErrorCode, msg: impl Into<String>) -> Response {
    api_response(ApiError::new(code, msg))
}

/// The middleware.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let config = state.config();
    let host = req
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    match host {
        Some(h) if host_allowed(config, &h) => {}
        Some(h) => {
            return refuse(
                ErrorCode::HostNotAllowed,
                format!(
                    "Host {h:?} is not allowed; use 127.0.0.1 or localhost, or start the broker with --allowed-host"
                ),
            );
        }
        None => return refuse(ErrorCode::HostNotAllowed, "a Host header is required"),
    }
    if let Some(origin) = req.headers().get(ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        if !origin_allowed(config, origin) {
            return refuse(
                ErrorCode::OriginNotAllowed,
                format!("requests from the web origin {origin:?} are not allowed"),
            );
        }
    }
    let changes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if changes && !is_json(&req) {
        return refuse(
            ErrorCode::UnsupportedMediaType,
            "state-changing calls must send Content-Type: application/json",
        );
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn cfg() -> Config {
        let mut c = Config::new(7899, PathBuf::from("/tmp/x.db"));
        c.allowed_hosts = vec!["devbox.lan".into()];
        c
    }

    #[test]
    fn hosts() {
        let c = cfg();
        for ok in [
            "127.0.0.1:7899",
            "localhost:7899",
            "LOCALHOST",
            "[::1]:7899",
            "devbox.lan:7899",
        ] {
            assert!(host_allowed(&c, ok), "{ok}");
        }
        for bad in [
            "evil.com:7899",
            "127.0.0.1.evil.com",
            "localhost:80",
            "10.0.0.5:7899",
            "",
        ] {
            assert!(!host_allowed(&c, bad), "{bad}");
        }
    }

    #[test]
    fn origins() {
        let c = cfg();
        assert!(origin_allowed(&c, "http://127.0.0.1:7899"));
        assert!(origin_allowed(&c, "http://localhost:7899"));
        assert!(
            !origin_allowed(&c, "http://localhost:3000"),
            "another local app"
        );
        assert!(!origin_allowed(&c, "https://evil.com"));
        assert!(!origin_allowed(&c, "null"));
        assert!(!origin_allowed(&c, "http://127.0.0.1"), "no port means 80");
    }
}
