//! Field validation shared by every route: each rule lives here once.
//!
//! Every function cleans untrusted text (see [`crate::text`]) and checks its
//! limit (see [`crate::limits`]), returning an [`ApiError`] that names the field.

use crate::api::{ContextSnapshot, PeerCursor};
use crate::error::ApiError;
use crate::limits::*;
use crate::text::{clean, clean_line, truncate_bytes};

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

/// The text of a status update (`status: true`): a message text of at most
/// [`MAX_STATUS_BYTES`](crate::limits::MAX_STATUS_BYTES).
pub fn status_text(field: &str, raw: &str) -> Result<String, ApiError> {
    use crate::limits::MAX_STATUS_BYTES;
    let text = message_text(field, raw)?;
    if text.len() > MAX_STATUS_BYTES {
        return Err(ApiError::too_large(
            field,
            format!(
                "a status update is at most {MAX_STATUS_BYTES} bytes (this one is {}); send longer text as an ordinary message",
                text.len()
            ),
        ));
    }
    Ok(text)
}

/// The words of a search query: at most
/// [`MAX_SEARCH_QUERY_BYTES`](crate::limits::MAX_SEARCH_QUERY_BYTES) and
/// [`MAX_SEARCH_TERMS`](crate::limits::MAX_SEARCH_TERMS) words; a quoted
/// part is one phrase. Only letters and digits count; the rest separates words.
pub fn search_terms(field: &str, raw: &str) -> Result<Vec<String>, ApiError> {
    use crate::limits::{MAX_SEARCH_QUERY_BYTES, MAX_SEARCH_TERMS};
    if raw.len() > MAX_SEARCH_QUERY_BYTES {
        return Err(ApiError::too_large(
            field,
            format!("a search is at most {MAX_SEARCH_QUERY_BYTES} bytes"),
        ));
    }
    let mut terms = Vec::new();
    for (i, part) in raw.split('"').enumerate() {
        let words: Vec<&str> = part
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        if i % 2 == 1 {
            if !words.is_empty() {
                terms.push(words.join(" "));
            }
        } else {
            terms.extend(words.into_iter().map(str::to_string));
        }
    }
    if terms.is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("'{field}' needs at least one word (letters or digits)"),
        ));
    }
    if terms.len() > MAX_SEARCH_TERMS {
        return Err(ApiError::invalid(
            field,
            format!("a search may hold at most {MAX_SEARCH_TERMS} words"),
        ));
    }
    Ok(terms)
}

/// A cleaned field, if it is at most `max` bytes.
fn within(field: &str, text: String, max: usize) -> Result<String, ApiError> {
    if text.len() > max {
        return Err(ApiError::too_large(
            field,
            format!("'{field}' is {} bytes long, the limit is {max}", text.len()),
        ));
    }
    Ok(text)
}

/// A cleaned field, if it is not empty.
fn not_empty(field: &str, text: String) -> Result<String, ApiError> {
    if text.is_empty() {
        return Err(ApiError::invalid(
            field,
            format!("'{field}' cannot be empty"),
        ));
    }
    Ok(text)
}

/// An optional field checked by `check`: absent or blank becomes `None`.
fn optional(
    raw: Option<&str>,
    check: impl FnOnce(&str) -> Result<String, ApiError>,
) -> Result<Option<String>, ApiError> {
    Ok(raw.map(check).transpose()?.filter(|v| !v.is_empty()))
}

/// A one-line field that may be empty, at most `max` bytes.
pub fn line(field: &str, raw: &str, max: usize) -> Result<String, ApiError> {
    within(field, clean_line(raw).trim().to_string(), max)
}

/// A one-line field that must not be empty, at most `max` bytes.
pub fn required_line(field: &str, raw: &str, max: usize) -> Result<String, ApiError> {
    not_empty(field, line(field, raw, max)?)
}

