//! Naming rules for peers and groups: one place, used by every path.
//!
//! - A peer name is 1-32 characters of `[A-Za-z0-9_-]`, unique case-insensitively
//!   within its namespace (its group, or the lobby).
//! - A default name is `claude-N`; a new peer takes the lowest N not used in its
//!   namespace, so freed numbers are reused.
//! - `dashboard`, `cli` and `system` are reserved: they name the person at the
//!   dashboard, the person at the CLI, and the broker itself.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::limits::MAX_NAME_CHARS;

/// Prefix of default peer names.
pub const DEFAULT_PREFIX: &str = "claude-";

/// The person at the dashboard. As a recipient (`send_message`) or as an
/// approver or verifier, it addresses the operator.
pub const DASHBOARD: &str = "dashboard";
/// The person at the CLI: the operator too, addressed the same ways.
pub const CLI: &str = "cli";
/// The broker itself.
pub const SYSTEM: &str = "system";

/// Names no peer may take.
pub const RESERVED: &[&str] = &[DASHBOARD, CLI, SYSTEM];

/// The operator name `raw` spells ([`DASHBOARD`] or [`CLI`], any case,
/// surrounding whitespace ignored), or `None` if it names no operator.
pub fn operator_name(raw: &str) -> Option<&'static str> {
    let raw = raw.trim();
    [DASHBOARD, CLI]
        .into_iter()
        .find(|n| n.eq_ignore_ascii_case(raw))
}

/// Why a proposed name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("a name cannot be empty")]
    Empty,
    #[error("a name can have at most {MAX_NAME_CHARS} characters (this one has {0})")]
    TooLong(usize),
    #[error("a name can only contain letters, digits, '-' and '_' (found {0:?})")]
    BadChar(char),
    #[error("{0:?} is reserved")]
    Reserved(String),
}

/// A valid peer name. Only [`PeerName::parse`] and [`PeerName::default_for`]
/// make one, so holding a `PeerName` means holding a valid name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PeerName(String);

impl PeerName {
    /// Validate a proposed name (surrounding whitespace is ignored).
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let name = raw.trim();
        validate_charset(name)?;
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(NameError::Reserved(name.to_string()));
        }
        Ok(Self(name.to_string()))
    }

    /// The default name for slot `n` (`claude-n`).
    pub fn default_for(slot: u32) -> Self {
        Self(format!("{DEFAULT_PREFIX}{slot}"))
    }

    /// The key that uniqueness is checked on (names are unique case-insensitively).
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    /// The slot this name occupies if it has the default shape.
    pub fn slot(&self) -> Option<u32> {
        default_slot(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PeerName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PeerName::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Check the character set and length shared by peer and manual group names.
pub fn validate_charset(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let chars = name.chars().count();
    if chars > MAX_NAME_CHARS {
        return Err(NameError::TooLong(chars));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(NameError::BadChar(c));
    }
    Ok(())
}

/// The slot number of a name of the exact shape `claude-N` (N ≥ 1, no leading
/// zero), compared case-insensitively; `None` for any other name.
pub fn default_slot(name: &str) -> Option<u32> {
    let lower = name.to_ascii_lowercase();
    let digits = lower.strip_prefix(DEFAULT_PREFIX)?;
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n >= 1)
}

/// The lowest slot ≥ 1 not in `used`. Duplicates and any order are fine.
pub fn lowest_free_slot(used: impl IntoIterator<Item = u32>) -> u32 {
    let mut used: Vec<u32> = used.into_iter().collect();
    used.sort_unstable();
    used.dedup();
    let mut slot = 1;
    for n in used {
        if n == slot {
            slot += 1;
        } else if n > slot {
            break;
        }
    }
    slot
}

/// Validate a manual group name: the peer-name character set, and not `lobby`.
pub fn validate_group_name(raw: &str) -> Result<String, NameError> {
    let name = raw.trim();
    validate_charset(name)?;
    if name.eq_ignore_ascii_case("lobby") {
        return Err(NameError::Reserved(name.to_string()));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_charset() {
        for ok in ["a", "frontend-1", "api_worker", "X9", &"a".repeat(32)] {
            assert!(PeerName::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(PeerName::parse("  padded  ").unwrap().as_str(), "padded");
    }

    #[test]
    fn refuses_bad_names_with_a_reason() {
        assert_eq!(PeerName::parse(""), Err(NameError::Empty));
        assert_eq!(PeerName::parse("   "), Err(NameError::Empty));
        assert_eq!(
            PeerName::parse(&"a".repeat(33)),
            Err(NameError::TooLong(33))
        );
        assert_eq!(PeerName::parse("has spaces!"), Err(NameError::BadChar(' ')));
        assert_eq!(PeerName::parse("émile"), Err(NameError::BadChar('é')));
        assert_eq!(PeerName::parse("a/b"), Err(NameError::BadChar('/')));
        assert!(matches!(
            PeerName::parse("Dashboard"),
            Err(NameError::Reserved(_))
        ));
        assert!(matches!(
            PeerName::parse("cli"),
            Err(NameError::Reserved(_))
        ));
    }

    #[test]
    fn the_operator_is_addressed_as_dashboard_or_cli() {
        assert_eq!(operator_name(" Dashboard "), Some(DASHBOARD));
        assert_eq!(operator_name("CLI"), Some(CLI));
        assert_eq!(operator_name("system"), None);
        assert_eq!(operator_name("operator"), None);
        assert_eq!(operator_name("claude-1"), None);
        // Every operator name is reserved: no peer can take one.
        for n in [DASHBOARD, CLI] {
            assert!(matches!(PeerName::parse(n), Err(NameError::Reserved(_))));
        }
    }

    #[test]
    fn names_compare_case_insensitively() {
        assert_eq!(PeerName::parse("Alice").unwrap().key(), "alice");
    }

    #[test]
    fn default_slots_need_the_exact_shape() {
        assert_eq!(default_slot("claude-1"), Some(1));
        assert_eq!(default_slot("Claude-12"), Some(12));
        assert_eq!(default_slot("claude-0"), None);
        assert_eq!(default_slot("claude-01"), None);
        assert_eq!(default_slot("claude-2abc"), None);
        assert_eq!(default_slot("claude-"), None);
        assert_eq!(default_slot("claude-99999999999"), None);
        assert_eq!(default_slot("frontend"), None);
        assert_eq!(PeerName::default_for(3).slot(), Some(3));
    }

    #[test]
    fn lowest_free_slot_reuses_freed_numbers() {
        assert_eq!(lowest_free_slot([]), 1);
        assert_eq!(lowest_free_slot([1, 2, 3]), 4);
        assert_eq!(lowest_free_slot([2, 3]), 1);
        assert_eq!(lowest_free_slot([1, 3]), 2);
        assert_eq!(lowest_free_slot([3, 1, 1, 2, 2]), 4);
        assert_eq!(lowest_free_slot([5, 1]), 2);
    }

    #[test]
    fn group_names_follow_the_same_charset() {
        assert_eq!(validate_group_name(" team-a ").unwrap(), "team-a");
        assert!(validate_group_name("lobby").is_err());
        assert!(validate_group_name("a b").is_err());
        assert!(validate_group_name("").is_err());
    }
}
