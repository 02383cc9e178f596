//! The loop guard: agents answering each other forever are held, never
//! silenced.
//!
//! Every counted message (an agent's message, broadcast or structured message
//! to other agents) carries its depth in a *chain*: the chain of agent-to-agent
//! messages since a person last wrote. A peer stands at the depth of the
//! deepest counted message it received since then; what it sends next is one
//! deeper, in the same chain. A message from a person (dashboard, CLI) to a
//! peer puts that peer back at zero. A message deeper than the limit is
//! stored but *held*: no delivery yet, the sender is told why, the operator is
//! told (event [`Event::Held`]); releasing the chain (`messages::release`)
//! delivers every held message and puts the chain's peers back at zero.
//!
//! Never counted, so never held: status updates (`status: true`), messages to
//! a person, notices of the broker and of coordination features (task,
//! verification, proposal state changes), and everything that is not a
//! message (presence, summaries, `set_status`, acknowledgements).
//!
//! The per-pair rate limit (one agent to one other, per minute) lives here too.

use crate::runtime::store::sql::{self, Connection, OptionalExtension, params};
use claude_peers_proto::ApiError;
use claude_peers_proto::api::{HeldChain, HeldNotice, Party, PartyKind};
use claude_peers_proto::limits::TEXT_PREVIEW_CHARS;
use claude_peers_proto::stream::Event;
use claude_peers_proto::time::rfc3339;

use crate::domain::context::Shared;
use crate::domain::peers::rows::PeerRow;
use crate::error::Result;
use crate::runtime::hub::Effect;
use crate::runtime::store::Tx;

/// Where a counted message stands in its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// `None`: the message starts a chain (named by its own id).
    pub chain_id: Option<i64>,
    pub depth: u32,
    /// Deeper than the limit: store it, deliver nothing.
    pub hold: bool,
}

/// Where a peer stands in the chains: its chain and depth, `None` at zero.
pub type At = Option<(i64, u32)>;

/// The SQL of a peer's place in the chains (`?1`: the peer's id); a
/// send reads it with the peer's row (`peers::resolve::lookup`).
pub const CHAIN_OF: &str = "SELECT chain_id, depth FROM chains WHERE peer_id = ?1";

