//! What this MCP server knows of the session's inbox: the unread message ids
//! it received, and those it knows the session was shown (by this process, or
//! by any rung, as the broker's replay says), so it never pushes one twice.

use std::collections::{BTreeSet, HashSet, VecDeque};

/// Message ids remembered as shown.
const SHOWN_CAP: usize = 100_000;

/// Most ids the unread line lists.
const LINE_IDS: usize = 10;

#[derive(Default)]
pub struct Inbox {
    /// Received and not read.
    pub unread: BTreeSet<i64>,
    /// Shown to the session.
    shown: HashSet<i64>,
    shown_order: VecDeque<i64>,
}

impl Inbox {
    pub fn is_shown(&self, id: i64) -> bool {
        self.shown.contains(&id)
    }

    pub fn mark_shown(&mut self, id: i64) {
        if self.shown.insert(id) {
            self.shown_order.push_back(id);
            if self.shown_order.len() > SHOWN_CAP
                && let Some(old) = self.shown_order.pop_front()
            {
                self.shown.remove(&old);
            }
        }
    }

    /// These were read: no longer unread, never to be pushed.
    pub fn mark_read(&mut self, ids: &[i64]) {
        for id in ids {
            self.unread.remove(id);
            self.mark_shown(*id);
        }
    }
}

/// The one-line reminder appended to tool results while messages are unread.
pub fn unread_line(ids: &[i64]) -> Option<String> {
    if ids.is_empty() {
        return None;
    }
    let list: Vec<String> = ids.iter().take(LINE_IDS).map(|i| format!("#{i}")).collect();
    let more = if ids.len() > LINE_IDS { ", …" } else { "" };
    Some(format!(
        "[claude-peers] {} unread message{} ({}{more}): call check_messages to read them, or ack_message once handled.",
        ids.len(),
        if ids.len() == 1 { "" } else { "s" },
        list.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_messages_are_shown_and_not_unread() {
        let mut i = Inbox::default();
        i.unread.insert(3);
        i.mark_read(&[3]);
        assert!(i.unread.is_empty());
        assert!(i.is_shown(3));
    }

    #[test]
    fn the_line_lists_ten_ids_at_most() {
        assert_eq!(unread_line(&[]), None);
        let ids: Vec<i64> = (1..=12).collect();
        let line = unread_line(&ids).unwrap();
        assert!(line.contains("12 unread messages"));
        assert!(line.contains("#10, …"));
        assert!(!line.contains("#11"));
    }
}