/// An optional one-line field: absent or blank becomes `None`.
pub fn optional_line(
    field: &str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    optional(raw, |s| line(field, s, max))
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

/// The `cursor` of a peer listing, as written by [`PeerCursor`]'s `Display`:
/// `<registered_at>.<id>`, at most [`MAX_CURSOR_BYTES`], the id of lowercase
/// letters and digits.
pub fn peer_cursor(raw: &str) -> Result<PeerCursor, ApiError> {
    let bad = || {
        ApiError::invalid(
            "cursor",
            format!(
                "invalid cursor {:?}: pass the cursor a previous listing returned, or none for the first page",
                truncate_bytes(raw, MAX_CURSOR_BYTES)
            ),
        )
    };
    if raw.len() > MAX_CURSOR_BYTES {
        return Err(bad());
    }
    let (at, id) = raw.split_once('.').ok_or_else(bad)?;
    let registered_at: i64 = at.parse().map_err(|_| bad())?;
    let id_ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    if registered_at < 0 || !id_ok {
        return Err(bad());
    }
    Ok(PeerCursor {
        registered_at,
        id: id.to_string(),
    })
}

/// A send's `wait_ms`: how long to wait for the "delivered" confirmation
/// (absent = 0), at most [`MAX_SEND_WAIT_MS`].
pub fn wait_ms(field: &str, wait: Option<u64>) -> Result<u64, ApiError> {
    match wait.unwrap_or(0) {
        w if w <= MAX_SEND_WAIT_MS => Ok(w),
        _ => Err(ApiError::invalid(
            field,
            format!("'{field}' can be at most {MAX_SEND_WAIT_MS}"),
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

/// `wait_for_messages`'s `timeout_s`: absent →
/// [`DEFAULT_WAIT_FOR_MESSAGES_S`]; else 1 to [`MAX_WAIT_FOR_MESSAGES_S`].
pub fn wait_for_messages_s(timeout_s: Option<u64>) -> Result<u64, ApiError> {
    match timeout_s.unwrap_or(DEFAULT_WAIT_FOR_MESSAGES_S) {
        s @ 1..=MAX_WAIT_FOR_MESSAGES_S => Ok(s),
        s => Err(ApiError::invalid(
            "timeout_s",
            format!("timeout_s must be between 1 and {MAX_WAIT_FOR_MESSAGES_S} seconds (got {s})"),
        )),
    }
}

/// The ids of a `delivered` stream frame: at most [`MAX_DELIVERED_IDS`].
pub fn delivered_ids(ids: &[i64]) -> Result<(), ApiError> {
    if ids.len() > MAX_DELIVERED_IDS {
        return Err(ApiError::too_large(
            "ids",
            format!(
                "a delivered frame has {} ids, the limit is {MAX_DELIVERED_IDS}",
                ids.len()
            ),
        ));
    }
    Ok(())
}

/// A Claude Code session id (`cc_session`): one line, not blank, at most
/// [`MAX_SESSION_ID_BYTES`].
pub fn session_id(field: &str, raw: &str) -> Result<String, ApiError> {
    required_line(field, raw, MAX_SESSION_ID_BYTES)
}

/// The text of a translation: not blank, at most [`MAX_TRANSLATE_BYTES`].
pub fn translate_text(raw: &str) -> Result<&str, ApiError> {
    if raw.len() > MAX_TRANSLATE_BYTES {
        return Err(ApiError::too_large(
            "text",
            format!("at most {MAX_TRANSLATE_BYTES} bytes per call"),
        ));
    }
    Ok(raw)
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

/// Free text that may span lines and may be empty, at most `max` bytes.
pub fn text(field: &str, raw: &str, max: usize) -> Result<String, ApiError> {
    within(field, clean(raw).trim().to_string(), max)
}

/// Free text that must not be blank, at most `max` bytes.
pub fn required_text(field: &str, raw: &str, max: usize) -> Result<String, ApiError> {
    not_empty(field, text(field, raw, max)?)
}

/// Optional free text: absent or blank becomes `None`.
pub fn optional_text(
    field: &str,
    raw: Option<&str>,
    max: usize,
) -> Result<Option<String>, ApiError> {
    optional(raw, |s| text(field, s, max))
}

/// A list of strings, given as a JSON array of strings or as one string (a
/// list of one). Absent or `null` is an empty list; blank items are dropped.
/// Items are one-line, at most `max_item` bytes; at most `max_items` of them.
pub fn string_list(
    field: &str,
    value: Option<&serde_json::Value>,
    max_items: usize,
    max_item: usize,
) -> Result<Vec<String>, ApiError> {
    let raw = match value {
        None => Vec::new(),
        Some(v) => strings_of(v).map_err(|m| ApiError::invalid(field, format!("'{field}' {m}")))?,
    };
    lines(field, &raw, max_items, max_item)
}

/// The strings of a list field: an array of strings, one string, or `null`
/// (none). The error reads after the field's name (`must be …`).
fn strings_of(value: &serde_json::Value) -> Result<Vec<String>, String> {
    use serde_json::Value;
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("must be a list of strings; it contains {v}"))
            })
            .collect(),
        other => Err(format!(
            "must be a list of strings (or one string), not {}",
            json_kind(other)
        )),
    }
}

/// The items of a list field, each one line of at most `max_item` bytes; blank
/// items are dropped; at most `max_items` of them.
pub fn lines(
    field: &str,
    raw: &[String],
    max_items: usize,
    max_item: usize,
) -> Result<Vec<String>, ApiError> {
    let items: Vec<String> = raw
        .iter()
        .map(|s| line(field, s, max_item))
        .filter(|r| !matches!(r, Ok(s) if s.is_empty()))
        .collect::<Result<_, _>>()?;
    if items.len() > max_items {
        return Err(ApiError::too_large(
            field,
            format!(
                "'{field}' has {} items, the limit is {max_items}",
                items.len()
            ),
        ));
    }
    Ok(items)
}

/// A request field that is a list of strings, given as a JSON array of
/// strings or as one string (a list of one); `null` is an empty list. Its
/// items are checked with [`lines`] by the route that knows their limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct StringList(pub Vec<String>);

impl StringList {
    /// Read a tool argument as given, with an error naming `field`.
    pub fn from_value(field: &str, value: &serde_json::Value) -> Result<Self, ApiError> {
        strings_of(value)
            .map(StringList)
            .map_err(|m| ApiError::invalid(field, format!("'{field}' {m}")))
    }
}

impl<'de> serde::Deserialize<'de> for StringList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        strings_of(&v)
            .map(StringList)
            .map_err(serde::de::Error::custom)
    }
}

