//! Field validation shared by every route: each rule lives here once.
//!
//! Every function cleans untrusted text (see [`crate::text`]) and checks its
//! limit (see [`crate::limits`]), returning an [`ApiError`] that names the field.

use crate::api::ContextSnapshot;
use crate::error::ApiError;
use crate::limits::*;
use crate::text::{clean, clean_line};

/// Message text: cleaned, not blank, at most [`MAX_MESSAGE_BYTES`].
pub fn message_text(field: &str, raw: &str) -> Result<String, ApiError> {
    let text = clean(raw);
    if text.trim().is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("'{field}' cannot be empty"),
        ));
    }
    if text.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::too_large(
            field,
            format!(
                "message too large: {} bytes, the limit is {MAX_MESSAGE_BYTES} bytes (64 KiB)",
                text.len()
            ),
        ));
    }
    Ok(text)
}

/// A one-line field that may be empty, at most `max` bytes.
pub fn line(field: &str, raw: &str, max: usize) -> Result<String, ApiError> {
    let text = clean_line(raw).trim().to_string();
    if text.len() > max {
        return Err(ApiError::too_large(
            field,
            format!("'{field}' is {} bytes long, the limit is {max}", text.len()),
        ));
    }
    Ok(text)
}

/// A one-line field that must not be empty, at most `max` bytes.
pub fn required_line(field: &str, raw: &str, max: usize) -> Result<String, ApiError> {
    let text = line(field, raw, max)?;
    if text.is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("'{field}' cannot be empty"),
        ));
    }
    Ok(text)
}

/// An optional one-line field: absent or blank becomes `None`.
pub fn optional_line(
    field: &str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    match raw {
        None => Ok(None),
        Some(s) => {
            let v = line(field, s, max)?;
            Ok((!v.is_empty()).then_some(v))
        }
    }
}

/// A peer summary (may be empty to clear it).
pub fn summary(raw: &str) -> Result<String, ApiError> {
    line("summary", raw, MAX_SUMMARY_BYTES)
}

/// A page size: absent → `default`; otherwise 1..=[`MAX_PAGE`].
pub fn page(limit: Option<u32>, default: u32) -> Result<u32, ApiError> {
    match limit {
        None => Ok(default),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::invalid(
            "limit",
            format!("'limit' must be between 1 and {MAX_PAGE} (got {n})"),
        )),
    }
}

/// A context snapshot: each field cleaned and capped, at most
/// [`MAX_CONTEXT_FILES`] files.
pub fn context(ctx: &ContextSnapshot) -> Result<ContextSnapshot, ApiError> {
    if ctx.recent_files.len() > MAX_CONTEXT_FILES {
        return Err(ApiError::too_large(
            "context.recent_files",
            format!(
                "'context.recent_files' has {} entries, the limit is {MAX_CONTEXT_FILES}",
                ctx.recent_files.len()
            ),
        ));
    }
    Ok(ContextSnapshot {
        branch: optional_line("context.branch", ctx.branch.as_deref(), MAX_BRANCH_BYTES)?,
        recent_files: ctx
            .recent_files
            .iter()
            .map(|f| required_line("context.recent_files", f, MAX_PATH_BYTES))
            .collect::<Result<_, _>>()?,
        summary: summary(&ctx.summary)?,
        cwd: line("context.cwd", &ctx.cwd, MAX_PATH_BYTES)?,
    })
}

/// A list of message ids: not empty, at most [`MAX_IDS_PER_REQUEST`].
pub fn ids(field: &str, ids: &[i64]) -> Result<(), ApiError> {
    if ids.is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("'{field}' cannot be empty"),
        ));
    }
    if ids.len() > MAX_IDS_PER_REQUEST {
        return Err(ApiError::too_large(
            field,
            format!(
                "'{field}' has {} ids, the limit is {MAX_IDS_PER_REQUEST}",
                ids.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn message_text_limits() {
        assert_eq!(message_text("text", "hi\u{0}").unwrap(), "hi");
        assert_eq!(
            message_text("text", "  \n ").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        let ok = "a".repeat(MAX_MESSAGE_BYTES);
        assert!(message_text("text", &ok).is_ok());
        let err = message_text("text", &(ok + "b")).unwrap_err();
        assert_eq!(err.code, ErrorCode::TooLarge);
        assert!(err.message.contains("65537 bytes"), "{}", err.message);
        // Multi-byte characters count in bytes.
        let e = "é".repeat(MAX_MESSAGE_BYTES / 2 + 1);
        assert_eq!(
            message_text("text", &e).unwrap_err().code,
            ErrorCode::TooLarge
        );
    }

    #[test]
    fn page_bounds() {
        assert_eq!(page(None, 50).unwrap(), 50);
        assert_eq!(page(Some(500), 50).unwrap(), 500);
        assert!(page(Some(0), 50).is_err());
        assert!(page(Some(501), 50).is_err());
    }

    #[test]
    fn context_is_capped() {
        let mut ctx = ContextSnapshot {
            recent_files: vec!["a.rs".into(); MAX_CONTEXT_FILES + 1],
            ..Default::default()
        };
        assert_eq!(context(&ctx).unwrap_err().code, ErrorCode::TooLarge);
        ctx.recent_files.truncate(2);
        ctx.summary = "x\ny".into();
        assert_eq!(context(&ctx).unwrap().summary, "x y");
    }
}
