//! Acting on a stored message: pins and reactions, by its sender, a
//! recipient or the operator.

use std::sync::Arc;

use crate::runtime::store::sql::{Connection, OptionalExtension, params};
use claude_peers_proto::ApiError;
use claude_peers_proto::api::Party;
use claude_peers_proto::emoji::{is_reaction, reaction_list};
use claude_peers_proto::limits::PIN_PREVIEW_CHARS;
use claude_peers_proto::stream::Event;

use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::messages::views::{MessageRow, load};
use crate::domain::peers::rows as peers;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::runtime::hub::Effect;
use crate::runtime::store::Tx;

/// The message if `actor` may act on it (its sender, a recipient, or the operator).
fn visible_to(conn: &Connection, actor: &Actor, id: i64) -> Result<MessageRow> {
    let m =
        load(conn, id)?.ok_or_else(|| ApiError::not_found(format!("no message with id {id}")))?;
    match actor {
        Actor::Operator(_) => Ok(m),
        Actor::Peer(me) => {
            let recipient = conn
                .prepare_cached(
                    "SELECT 1 FROM deliveries WHERE recipient_id = ?1 AND message_id = ?2",
                )?
                .query_row(params![me, id], |_| Ok(()))
                .optional()?
                .is_some();
            if m.from.id == *me || recipient {
                Ok(m)
            } else {
                Err(ApiError::not_found(format!(
                    "no message with id {id} that you sent or received"
                ))
                .into())
            }
        }
    }
}

fn actor_as_party(conn: &Connection, actor: &Actor) -> Result<Party> {
    Ok(match actor {
        Actor::Peer(id) => peers::require(conn, id)?.party(),
        other => other.party(),
    })
}

/// Pin or unpin a message.
pub fn pin(t: &mut Tx<'_>, sh: &Arc<Shared>, actor: &Actor, id: i64, pinned: bool) -> Result<()> {
    let m = visible_to(t.conn, actor, id)?;
    t.conn.execute(
        "UPDATE messages SET pinned = ?2 WHERE id = ?1",
        params![id, pinned],
    )?;
    let who = actor_as_party(t.conn, actor)?;
    let preview: String = m.text.chars().take(PIN_PREVIEW_CHARS).collect();
    audit::record(
        t,
        &sh.hub,
        &who,
        if pinned {
            "message.pin"
        } else {
            "message.unpin"
        },
        &format!("#{id}: {preview}"),
        m.group_id.as_deref(),
    )?;
    t.effect(Effect::event(Event::Pin {
        message_id: id,
        pinned,
    }));
    Ok(())
}

/// Add or remove a reaction.
pub fn react(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    id: i64,
    emoji: &str,
    remove: bool,
) -> Result<()> {
    if !is_reaction(emoji) {
        return Err(ApiError::invalid(
            "emoji",
            format!("invalid emoji {emoji:?}; use one of {}", reaction_list()),
        )
        .into());
    }
    let m = visible_to(t.conn, actor, id)?;
    let who = actor_as_party(t.conn, actor)?;
    let changed = if remove {
        t.conn.execute(
            "DELETE FROM reactions WHERE message_id = ?1 AND party_id = ?2 AND emoji = ?3",
            params![id, who.id, emoji],
        )?
    } else {
        t.conn.execute(
            "INSERT OR IGNORE INTO reactions (message_id, party_id, party_kind, party_name, emoji, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, who.id, who.kind.as_str(), who.name, emoji, t.now],
        )?
    };
    if changed > 0 {
        audit::record(
            t,
            &sh.hub,
            &who,
            if remove {
                "reaction.remove"
            } else {
                "reaction.add"
            },
            &format!("{emoji} on #{id}"),
            m.group_id.as_deref(),
        )?;
        t.effect(Effect::event(Event::Reaction {
            message_id: id,
            emoji: emoji.to_string(),
            by: who,
            added: !remove,
        }));
    }
    Ok(())
}
