//! The eight reactions a message can carry (the seed's set, exactly).

/// 👍 👀 ✅ ⚠️ ❌ 🎉 ❤️ 🤔 — ⚠️ and ❤️ include the variation selector U+FE0F.
pub const REACTIONS: [&str; 8] = [
    "\u{1F44D}",
    "\u{1F440}",
    "\u{2705}",
    "\u{26A0}\u{FE0F}",
    "\u{274C}",
    "\u{1F389}",
    "\u{2764}\u{FE0F}",
    "\u{1F914}",
];

/// Whether `emoji` is one of [`REACTIONS`].
pub fn is_reaction(emoji: &str) -> bool {
    REACTIONS.contains(&emoji)
}

/// The set as one line, for error messages and tool descriptions.
pub fn reaction_list() -> String {
    REACTIONS.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_eight() {
        assert!(is_reaction("👍"));
        assert!(is_reaction("⚠️"));
        assert!(!is_reaction("\u{26A0}"), "bare warning sign lacks U+FE0F");
        assert!(!is_reaction("\u{2764}"));
        assert!(!is_reaction("💩"));
        assert_eq!(reaction_list(), "👍 👀 ✅ ⚠️ ❌ 🎉 ❤️ 🤔");
    }
}
