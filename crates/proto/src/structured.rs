//! Structured messages: five typed kinds of message (question, decision,
//! context share, review request, handoff), each with required and optional
//! fields. [`parse`] checks and cleans the fields; [`render`] writes the
//! human-readable text (the seed's templates, SPEC 8.1). The fields travel with
//! the message as its metadata.

use serde_json::{Map, Value};

use crate::enums::string_enum;
use crate::error::ApiError;
use crate::limits::{MAX_FIELD_BYTES, MAX_LIST_ITEM_BYTES, MAX_LIST_ITEMS, MAX_PATH_BYTES};
use crate::validate;

string_enum!(
    /// The kinds of structured message.
    StructuredType {
        Question = "question",
        Decision = "decision",
        ContextShare = "context_share",
        ReviewRequest = "review_request",
        Handoff = "handoff",
    }
);

/// How a field's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Free text, may span lines.
    Text,
    /// One line (a path).
    Line,
    /// A list of one-line strings (an array, or one string).
    List,
}

/// One field of a structured message.
#[derive(Debug, Clone, Copy)]
pub struct FieldSpec {
    pub name: &'static str,
    pub kind: FieldKind,
    pub required: bool,
}

const fn f(name: &'static str, kind: FieldKind, required: bool) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        required,
    }
}

use FieldKind::{Line, List, Text};

const QUESTION: &[FieldSpec] = &[
    f("question", Text, true),
    f("expected_format", Text, true),
    f("context", Text, false),
];
const DECISION: &[FieldSpec] = &[
    f("decision", Text, true),
    f("rationale", Text, true),
    f("alternatives_rejected", List, false),
];
const CONTEXT_SHARE: &[FieldSpec] = &[
    f("summary", Text, true),
    f("files_changed", List, false),
    f("constraints", List, false),
    f("current_task", Text, false),
];
const REVIEW_REQUEST: &[FieldSpec] = &[
    f("file_path", Line, true),
    f("description", Text, true),
    f("acceptance_criteria", Text, false),
];
const HANDOFF: &[FieldSpec] = &[
    f("work_completed", Text, true),
    f("remaining_work", Text, true),
    f("files_modified", List, true),
    f("decisions_made", List, true),
    f("blockers", List, false),
];

impl StructuredType {
    /// The fields of this kind, required ones first.
    pub fn fields(self) -> &'static [FieldSpec] {
        match self {
            Self::Question => QUESTION,
            Self::Decision => DECISION,
            Self::ContextShare => CONTEXT_SHARE,
            Self::ReviewRequest => REVIEW_REQUEST,
            Self::Handoff => HANDOFF,
        }
    }

    fn names(self, required_only: bool) -> String {
        self.fields()
            .iter()
            .filter(|f| f.required || !required_only)
            .map(|f| f.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Every field name of every kind (the MCP tool's parameters).
pub fn all_field_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for &t in StructuredType::ALL {
        for f in t.fields() {
            if !names.contains(&f.name) {
                names.push(f.name);
            }
        }
    }
    names
}

/// A checked structured message: its kind, its cleaned fields (text as
/// strings, lists as arrays of strings) and its rendered text.
#[derive(Debug, Clone, PartialEq)]
pub struct Structured {
    pub msg_type: StructuredType,
    pub fields: Map<String, Value>,
    pub text: String,
}

/// Check a structured message of kind `t`: only fields of that kind;
/// every required field present (a text not blank; a list may be empty);
/// lists given as arrays of strings or as one string; every size within its
/// limit. Errors name the field.
pub fn parse(t: StructuredType, fields: &Map<String, Value>) -> Result<Structured, ApiError> {
    let spec = t.fields();
    if let Some(foreign) = fields
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k)
        .find(|k| !spec.iter().any(|f| f.name == k.as_str()))
    {
        return Err(ApiError::invalid(
            foreign,
            format!(
                "'{foreign}' is not a field of a {} message (its fields: {})",
                t.as_str(),
                t.names(false)
            ),
        ));
    }
    let mut clean = Map::new();
    let mut missing = Vec::new();
    for f in spec {
        let value = fields.get(f.name).filter(|v| !v.is_null());
        let cleaned = match f.kind {
            List => {
                if value.is_none() {
                    None
                } else {
                    let items =
                        validate::string_list(f.name, value, MAX_LIST_ITEMS, MAX_LIST_ITEM_BYTES)?;
                    Some(Value::Array(items.into_iter().map(Value::String).collect()))
                }
            }
            Text | Line => match value {
                None => None,
                Some(Value::String(s)) => {
                    let v = if f.kind == Line {
                        validate::line(f.name, s, MAX_PATH_BYTES)?
                    } else {
                        validate::text(f.name, s, MAX_FIELD_BYTES)?
                    };
                    (!v.is_empty()).then_some(Value::String(v))
                }
                Some(other) => {
                    return Err(ApiError::invalid(
                        f.name,
                        format!(
                            "'{}' must be a string, not {}",
                            f.name,
                            validate::json_kind(other)
                        ),
                    ));
                }
            },
        };
        match cleaned {
            Some(v) => {
                clean.insert(f.name.to_string(), v);
            }
            None if f.required => missing.push(f.name),
            None => {}
        }
    }
    if let Some(first) = missing.first() {
        let list = missing
            .iter()
            .map(|m| format!("'{m}'"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ApiError::invalid(
            first,
            format!(
                "a {} message needs {list} (required for {}: {})",
                t.as_str(),
                t.as_str(),
                t.names(true)
            ),
        ));
    }
    let text = validate::message_text("text", &render(t, &clean))?;
    Ok(Structured {
        msg_type: t,
        fields: clean,
        text,
    })
}

fn text_of<'a>(fields: &'a Map<String, Value>, name: &str) -> &'a str {
    fields.get(name).and_then(Value::as_str).unwrap_or("")
}