/// The step of a counted message from peer `from`, with the broker's `limit`
/// (0 = no guard).
pub fn step(conn: &Connection, from: &str, limit: u32) -> Result<Step> {
    let at: At = conn
        .prepare_cached(CHAIN_OF)?
        .query_row([from], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(step_at(at, limit))
}

/// The step of a counted message from a peer standing `at`.
pub fn step_at(at: At, limit: u32) -> Step {
    let (chain_id, depth) = match at {
        Some((chain, depth)) => (Some(chain), depth.saturating_add(1)),
        None => (None, 1),
    };
    Step {
        chain_id,
        depth,
        hold: limit > 0 && depth > limit,
    }
}

/// A counted message `id` was stored and delivered to `recipients`: each of
/// them now stands at least at its depth (written deferred: no answer is
/// needed).
pub fn advance(t: &mut Tx<'_>, id: i64, step: Step, recipients: &[PeerRow]) -> Result<()> {
    let chain = step.chain_id.unwrap_or(id);
    let mut stmt = t.conn.prepare_cached(
        "INSERT INTO chains (peer_id, chain_id, depth) VALUES (?1, ?2, ?3)
         ON CONFLICT (peer_id) DO UPDATE SET chain_id = excluded.chain_id, depth = excluded.depth
         WHERE excluded.depth > chains.depth",
    )?;
    for r in recipients {
        stmt.execute_deferred(params![r.id, chain, step.depth])?;
    }
    Ok(())
}

/// A person wrote to these peers: they stand at zero again (written
/// deferred).
pub fn reset(t: &mut Tx<'_>, peers: &[PeerRow]) -> Result<()> {
    let mut stmt = t
        .conn
        .prepare_cached("DELETE FROM chains WHERE peer_id = ?1")?;
    for p in peers {
        stmt.execute_deferred([&p.id])?;
    }
    Ok(())
}

/// Hold the stored message `id` (from `from`, for `recipients`): no delivery
/// until the chain is released. Tells the operator; returns what to tell the
/// sender.
pub fn hold(
    t: &mut Tx<'_>,
    sh: &Shared,
    id: i64,
    step: Step,
    recipients: &[PeerRow],
) -> Result<HeldNotice> {
    let chain = step.chain_id.unwrap_or(id);
    let to: Vec<(&str, &str)> = recipients
        .iter()
        .map(|r| (r.id.as_str(), r.name.as_str()))
        .collect();
    let to_json =
        serde_json::to_string(&to).map_err(|e| crate::error::Error::Internal(e.to_string()))?;
    t.conn
        .prepare_cached(
            "INSERT INTO held (message_id, chain_id, recipients, held_at) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![id, chain, to_json, t.now])?;
    if let Some(view) = chain_view(t.conn, sh, chain)? {
        t.effect(Effect::event(Event::Held { chain: view }));
    }
    let limit = sh.config.limits.chain_limit;
    let names: Vec<&str> = recipients.iter().map(|r| r.name.as_str()).collect();
    Ok(HeldNotice {
        chain_id: chain,
        depth: step.depth,
        limit,
        reason: format!(
            "Message #{id} is held, not delivered: it would be message {} in a chain of agent-to-agent \
             messages without a person in between (the limit is {limit}), so the broker suspects a loop. \
             It is stored, not lost: {} will receive it as soon as a person releases the chain \
             (dashboard, or `claude-peers release {chain}`). Meanwhile status updates \
             (send_message with status=true) still go through; stop replying in this chain and wait for a person.",
            step.depth,
            names.join(", "),
        ),
    })
}

/// Every chain with held messages, the oldest first.
pub fn held(conn: &Connection, sh: &Shared) -> Result<Vec<HeldChain>> {
    let chains: Vec<i64> = conn
        .prepare_cached("SELECT chain_id FROM held GROUP BY chain_id ORDER BY min(message_id)")?
        .query_map([], |r| r.get(0))?
        .collect::<sql::Result<_>>()?;
    let mut out = Vec::with_capacity(chains.len());
    for c in chains {
        if let Some(v) = chain_view(conn, sh, c)? {
            out.push(v);
        }
    }
    Ok(out)
}

/// One held chain as the operator sees it (`None` if nothing is held in it).
fn chain_view(conn: &Connection, sh: &Shared, chain: i64) -> Result<Option<HeldChain>> {
    let rows: Vec<(i64, String, String, String, String, u32, i64)> = conn
        .prepare_cached(
            "SELECT h.message_id, h.recipients, m.from_id, m.from_name, m.text, m.chain_depth, h.held_at
             FROM held h JOIN messages m ON m.id = h.message_id
             WHERE h.chain_id = ?1 ORDER BY h.message_id",
        )?
        .query_map([chain], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<sql::Result<_>>()?;
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return Ok(None);
    };
    let mut peers: Vec<Party> = Vec::new();
    let mut add = |id: String, name: String| {
        if !peers.iter().any(|p| p.id == id) {
            peers.push(Party {
                kind: PartyKind::Peer,
                id,
                name,
            });
        }
    };
    for (_, to, from_id, from_name, _, _, _) in &rows {
        add(from_id.clone(), from_name.clone());
        for (id, name) in recipients(to) {
            add(id, name);
        }
    }
    Ok(Some(HeldChain {
        chain_id: chain,
        peers,
        held: rows.len() as u32,
        depth: rows.iter().map(|r| r.5).max().unwrap_or(0),
        limit: sh.config.limits.chain_limit,
        since: rfc3339(first.6),
        preview: claude_peers_proto::text::preview(&last.4, TEXT_PREVIEW_CHARS),
    }))
}

/// The recipients (id, name) of a held message, as stored.
pub fn recipients(json: &str) -> Vec<(String, String)> {
    serde_json::from_str(json).unwrap_or_default()
}

/// Apply the per-pair rate limit: `from` may send `to` at most the
/// configured number of messages per minute.
pub fn check_pair(sh: &Shared, from: &PeerRow, to: &PeerRow) -> Result<()> {
    let key = format!("{}\u{1f}{}", from.id, to.id);
    if let Err(ms) = sh.pairs.take(&key) {
        return Err(ApiError::rate_limited(
            format!(
                "rate limited: at most {} messages per minute to {}; retry in {:.1} s",
                sh.pairs.capacity(),
                to.name,
                ms as f64 / 1000.0
            ),
            ms,
        )
        .into());
    }
    Ok(())
}
