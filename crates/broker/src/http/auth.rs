//! Who is calling: peer tokens, the operator's admin token, the dashboard sign-in.
//!
//! - A peer proves itself with the token it was issued at registration
//!   (`Authorization: Bearer cpt_…`). The broker keeps only its SHA-256.
//! - A person at the CLI uses the admin token, kept in a file beside the
//!   database, readable only by its owner (mode 0600).
//! - A person at the dashboard holds a sign-in cookie (see [`crate::http::signin`]).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use claude_peers_proto::{ApiError, ErrorCode};

use crate::domain::rules::{Actor, OperatorKind};
use crate::error::Error;
use crate::http::signin::SIGNIN_COOKIE;
use crate::http::state::AppState;
use crate::runtime::ids::{hash_token, new_token, same_secret};
use crate::runtime::store::Store;
use crate::runtime::store::sql::{OptionalExtension, params};

/// Read the admin token from `path`, creating it (mode 0600) if missing. A file
/// that others can read is tightened to 0600 with a warning.
pub fn load_or_create_admin_token(path: &Path) -> Result<String, Error> {
    match fs::metadata(path) {
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "admin token file was readable by others; setting it to 0600");
                fs::set_permissions(path, fs::Permissions::from_mode(0o600)).map_err(|e| {
                    Error::Internal(format!("cannot restrict {}: {e}", path.display()))
                })?;
            }
            let token = fs::read_to_string(path).map_err(|e| {
                Error::Internal(format!(
                    "cannot read the admin token {}: {e}",
                    path.display()
                ))
            })?;
            let token = token.trim().to_string();
            if token.len() < 32 {
                return Err(Error::Config(format!(
                    "the admin token in {} is shorter than 32 characters; delete the file to get a new one",
                    path.display()
                )));
            }
            Ok(token)
        }
        Err(_) => {
            let token = new_token();
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| {
                    Error::Internal(format!(
                        "cannot create the admin token {}: {e}",
                        path.display()
                    ))
                })?;
            f.write_all(format!("{token}\n").as_bytes()).map_err(|e| {
                Error::Internal(format!(
                    "cannot write the admin token {}: {e}",
                    path.display()
                ))
            })?;
            Ok(token)
        }
    }
}

/// Team mode: the admin token of every broker of a PostgreSQL database is
/// the one kept in the database (`kv`, key `admin_token`), so the CLI's
/// token and the dashboard's sign-in (whose key derives from it) work on
/// any broker. The first broker to start stores its own (`local`, from its
/// file); each later one takes the stored token and writes it to its file
/// (mode 0600) for the CLI on its host.
pub async fn share_admin_token(store: &Store, path: &Path, local: String) -> Result<String, Error> {
    let shared = store
        .write(move |t| {
            t.conn.execute(
                "INSERT INTO kv (key, value) VALUES ('admin_token', ?1) ON CONFLICT (key) DO NOTHING",
                params![local],
            )?;
            Ok(t.conn.query_row(
                "SELECT value FROM kv WHERE key = 'admin_token'",
                [],
                |r| r.get::<_, String>(0),
            )?)
        })
        .await?;
    let on_file = fs::read_to_string(path).unwrap_or_default();
    if on_file.trim() != shared {
        tracing::info!(path = %path.display(), "the admin token is the team's, kept in the database: written to the file");
        let tmp = path.with_extension("admin-token.tmp");
        let _ = fs::remove_file(&tmp);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(format!("{shared}\n").as_bytes()).map(|()| f))
            .map_err(|e| {
                Error::Internal(format!(
                    "cannot write the admin token {}: {e}",
                    tmp.display()
                ))
            })?;
        let _ = f.flush();
        fs::rename(&tmp, path).map_err(|e| {
            Error::Internal(format!(
                "cannot write the admin token {}: {e}",
                path.display()
            ))
        })?;
    }
    Ok(shared)
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    bearer_header(&parts.headers)
}