fn list_of(fields: &Map<String, Value>, name: &str) -> Vec<String> {
    match fields.get(name) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) if !s.trim().is_empty() => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The human-readable text of a structured message (SPEC 8.1). Works on any
/// map: a missing field renders empty, a list given as one string is one item.
pub fn render(t: StructuredType, fields: &Map<String, Value>) -> String {
    let s = |n: &str| text_of(fields, n);
    let joined = |n: &str| {
        let items = list_of(fields, n);
        if items.is_empty() {
            "(none)".to_string()
        } else {
            items.join(", ")
        }
    };
    let has_list = |n: &str| !list_of(fields, n).is_empty();
    let mut out = String::new();
    match t {
        StructuredType::Question => {
            out.push_str(&format!(
                "**Question:** {}\n**Expected format:** {}",
                s("question"),
                s("expected_format")
            ));
            if !s("context").is_empty() {
                out.push_str(&format!("\n**Context:** {}", s("context")));
            }
        }
        StructuredType::Decision => {
            out.push_str(&format!(
                "**Decision:** {}\n**Rationale:** {}",
                s("decision"),
                s("rationale")
            ));
            if has_list("alternatives_rejected") {
                out.push_str(&format!(
                    "\n**Rejected:** {}",
                    joined("alternatives_rejected")
                ));
            }
        }
        StructuredType::ContextShare => {
            out.push_str(&format!("**Context Update:** {}", s("summary")));
            if has_list("files_changed") {
                out.push_str(&format!("\n**Files:** {}", joined("files_changed")));
            }
            if has_list("constraints") {
                out.push_str(&format!("\n**Constraints:** {}", joined("constraints")));
            }
            if !s("current_task").is_empty() {
                out.push_str(&format!("\n**Task:** {}", s("current_task")));
            }
        }
        StructuredType::ReviewRequest => {
            out.push_str(&format!(
                "**Review Request:** `{}`\n{}",
                s("file_path"),
                s("description")
            ));
            if !s("acceptance_criteria").is_empty() {
                out.push_str(&format!("\n**Criteria:** {}", s("acceptance_criteria")));
            }
        }
        StructuredType::Handoff => {
            out.push_str(&format!(
                "**Handoff**\n**Completed:** {}\n**Remaining:** {}\n**Files:** {}\n**Decisions:** {}",
                s("work_completed"),
                s("remaining_work"),
                joined("files_modified"),
                joined("decisions_made")
            ));
            if has_list("blockers") {
                out.push_str(&format!("\n**Blockers:** {}", joined("blockers")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use serde_json::json;

    /// The kind as a request names it, then the fields.
    fn parse(kind: &str, fields: &Map<String, Value>) -> Result<Structured, ApiError> {
        super::parse(StructuredType::field("msg_type", kind)?, fields)
    }

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn renders_each_kind_like_the_seed() {
        let q = parse(
            "question",
            &map(
                json!({"question": "Which DB?", "expected_format": "one word", "context": "perf"}),
            ),
        )
        .unwrap();
        assert_eq!(
            q.text,
            "**Question:** Which DB?\n**Expected format:** one word\n**Context:** perf"
        );
        let d = parse(
            "decision",
            &map(json!({"decision": "sqlite", "rationale": "simple", "alternatives_rejected": ["pg", "mysql"]})),
        )
        .unwrap();
        assert_eq!(
            d.text,
            "**Decision:** sqlite\n**Rationale:** simple\n**Rejected:** pg, mysql"
        );
        let c = parse(
            "context_share",
            &map(json!({"summary": "auth done", "files_changed": "auth.rs", "current_task": "tests"})),
        )
        .unwrap();
        assert_eq!(
            c.text,
            "**Context Update:** auth done\n**Files:** auth.rs\n**Task:** tests"
        );
        assert_eq!(c.fields["files_changed"], json!(["auth.rs"]));
        let r = parse(
            "review_request",
            &map(json!({"file_path": "src/a.rs", "description": "look", "acceptance_criteria": "no panics"})),
        )
        .unwrap();
        assert_eq!(
            r.text,
            "**Review Request:** `src/a.rs`\nlook\n**Criteria:** no panics"
        );
        let h = parse(
            "handoff",
            &map(json!({"work_completed": "a", "remaining_work": "b", "files_modified": ["x", "y"], "decisions_made": [], "blockers": ["ci"]})),
        )
        .unwrap();
        assert_eq!(
            h.text,
            "**Handoff**\n**Completed:** a\n**Remaining:** b\n**Files:** x, y\n**Decisions:** (none)\n**Blockers:** ci"
        );
    }

    #[test]
    fn optional_parts_are_left_out_when_empty() {
        let q = parse(
            "question",
            &map(json!({"question": "q", "expected_format": "f", "context": "  "})),
        )
        .unwrap();
        assert_eq!(q.text, "**Question:** q\n**Expected format:** f");
        assert!(!q.fields.contains_key("context"));
    }

    #[test]
    fn missing_fields_are_named() {
        let e = parse("question", &map(json!({"question": "q"}))).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("expected_format"));
        assert!(e.message.contains("'expected_format'"), "{}", e.message);
        assert!(!e.message.contains("'question'"), "{}", e.message);
        let e = parse("handoff", &map(json!({"work_completed": "a"}))).unwrap_err();
        assert!(
            e.message
                .contains("'remaining_work', 'files_modified', 'decisions_made'"),
            "{}",
            e.message
        );
        let e = parse("decision", &map(json!({"decision": "x", "rationale": " "}))).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("rationale"));
    }

    #[test]
    fn wrong_types_and_foreign_fields_are_refused() {
        let e = parse(
            "handoff",
            &map(json!({"work_completed": "a", "remaining_work": "b", "files_modified": 3, "decisions_made": []})),
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("files_modified"));
        let e = parse(
            "question",
            &map(json!({"question": 5, "expected_format": "f"})),
        )
        .unwrap_err();
        assert!(e.message.contains("must be a string"), "{}", e.message);
        let e = parse(
            "question",
            &map(json!({"question": "q", "expected_format": "f", "rationale": "r"})),
        )
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("rationale"));
        let e = parse("gossip", &Map::new()).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("msg_type"));
        assert!(e.message.contains("question, decision"), "{}", e.message);
        // null counts as absent.
        assert!(
            parse(
                "question",
                &map(json!({"question": "q", "expected_format": "f", "rationale": null}))
            )
            .is_ok()
        );
    }

    #[test]
    fn sizes_are_limited() {
        let big = "x".repeat(MAX_FIELD_BYTES + 1);
        let e = parse(
            "question",
            &map(json!({"question": big, "expected_format": "f"})),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
        let many: Vec<String> = (0..=MAX_LIST_ITEMS).map(|i| i.to_string()).collect();
        let e = parse(
            "decision",
            &map(json!({"decision": "d", "rationale": "r", "alternatives_rejected": many})),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::TooLarge);
        // Four long fields together overflow the message limit.
        let f = "y".repeat(MAX_FIELD_BYTES);
        let e = parse(
            "handoff",
            &map(
                json!({"work_completed": f, "remaining_work": f, "files_modified": [], "decisions_made": [], "blockers": []}),
            ),
        );
        assert!(e.is_ok(), "two 16 KiB fields fit in 64 KiB");
    }

    #[test]
    fn every_field_is_known() {
        let names = all_field_names();
        assert_eq!(names.len(), 18);
        assert!(names.contains(&"blockers") && names.contains(&"file_path"));
    }
}
