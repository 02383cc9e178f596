//! The dashboard's files, embedded in the binary and served with a strict
//! Content-Security-Policy (scripts and styles only from the broker itself).

use axum::Router;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::http::routes::extract::Path;
use crate::http::state::AppState;

struct Asset {
    name: &'static str,
    mime: &'static str,
    body: &'static [u8],
}

/// One embedded file of `dashboard/`.
macro_rules! asset {
    ($name:literal, $mime:expr) => {
        Asset {
            name: $name,
            mime: $mime,
            body: include_bytes!(concat!("../../../../dashboard/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

const ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    // ES modules: app.js imports the others.
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("dom.js", JS),
    asset!("store.js", JS),
    asset!("markdown.js", JS),
    asset!("chat.js", JS),
    asset!("panels.js", JS),
    asset!("compose.js", JS),
    asset!("palette.js", JS),
    asset!("translate.js", JS),
    asset!("needs.js", JS),
    asset!("threads.js", JS),
];

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|h: HeaderMap| async move { serve("index.html", &h) }),
        )
        .route(
            "/assets/{name}",
            get(|Path(name): Path<String>, h: HeaderMap| async move { serve(&name, &h) }),
        )
}

fn etag(body: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(body))[..16])
}

fn serve(name: &str, headers: &HeaderMap) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return crate::error::api_response(claude_peers_proto::ApiError::not_found(format!(
            "no dashboard file {name:?}"
        )));
    };
    let tag = etag(asset.body);
    let mut h = HeaderMap::new();
    let set = |h: &mut HeaderMap, k, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(k, v);
        }
    };
    set(&mut h, ETAG, &tag);
    set(&mut h, CACHE_CONTROL, "no-cache");
    set(&mut h, CONTENT_SECURITY_POLICY, CSP);
    set(&mut h, X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(&mut h, X_FRAME_OPTIONS, "DENY");
    set(&mut h, REFERRER_POLICY, "no-referrer");
    if headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(tag.as_str()) {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    set(&mut h, CONTENT_TYPE, asset.mime);
    (StatusCode::OK, h, asset.body).into_response()
}