/// `deserialize_with` for an optional enum field of a query: blank is absent.
pub fn blank_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    use serde::Deserialize;
    use serde::de::IntoDeserializer;
    match Option::<String>::deserialize(d)? {
        Some(s) if !s.trim().is_empty() => T::deserialize(s.into_deserializer()).map(Some),
        _ => Ok(None),
    }
}

/// Whether Claude Code keeps a channel `meta` key: `^[a-zA-Z_][a-zA-Z0-9_]*$`
/// (it drops any other key with a warning).
pub fn channel_meta_key(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The `meta` of a channel notification from `(key, value)` pairs, in order:
/// keys Claude Code would drop are left out, each value is one clean line of
/// at most [`MAX_CHANNEL_META_VALUE_BYTES`], and pairs past
/// [`MAX_CHANNEL_META_ENTRIES`] are left out. Values are strings, the only
/// type the client accepts (anything else drops the whole notification).
pub fn channel_meta<K, V>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> serde_json::Map<String, serde_json::Value>
where
    K: Into<String>,
    V: AsRef<str>,
{
    let mut meta = serde_json::Map::new();
    for (k, v) in pairs {
        let k = k.into();
        if meta.len() >= MAX_CHANNEL_META_ENTRIES {
            break;
        }
        if !channel_meta_key(&k) {
            continue;
        }
        let line = clean_line(v.as_ref());
        let value = truncate_bytes(line.trim(), MAX_CHANNEL_META_VALUE_BYTES);
        meta.insert(k, value.into());
    }
    meta
}

/// How a JSON value's type is named in error messages.
pub fn json_kind(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The approvals a proposal needs: absent or `null` → the default; otherwise a
/// whole number from [`MIN_VOTES_REQUIRED`] to [`MAX_VOTES_REQUIRED`].
pub fn votes_required(value: Option<&serde_json::Value>) -> Result<u32, ApiError> {
    votes_of(value)
        .map_err(|m| ApiError::invalid("required_votes", format!("'required_votes' {m}")))
}

/// `deserialize_with` of `required_votes`: [`votes_required`]'s rule, so the
/// typed field refuses what the rule refuses, in its words.
pub fn votes_field<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    use serde::Deserialize;
    let v = Option::<serde_json::Value>::deserialize(d)?;
    match v {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(v) => votes_of(Some(&v))
            .map(Some)
            .map_err(serde::de::Error::custom),
    }
}

fn votes_of(value: Option<&serde_json::Value>) -> Result<u32, String> {
    use serde_json::Value;
    let bad = |got: String| {
        format!(
            "must be a whole number from {MIN_VOTES_REQUIRED} to {MAX_VOTES_REQUIRED} (got {got})"
        )
    };
    match value {
        None | Some(Value::Null) => Ok(DEFAULT_VOTES_REQUIRED),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(v) if (MIN_VOTES_REQUIRED as u64..=MAX_VOTES_REQUIRED as u64).contains(&v) => {
                Ok(v as u32)
            }
            _ => Err(bad(n.to_string())),
        },
        Some(other) => Err(bad(json_kind(other).to_string())),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_peer_cursor_reads_back_what_it_wrote_and_refuses_anything_else() {
        let c = PeerCursor {
            registered_at: 1_764_547_200_123,
            id: "k3x9a0b2cd".into(),
        };
        assert_eq!(peer_cursor(&c.to_string()).unwrap(), c);
        for bad in [
            "",
            "123",
            ".abc",
            "abc.def",
            "-5.abc",
            "12.",
            "12.ABC",
            "12.a b",
            "12.a.b",
            &format!("1.{}", "a".repeat(MAX_CURSOR_BYTES)),
        ] {
            let err = peer_cursor(bad).unwrap_err();
            assert_eq!(err.field.as_deref(), Some("cursor"), "{bad:?}");
            assert!(
                err.message.contains("invalid cursor"),
                "{bad:?}: {}",
                err.message
            );
        }
    }

    #[test]
    fn channel_meta_keeps_valid_keys_and_caps_values_and_entries() {
        assert!(channel_meta_key("message_id") && channel_meta_key("_x1"));
        assert!(!channel_meta_key("message-id") && !channel_meta_key("1x"));
        assert!(!channel_meta_key(""));
        let long = "é".repeat(MAX_CHANNEL_META_VALUE_BYTES);
        let m = channel_meta([
            ("from", " claude-2\n"),
            ("bad-key", "x"),
            ("long", long.as_str()),
        ]);
        assert_eq!(m["from"], "claude-2");
        assert!(!m.contains_key("bad-key"));
        let cut = m["long"].as_str().unwrap();
        assert!(cut.len() <= MAX_CHANNEL_META_VALUE_BYTES && cut.len() > 500);
        assert!(cut.chars().all(|c| c == 'é'));
        let many = (0..MAX_CHANNEL_META_ENTRIES + 5).map(|i| (format!("k{i}"), "v"));
        let m = channel_meta(many);
        assert_eq!(m.len(), MAX_CHANNEL_META_ENTRIES);
        assert!(m.contains_key("k0") && !m.contains_key(&format!("k{MAX_CHANNEL_META_ENTRIES}")));
    }

    use super::*;

    #[test]
    fn wait_ms_is_bounded_and_names_its_field() {
        assert_eq!(wait_ms("wait_ms", None).unwrap(), 0);
        assert_eq!(
            wait_ms("wait_ms", Some(MAX_SEND_WAIT_MS)).unwrap(),
            MAX_SEND_WAIT_MS
        );
        let e = wait_ms("wait_ms", Some(MAX_SEND_WAIT_MS + 1)).unwrap_err();
        assert!(e.to_string().contains("'wait_ms' can be at most"), "{e}");
    }
    use crate::ErrorCode;

    #[test]
    fn search_terms_split_words_and_keep_phrases() {
        assert_eq!(
            search_terms("q", "session API \"rate limit\" x-y").unwrap(),
            vec!["session", "API", "rate limit", "x", "y"]
        );
        assert_eq!(
            search_terms("q", "  *:() ").unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        let many = "w ".repeat(crate::limits::MAX_SEARCH_TERMS + 1);
        assert!(search_terms("q", &many).is_err());
        let long = "a".repeat(crate::limits::MAX_SEARCH_QUERY_BYTES + 1);
        assert_eq!(
            search_terms("q", &long).unwrap_err().code,
            ErrorCode::TooLarge
        );
    }

    #[test]
    fn status_text_is_short() {
        assert_eq!(
            status_text("text", "blocked on #4").unwrap(),
            "blocked on #4"
        );
        let long = "a".repeat(crate::limits::MAX_STATUS_BYTES + 1);
        assert_eq!(
            status_text("text", &long).unwrap_err().code,
            ErrorCode::TooLarge
        );
    }

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

    #[test]
    fn lists_accept_arrays_and_one_string() {
        use serde_json::json;
        let f = |v: serde_json::Value| string_list("files", Some(&v), 3, 10);
        assert_eq!(f(json!(["a", " b ", ""])).unwrap(), vec!["a", "b"]);
        assert_eq!(f(json!("one")).unwrap(), vec!["one"]);
        assert_eq!(f(json!("  ")).unwrap(), Vec::<String>::new());
        assert!(string_list("files", None, 3, 10).unwrap().is_empty());
        assert!(f(json!(null)).unwrap().is_empty());
        let e = f(json!(3)).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("files"));
        assert!(e.message.contains("not a number"), "{}", e.message);
        let e = f(json!(["a", 1])).unwrap_err();
        assert!(e.message.contains("contains 1"), "{}", e.message);
        assert_eq!(
            f(json!(["a", "b", "c", "d"])).unwrap_err().code,
            ErrorCode::TooLarge
        );
        assert_eq!(
            f(json!(["01234567890"])).unwrap_err().code,
            ErrorCode::TooLarge
        );
    }

    #[test]
    fn votes_required_bounds() {
        use serde_json::json;
        assert_eq!(votes_required(None).unwrap(), 2);
        assert_eq!(votes_required(Some(&json!(null))).unwrap(), 2);
        assert_eq!(votes_required(Some(&json!(1))).unwrap(), 1);
        assert_eq!(votes_required(Some(&json!(20))).unwrap(), 20);
        for bad in [json!(0), json!(21), json!(-1), json!(1.5), json!("2")] {
            let e = votes_required(Some(&bad)).unwrap_err();
            assert_eq!(e.field.as_deref(), Some("required_votes"), "{bad}");
        }
    }

    #[test]
    fn text_keeps_lines_and_trims() {
        assert_eq!(text("d", " a\r\nb \u{7}", 10).unwrap(), "a\nb");
        assert!(required_text("d", "  ", 10).is_err());
        assert_eq!(optional_text("d", Some(" "), 10).unwrap(), None);
        assert_eq!(
            text("d", "abcdef", 3).unwrap_err().code,
            ErrorCode::TooLarge
        );
    }

    #[test]
    fn typed_list_and_votes_fields_refuse_in_the_rules_words() {
        use crate::coord::{CreateProposal, SetActiveFiles};
        let e = serde_json::from_str::<SetActiveFiles>(r#"{"files": 7}"#).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("must be a list of strings (or one string), not a number"),
            "{e}"
        );
        let one: SetActiveFiles = serde_json::from_str(r#"{"files": "a.rs"}"#).unwrap();
        assert_eq!(one.files.0, ["a.rs"]);
        let e = serde_json::from_str::<CreateProposal>(r#"{"title": "t", "required_votes": 1.5}"#)
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("must be a whole number from 1 to 20 (got 1.5)"),
            "{e}"
        );
        let p: CreateProposal =
            serde_json::from_str(r#"{"title": "t", "required_votes": null}"#).unwrap();
        assert_eq!(p.required_votes, None);
    }

    #[test]
    fn moved_limits_are_checked_here() {
        assert_eq!(
            wait_for_messages_s(None).unwrap(),
            DEFAULT_WAIT_FOR_MESSAGES_S
        );
        assert_eq!(wait_for_messages_s(Some(110)).unwrap(), 110);
        assert!(wait_for_messages_s(Some(0)).is_err());
        assert!(wait_for_messages_s(Some(111)).is_err());
        assert!(delivered_ids(&vec![1; MAX_DELIVERED_IDS]).is_ok());
        assert_eq!(
            delivered_ids(&vec![1; MAX_DELIVERED_IDS + 1])
                .unwrap_err()
                .code,
            ErrorCode::TooLarge
        );
        assert!(session_id("s", &"a".repeat(MAX_SESSION_ID_BYTES)).is_ok());
        assert!(session_id("s", &"a".repeat(MAX_SESSION_ID_BYTES + 1)).is_err());
        assert!(session_id("s", " ").is_err());
        assert!(translate_text(&"a".repeat(MAX_TRANSLATE_BYTES)).is_ok());
        assert_eq!(
            translate_text(&"a".repeat(MAX_TRANSLATE_BYTES + 1))
                .unwrap_err()
                .code,
            ErrorCode::TooLarge
        );
    }
}
