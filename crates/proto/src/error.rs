//! The error every API call returns when it fails: a stable code for programs
//! and a sentence for people. Sent as `{"error":{"code":"…","message":"…"}}`.

use serde::{Deserialize, Serialize};

/// Stable error codes. Each maps to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body or query is malformed or a field is invalid (400).
    InvalidRequest,
    /// No or unknown credentials (401).
    Unauthorized,
    /// The caller may not do this (403).
    Forbidden,
    /// The target is in another isolation group (403).
    DifferentGroup,
    /// The `Host` header names neither a loopback name nor a configured host (403).
    HostNotAllowed,
    /// A browser request from a foreign origin (403).
    OriginNotAllowed,
    /// Nothing with that name or id (404).
    NotFound,
    /// The name or id matches more than one thing (409).
    Ambiguous,
    /// The request conflicts with the current state (409).
    Conflict,
    /// The route exists but not with this method (405).
    MethodNotAllowed,
    /// The body or a field is larger than its limit (413).
    TooLarge,
    /// A state-changing call without `Content-Type: application/json` (415).
    UnsupportedMediaType,
    /// The recipient's queue is full (429).
    QueueFull,
    /// The caller is sending too fast (429).
    RateLimited,
    /// The broker failed; the message says why (500).
    Internal,
    /// The broker is shutting down or overloaded (503).
    Unavailable,
}

impl ErrorCode {
    /// The HTTP status this code is sent with.
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidRequest => 400,
            Self::Unauthorized => 401,
            Self::Forbidden
            | Self::DifferentGroup
            | Self::HostNotAllowed
            | Self::OriginNotAllowed => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Ambiguous | Self::Conflict => 409,
            Self::TooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::QueueFull | Self::RateLimited => 429,
            Self::Internal => 500,
            Self::Unavailable => 503,
        }
    }
}

/// An API failure: code + human sentence (+ the offending field, when one is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `rate_limited`: milliseconds until a retry can succeed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            retry_after_ms: None,
        }
    }

    /// An invalid field: the message should name the field and say what is expected.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_string()),
            ..Self::new(ErrorCode::InvalidRequest, message)
        }
    }

    /// A field over its size limit.
    pub fn too_large(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.to_string()),
            ..Self::new(ErrorCode::TooLarge, message)
        }
    }

    /// A refused attempt: retry in `retry_after_ms` (sent as `Retry-After` too).
    pub fn rate_limited(message: impl Into<String>, retry_after_ms: u64) -> Self {
        Self {
            retry_after_ms: Some(retry_after_ms),
            ..Self::new(ErrorCode::RateLimited, message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
}

/// The JSON body of a failed call.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ApiError,
}
