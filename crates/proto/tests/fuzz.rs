//! Property-based fuzzing of every request type's parsing and of the shared
//! validation and text rules: arbitrary bytes and arbitrary JSON never panic,
//! and what comes out of validation respects the limits and the text rules.
//!
//! Bounded: `PROPTEST_CASES` (default here 512 per property) keeps CI fast; run
//! with a larger value for a longer fuzzing session.

use claude_peers_proto::api::*;
use claude_peers_proto::coord::*;
use claude_peers_proto::limits::*;
use claude_peers_proto::names::PeerName;
use claude_peers_proto::stream::ClientFrame;
use claude_peers_proto::{text, validate};
use proptest::prelude::*;
use serde_json::Value;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

/// Arbitrary JSON, including deep nesting, huge numbers and odd strings.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        any::<u64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        "[a-z_]{1,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("to".to_string()),
                    Just("text".to_string()),
                    Just("pid".to_string()),
                    Just("cwd".to_string()),
                    Just("name".to_string()),
                    Just("scope".to_string()),
                    Just("ids".to_string()),
                    Just("emoji".to_string()),
                    Just("msg_type".to_string()),
                    Just("title".to_string()),
                    Just("files".to_string()),
                    Just("vote".to_string()),
                    Just("key".to_string()),
                    Just("value".to_string()),
                    Just("status".to_string()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..8
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Parse `v` as every request type; none may panic.
fn parse_all_values(v: &Value) {
    macro_rules! each {
        ($($t:ty),* $(,)?) => { $( let _ = serde_json::from_value::<$t>(v.clone()); )* };
    }
    each!(
        RegisterRequest,
        UpdateMe,
        LeaveQuery,
        ListPeersQuery,
        ContextSnapshot,
        SendRequest,
        BroadcastRequest,
        BroadcastOrigin,
        ReadRequest,
        PageQuery,
        PinRequest,
        ReactRequest,
        CreateGroup,
        AssignGroup,
        ShutdownRequest,
        LoginRequest,
        ClientFrame,
        StructuredRequest,
        PostDecision,
        DecisionQuery,
        ListQuery<claude_peers_proto::coord::TaskStatus>,
        RequestVerification,
        RespondVerification,
        CreateProposal,
        CastVote,
        CreateTask,
        CompleteTask,
        RequestApproval,
        RespondApproval,
        SetActiveFiles,
        SessionQuery,
        AuditQuery,
    );
}

fn parse_all_bytes(b: &[u8]) {
    macro_rules! each {
        ($($t:ty),* $(,)?) => { $( let _ = serde_json::from_slice::<$t>(b); )* };
    }
    each!(
        RegisterRequest,
        UpdateMe,
        SendRequest,
        BroadcastRequest,
        ReadRequest,
        PinRequest,
        ReactRequest,
        CreateGroup,
        AssignGroup,
        ShutdownRequest,
        LoginRequest,
        ClientFrame,
        StructuredRequest,
        PostDecision,
        RequestVerification,
        RespondVerification,
        CreateProposal,
        CastVote,
        CreateTask,
        CompleteTask,
        RequestApproval,
        RespondApproval,
        SetActiveFiles,
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics_any_request_type(v in json()) {
        parse_all_values(&v);
    }

    #[test]
    fn arbitrary_bytes_never_panic_any_request_type(b in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_all_bytes(&b);
    }

    #[test]
    fn cleaned_text_has_no_controls_and_cleaning_is_idempotent(s in any::<String>()) {
        let c = text::clean(&s);
        prop_assert!(c.chars().all(|ch| ch == '\n' || ch == '\t' || !ch.is_control()));
        prop_assert_eq!(text::clean(&c), c.clone());
        let line = text::clean_line(&s);
        prop_assert!(!line.contains('\n') && !line.contains('\t'));
    }

    #[test]
    fn defused_text_never_opens_or_closes_a_channel_block(prefix in ".{0,20}", tag in "(?i)</?channel", suffix in ".{0,20}") {
        let s = format!("{prefix}{tag}{suffix}{tag}");
        let d = text::defuse_channel_tags(&s).to_ascii_lowercase();
        prop_assert!(!d.contains("<channel") && !d.contains("</channel"), "{}", d);
    }

    #[test]
    fn validated_message_text_respects_its_limit(s in ".{0,200}", n in 0usize..(MAX_MESSAGE_BYTES + 100)) {
        let big = s.repeat(n / s.len().max(1) + 1);
        match validate::message_text("text", &big) {
            Ok(t) => prop_assert!(t.len() <= MAX_MESSAGE_BYTES && !t.trim().is_empty()),
            Err(e) => prop_assert!(!e.message.is_empty()),
        }
    }

    #[test]
    fn validated_lines_and_lists_respect_their_limits(s in any::<String>(), v in json(), max in 1usize..64) {
        if let Ok(l) = validate::line("f", &s, max) {
            prop_assert!(l.len() <= max && !l.contains('\n'));
        }
        if let Ok(items) = validate::string_list("f", Some(&v), 5, max) {
            prop_assert!(items.len() <= 5);
            prop_assert!(items.iter().all(|i| i.len() <= max));
        }
        let _ = validate::votes_required(Some(&v));
        let _ = validate::json_kind(&v);
    }

    #[test]
    fn accepted_names_follow_the_rule(s in any::<String>()) {
        if let Ok(n) = PeerName::parse(&s) {
            let n = n.as_str();
            prop_assert!(!n.is_empty() && n.chars().count() <= MAX_NAME_CHARS);
            prop_assert!(n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        }
    }

    #[test]
    fn context_snapshots_are_capped(files in prop::collection::vec(any::<String>(), 0..30), summary in any::<String>()) {
        let ctx = ContextSnapshot { branch: None, recent_files: files, summary, cwd: String::new() };
        if let Ok(c) = validate::context(&ctx) {
            prop_assert!(c.recent_files.len() <= MAX_CONTEXT_FILES);
            prop_assert!(c.summary.len() <= MAX_SUMMARY_BYTES);
        }
    }
}

#[test]
fn deeply_nested_json_is_refused_without_a_crash() {
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    parse_all_bytes(deep.as_bytes());
    let obj = "{\"to\":".repeat(10_000);
    parse_all_bytes(obj.as_bytes());
}
