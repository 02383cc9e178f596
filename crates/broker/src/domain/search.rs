//! Full-text search over messages: on SQLite an FTS5 index of message text
//! (written in the transaction that stores the message, see `store/fts.rs`)
//! ranked by BM25; on PostgreSQL a GIN index over `to_tsvector('simple',
//! text)` ranked by `ts_rank`; with a snippet around each hit. A peer finds
//! only what it may see ([`threads::SEES_SQL`]: its own sends and receipts,
//! as history); the operator finds everything.

use crate::runtime::store::sql::{self, Connection, Engine, named_params};
use claude_peers_proto::api::{SearchHit, SearchQuery};
use claude_peers_proto::limits::{DEFAULT_SEARCH_HITS, MAX_SEARCH_HITS, SNIPPET_WORDS};
use claude_peers_proto::time::{now_ms, parse_since};
use claude_peers_proto::{ApiError, validate};

use crate::domain::messages::views;
use crate::domain::peers;
use crate::domain::peers::standing;
use crate::domain::rules::Actor;
use crate::domain::threads::SEES_SQL;
use crate::error::Result;

/// The PostgreSQL `tsquery` for a query, with the same meaning as
/// [`expression`]: every word or phrase (`<->` between its words), the last
/// word also as a prefix (`:*`).
pub fn ts_expression(terms: &[String]) -> String {
    let last = terms.len().saturating_sub(1);
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let words: Vec<&str> = t.split_whitespace().collect();
            if i == last && words.len() == 1 {
                format!("{}:*", words[0])
            } else {
                words.join(" <-> ")
            }
        })
        .collect::<Vec<_>>()
        .join(" & ")
}

/// The FTS5 expression for a query: every word (or quoted phrase) must
/// match; the last word also matches as a prefix (`sess` finds `session`).
/// Terms hold only letters, digits and spaces, so quoting them is enough to
/// keep FTS5 syntax out of people's words.
pub fn expression(terms: &[String]) -> String {
    let last = terms.len().saturating_sub(1);
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if i == last && !t.contains(' ') {
                format!("\"{t}\"*")
            } else {
                format!("\"{t}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Search the messages `actor` may see.
pub fn search(conn: &Connection, actor: &Actor, q: &SearchQuery) -> Result<Vec<SearchHit>> {
    let terms = validate::search_terms("q", &q.q)?;
    let limit = validate::page(q.limit, DEFAULT_SEARCH_HITS)?.min(MAX_SEARCH_HITS);
    let since = match q.since.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(raw) => Some(parse_since(raw, now_ms()).ok_or_else(|| {
            ApiError::invalid(
                "since",
                format!("'since' must be a time like 2026-11-27T10:00:00Z or 2026-11-27, or a span like 30m, 2h, 7d (got {raw:?})"),
            )
        })?),
        None => None,
    };
    let (stand, _) = standing(conn, actor)?;
    let who = match actor {
        Actor::Peer(id) => Some(id.clone()),
        Actor::Operator(_) => None,
    };
    let from = q.from.as_deref().map(str::trim).filter(|f| !f.is_empty());
    // A peer it can reach now, by name or id; else the raw name or id (a
    // departed sender, or `dashboard` / `cli`).
    let from_id = from.and_then(|f| peers::resolve(conn, &stand, f).ok().map(|p| p.id));
    let (sql, expr) = match conn.engine() {
        Engine::Sqlite => (
            format!(
                "SELECT m.id, snippet(messages_fts, 0, '[', ']', '…', {SNIPPET_WORDS}), bm25(messages_fts)
         FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid
         WHERE messages_fts MATCH :expr AND {SEES_SQL}
           AND (:from IS NULL OR m.from_id = :from_id OR m.from_id = :from OR m.from_name = :from COLLATE NOCASE)
           AND (:thread IS NULL OR m.id = :thread OR m.thread_id = :thread)
           AND (:since IS NULL OR m.sent_at >= :since)
         ORDER BY bm25(messages_fts), m.id DESC LIMIT :limit"
            ),
            expression(&terms),
        ),
        Engine::Postgres => (
            format!(
                "SELECT m.id,
                ts_headline('simple', m.text, to_tsquery('simple', :expr),
                  'StartSel=[, StopSel=], MaxWords={SNIPPET_WORDS}, MinWords={}, ShortWord=0'),
                -ts_rank(to_tsvector('simple', m.text), to_tsquery('simple', :expr)) AS rank
         FROM messages m
         WHERE to_tsvector('simple', m.text) @@ to_tsquery('simple', :expr) AND {SEES_SQL}
           AND (:from IS NULL OR m.from_id = :from_id OR m.from_id = :from OR lower(m.from_name) = lower(:from))
           AND (:thread IS NULL OR m.id = :thread OR m.thread_id = :thread)
           AND (:since IS NULL OR m.sent_at >= :since)
         ORDER BY rank, m.id DESC LIMIT :limit",
                SNIPPET_WORDS - 1
            ),
            ts_expression(&terms),
        ),
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows: Vec<(i64, String, f64)> = stmt
        .query_map(
            named_params! {
                ":expr": expr,
                ":who": who,
                ":from": from,
                ":from_id": from_id,
                ":thread": q.thread,
                ":since": since,
                ":limit": limit,
            },
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?
        .collect::<sql::Result<_>>()?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let views = views::views_for(conn, ids, actor)?;
    Ok(rows
        .into_iter()
        .zip(views)
        .map(|((_, snippet, rank), message)| SearchHit {
            message,
            snippet,
            rank,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_word_is_a_prefix_and_phrases_stay_whole() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(expression(&t(&["session", "api"])), "\"session\" \"api\"*");
        assert_eq!(
            expression(&t(&["rate limit", "why"])),
            "\"rate limit\" \"why\"*"
        );
        assert_eq!(expression(&t(&["rate limit"])), "\"rate limit\"");
        assert_eq!(ts_expression(&t(&["session", "api"])), "session & api:*");
        assert_eq!(
            ts_expression(&t(&["rate limit", "why"])),
            "rate <-> limit & why:*"
        );
        assert_eq!(ts_expression(&t(&["rate limit"])), "rate <-> limit");
    }
}
