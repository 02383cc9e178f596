//! Extractors that report bad input as our JSON error (never a bare text body):
//! [`Json`], [`Query`] and [`Path`]. Bodies and queries are read into their
//! typed request (`crates/proto`) through `serde_path_to_error`, so a wrong
//! field is refused with its name (`'vote' must be one of approve, reject`,
//! `invalid field 'pid': invalid type: …`).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use claude_peers_proto::limits::MAX_BODY_BYTES;
use claude_peers_proto::{ApiError, enums};
use serde::de::DeserializeOwned;

use crate::error::Error;

/// A JSON body. An empty body reads as `{}`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large(
                    "body",
                    format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
                )
            } else {
                ApiError::invalid("body", format!("cannot read the request body: {e}"))
            }
        })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let value = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| refused("body", "invalid JSON body", e))?;
        de.end()
            .map_err(|e| ApiError::invalid("body", format!("invalid JSON body: {e}")))?;
        Ok(Json(value))
    }
}

/// The error for a body or query that did not deserialize: naming the field
/// when the error is in one, else the whole (`what`, with `prefix`).
fn refused<E: std::fmt::Display>(
    what: &str,
    prefix: &str,
    e: serde_path_to_error::Error<E>,
) -> Error {
    let field = e.path().to_string();
    let inner = e.into_inner().to_string();
    if field.is_empty() || field == "." || field == "?" {
        ApiError::invalid(what, format!("{prefix}: {inner}")).into()
    } else {
        ApiError::invalid(&field, enums::field_error(&field, &inner)).into()
    }
}

/// Query-string parameters.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        let _ = state;
        let q = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| refused("query", "invalid query string", e))
    }
}

/// Path parameters.
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| {
                ApiError::invalid("path", format!("invalid path: {}", e.body_text())).into()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use claude_peers_proto::api::SendRequest;
    use claude_peers_proto::coord::{CastVote, ListQuery, TaskStatus};

    fn api(e: Error) -> ApiError {
        match e {
            Error::Api(a) => a,
            other => panic!("not an API error: {other}"),
        }
    }

    async fn body<T: DeserializeOwned>(b: &'static str) -> Result<T, ApiError> {
        let req = Request::builder().body(axum::body::Body::from(b)).unwrap();
        Json::<T>::from_request(req, &())
            .await
            .map(|j| j.0)
            .map_err(api)
    }

    async fn query<T: DeserializeOwned>(uri: &'static str) -> Result<T, ApiError> {
        let (mut parts, _) = Request::builder().uri(uri).body(()).unwrap().into_parts();
        Query::<T>::from_request_parts(&mut parts, &())
            .await
            .map(|q| q.0)
            .map_err(api)
    }

    #[tokio::test]
    async fn a_wrong_enum_value_names_the_field_and_the_choices() {
        let e = body::<CastVote>(r#"{"vote":"maybe"}"#).await.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("vote"));
        assert!(
            e.message
                .starts_with(r#"'vote' must be one of approve, reject (got "maybe")"#),
            "{}",
            e.message
        );
        let e = query::<ListQuery<TaskStatus>>("/v1/tasks?status=bogus")
            .await
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("status"));
        assert!(
            e.message
                .starts_with("'status' must be one of pending, in_progress, blocked, completed"),
            "{}",
            e.message
        );
        let q = query::<ListQuery<TaskStatus>>("/v1/tasks?status=completed&limit=3")
            .await
            .unwrap();
        assert_eq!((q.status, q.limit), (Some(TaskStatus::Completed), Some(3)));
    }

    #[tokio::test]
    async fn a_wrong_type_names_the_field() {
        let e = body::<SendRequest>(r#"{"to":"x","text":5}"#)
            .await
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("text"));
        assert!(
            e.message
                .starts_with("invalid field 'text': invalid type: integer `5`"),
            "{}",
            e.message
        );
        let e = body::<SendRequest>(r#"{"to":"x","text":"t","context":{"recent_files":[1]}}"#)
            .await
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("context.recent_files[0]"));
        let e = query::<ListQuery<TaskStatus>>("/v1/tasks?limit=many")
            .await
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("limit"));
        // Not in a field: the body as a whole.
        let e = body::<SendRequest>("{").await.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("body"));
        assert!(e.message.starts_with("invalid JSON body"), "{}", e.message);
        let e = body::<SendRequest>(r#"{"to":"x","text":"t"} x"#)
            .await
            .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("body"));
    }
}