/// The bearer token in a header map, if any.
pub fn bearer_header(headers: &axum::http::HeaderMap) -> Option<&str> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The peer a token hash belongs to, from the store; remembered in the
/// hub's cache when found.
async fn peer_for_token_in_store(state: &AppState, hash: &str) -> Result<Option<String>, Error> {
    let h = hash.to_string();
    let id = state
        .store
        .read(move |c| {
            Ok(c.query_row(
                "SELECT id FROM peers WHERE token_hash = ?1",
                params![h],
                |r| r.get::<_, String>(0),
            )
            .optional()?)
        })
        .await?;
    if let Some(id) = &id {
        state.hub().load_tokens([(hash.to_string(), id.clone())]);
    }
    Ok(id)
}

fn unauthorized(msg: &str) -> Error {
    ApiError::new(ErrorCode::Unauthorized, msg).into()
}

/// Identify the caller of a request from its credentials.
pub async fn identify(parts: &Parts, state: &AppState) -> Result<Actor, Error> {
    if let Some(token) = bearer(parts) {
        // Peers make nearly every request: one hash finds them. The lookup is
        // by the token's SHA-256, so its timing says nothing about the token;
        // the admin token is compared in constant time.
        let hash = hash_token(token);
        if let Some(id) = state.hub().peer_for_token(&hash) {
            return Ok(Actor::Peer(id));
        }
        if same_secret(token, &state.admin_token) {
            return Ok(Actor::Operator(OperatorKind::Cli));
        }
        // With other brokers on the database, a peer may have registered
        // with one of them: the cache here is not the whole list.
        if state.hub().team.enabled()
            && let Some(id) = peer_for_token_in_store(state, &hash).await?
        {
            return Ok(Actor::Peer(id));
        }
        return Err(unauthorized(
            "unknown token: register again (POST /v1/peers) or use the admin token",
        ));
    }
    if let Some(value) = cookie(parts, SIGNIN_COOKIE)
        && state
            .dashboard
            .valid(value, claude_peers_proto::time::now_ms())
    {
        return Ok(Actor::Operator(OperatorKind::Dashboard));
    }
    Err(unauthorized(
        "this call needs credentials: a peer token or the admin token (Authorization: Bearer …), or a dashboard session",
    ))
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Identified already by a layer (the send limit): once per request.
        if let Some(actor) = parts.extensions.get::<Actor>() {
            return Ok(actor.clone());
        }
        let actor = identify(parts, state).await?;
        if let Actor::Peer(id) = &actor
            && let Err(ms) = state.rates.requests.take(id)
        {
            return Err(ApiError::rate_limited(
                format!(
                    "too many requests: at most {} per second per peer; retry in {ms} ms",
                    state.rates.requests.capacity()
                ),
                ms,
            )
            .into());
        }
        Ok(actor)
    }
}

/// A caller that must be a person (admin token or dashboard session).
pub struct Operator(pub OperatorKind);

impl FromRequestParts<AppState> for Operator {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match identify(parts, state).await? {
            Actor::Operator(k) => Ok(Operator(k)),
            Actor::Peer(_) => Err(ApiError::forbidden(
                "only the operator (admin token or dashboard) may do this",
            )
            .into()),
        }
    }
}

/// A caller that must be a peer.
pub struct PeerActor(pub String);

impl FromRequestParts<AppState> for PeerActor {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Actor::from_request_parts(parts, state).await? {
            Actor::Peer(id) => Ok(PeerActor(id)),
            Actor::Operator(_) => {
                Err(ApiError::forbidden("this call acts for a peer; use that peer's token").into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_token_file_is_private() {
        let dir = tempfile_dir();
        let path = dir.join("x.admin-token");
        let t1 = load_or_create_admin_token(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create_admin_token(&path).unwrap(), t1, "stable");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        load_or_create_admin_token(&path).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "tightened");
        let _ = fs::remove_dir_all(dir);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("cp-auth-{}", crate::runtime::ids::short_id(8)));
        fs::create_dir_all(&d).unwrap();
        d
    }
}
