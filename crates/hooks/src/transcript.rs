//! Reading the session's transcript (`transcript_path`) for claude-peers
//! channel messages: when one is there, the session's channel works, and the
//! messages found were shown by it.

use std::io::{Read, Seek, SeekFrom};

/// How much of the transcript's end is read.
pub const TAIL_BYTES: u64 = 256 * 1024;
/// Most ids reported at once.
const MAX_IDS: usize = 500;

/// Ids of claude-peers channel messages in the last [`TAIL_BYTES`] of the file.
pub fn channel_ids(path: &str) -> Vec<i64> {
    let Ok(mut f) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    if f.seek(SeekFrom::Start(len.saturating_sub(TAIL_BYTES)))
        .is_err()
    {
        return Vec::new();
    }
    let mut buf = Vec::new();
    if f.take(TAIL_BYTES).read_to_end(&mut buf).is_err() {
        return Vec::new();
    }
    ids_in(&String::from_utf8_lossy(&buf))
}

/// The `message_id` of every `<channel source="claude-peers" …>` opening tag
/// in `text`, written plainly or JSON-escaped (`\"`).
pub fn ids_in(text: &str) -> Vec<i64> {
    let plain = text.replace("\\\"", "\"");
    let mut out = Vec::new();
    let mut rest = plain.as_str();
    while let Some(at) = rest.find("<channel source=\"claude-peers\"") {
        let tag_end = rest[at..].find('>').map(|e| at + e).unwrap_or(rest.len());
        let tag = &rest[at..tag_end];
        if let Some(v) = tag.split("message_id=\"").nth(1)
            && let Some(num) = v.split('"').next()
            && let Ok(id) = num.parse::<i64>()
            && !out.contains(&id)
        {
            out.push(id);
            if out.len() >= MAX_IDS {
                break;
            }
        }
        rest = &rest[tag_end.min(rest.len())..];
        if rest.is_empty() {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_ids_plain_and_escaped() {
        let line = r#"{"type":"user","message":{"content":"<channel source=\"claude-peers\" from=\"claude-2\" message_id=\"42\">\nhi\n</channel>"}}"#;
        assert_eq!(ids_in(line), vec![42]);
        let plain = "<channel source=\"claude-peers\" message_id=\"7\">x</channel> <channel source=\"other\" message_id=\"8\">";
        assert_eq!(ids_in(plain), vec![7]);
        assert!(ids_in("nothing here").is_empty());
    }
}
