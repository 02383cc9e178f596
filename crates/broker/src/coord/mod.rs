//! What the coordination features share: who is calling ([`Caller`]), record
//! ids, which groups a listing covers ([`GroupFilter`]), how parties and groups
//! of a record are shown, and notifications (ordinary messages, pushed to the
//! peers concerned). Isolation is [`can_reach`], as everywhere.

pub mod addressed;
pub mod approvals;
pub mod decisions;
pub mod files;
pub mod needs_you;
pub mod proposals;
pub mod record;
pub mod report;
pub mod structured;
pub mod tasks;
pub mod verifications;

use std::sync::Arc;

use crate::runtime::store::sql::{self, Connection, OptionalExtension};
use claude_peers_proto::api::{GroupRef, Party, PartyKind};
use claude_peers_proto::limits::DEFAULT_COORD_PAGE;
use claude_peers_proto::{ApiError, validate};

use crate::domain::context::Shared;
use crate::domain::groups;
use crate::domain::messages::{self, Conversation, Post, Sender, To};
use crate::domain::peers::standing;
use crate::domain::peers::{self, PeerRow};
pub use crate::domain::rules::GroupFilter;
use crate::domain::rules::{Actor, OperatorKind, Standing, can_reach};
use crate::domain::threads;
use crate::error::{Error, Result};
use crate::runtime::ids;
use crate::runtime::store::Tx;

/// The caller of a coordination action: its actor, where it stands, and its
/// peer row if it is a peer.
pub struct Caller {
    pub actor: Actor,
    pub standing: Standing,
    pub me: Option<PeerRow>,
}

impl Caller {
    pub fn load(conn: &Connection, actor: &Actor) -> Result<Self> {
        let (standing, me) = standing(conn, actor)?;
        Ok(Self {
            actor: actor.clone(),
            standing,
            me,
        })
    }

    /// The caller as a party (current peer name, or `dashboard`/`cli`).
    pub fn party(&self) -> Party {
        match &self.me {
            Some(p) => p.party(),
            None => self.actor.party(),
        }
    }

    /// The caller as the sender of a notification.
    pub fn sender(&self) -> Sender<'_> {
        Sender::of(&self.actor, self.me.as_ref())
    }

    /// The caller's peer row, or an error saying only a peer can `what`.
    pub fn peer(&self, what: &str) -> Result<&PeerRow> {
        self.me.as_ref().ok_or_else(|| {
            ApiError::forbidden(format!(
                "only a peer can {what} (it is done within the peer's own group)"
            ))
            .into()
        })
    }

    pub fn is_operator(&self) -> bool {
        matches!(self.standing, Standing::Operator)
    }

    /// Whether the caller may see a record of `group`.
    pub fn may_see(&self, group: Option<&str>) -> bool {
        can_reach(&self.standing, group)
    }

    /// Whether the caller is the peer `id`.
    pub fn is(&self, id: &str) -> bool {
        self.me.as_ref().is_some_and(|m| m.id == id)
    }

    /// Whether the caller is `party`, the one a request is addressed to: that
    /// peer, or, for the person, the operator (dashboard login or admin
    /// token alike: one person, whichever name addressed it).
    pub fn is_party(&self, party: &Party) -> bool {
        self.actor.is(party)
    }

    /// Whom a request names in `field`: the person (`dashboard` or `cli`,
    /// as for a message) or a peer this caller may reach.
    pub fn address(&self, conn: &Connection, field: &str, target: &str) -> Result<Addressee> {
        match OperatorKind::named(target) {
            Some(kind) => Ok(Addressee::Operator(kind)),
            None => Ok(Addressee::Peer(Box::new(
                self.resolve(conn, field, target)?,
            ))),
        }
    }

    /// Resolve a peer this caller may reach (by name or id); a peer of another
    /// group is reported as such, never as a stranger.
    pub fn resolve(&self, conn: &Connection, field: &str, target: &str) -> Result<PeerRow> {
        if target.trim().is_empty() {
            return Err(ApiError::invalid(field, format!("'{field}' cannot be empty")).into());
        }
        peers::resolve(conn, &self.standing, target)
            .map_err(|e| peers::unreachable_error(conn, &self.standing, target, e))
    }
}

/// Whom an approval or verification request is addressed to.
pub enum Addressee {
    /// A peer of the requester's group.
    Peer(Box<PeerRow>),
    /// The person: the request waits in the "needs you" lane.
    Operator(OperatorKind),
}

impl Addressee {
    pub fn party(&self) -> Party {
        match self {
            Self::Peer(p) => p.party(),
            Self::Operator(k) => k.party(),
        }
    }

    /// The peers told of the request as a message: the peer, or nobody (the
    /// person sees it in the lane, and the webhook announces it).
    pub fn told(&self) -> &[PeerRow] {
        match self {
            Self::Peer(p) => std::slice::from_ref(p),
            Self::Operator(_) => &[],
        }
    }

    /// Whether it is the peer `me` (nobody answers their own request).
    pub fn is_peer(&self, me: &PeerRow) -> bool {
        matches!(self, Self::Peer(p) if p.id == me.id)
    }
}

/// The session a new record belongs to: this activity may begin a new one
/// (the 5-minute rule), exactly as a message would.
pub fn session(t: &mut Tx<'_>, sh: &Shared) -> Result<String> {
    crate::domain::sessions::on_activity(t, &sh.hub, &sh.activity)
}

/// A fresh record id: `prefix-` and six random characters.
pub fn new_id(conn: &Connection, table: &str, prefix: &str) -> Result<String> {
    loop {
        let id = format!("{prefix}-{}", ids::short_id(6));
        let taken = conn
            .prepare_cached(&format!("SELECT 1 FROM {table} WHERE id = ?1"))?
            .query_row([&id], |_| Ok(()))
            .optional()?
            .is_some();
        if !taken {
            return Ok(id);
        }
    }
}

/// An id as typed by an agent: trimmed, without backticks or a leading `#`.
pub fn clean_id(raw: &str) -> String {
    raw.trim()
        .trim_matches('`')
        .trim_start_matches('#')
        .trim()
        .to_string()
}

/// SQL giving the current name of a party whose kind, id and stored name are
/// columns `k`, `i`, `n` (a peer's current name while it exists).
pub fn name_sql(k: &str, i: &str, n: &str) -> String {
    format!(
        "CASE WHEN {k} = 'peer' THEN coalesce((SELECT name FROM peers WHERE id = {i}), {n}) ELSE {n} END"
    )
}

/// SQL giving the name of group column `g` (its id if the group was deleted).
pub fn group_name_sql(g: &str) -> String {
    format!("coalesce((SELECT name FROM groups WHERE id = {g}), {g})")
}

/// A party from its stored kind, id and name.
pub fn party(kind: &str, id: String, name: String) -> Party {
    Party {
        kind: PartyKind::parse_or_system(kind),
        id,
        name,
    }
}

/// A peer party from its id and name.
pub fn peer_party(id: String, name: String) -> Party {
    Party {
        kind: PartyKind::Peer,
        id,
        name,
    }
}

/// A group reference from a group id and its name.
pub fn group_ref(id: Option<String>, name: Option<String>) -> Option<GroupRef> {
    id.map(|id| GroupRef {
        name: name.unwrap_or_else(|| id.clone()),
        id,
    })
}

impl GroupFilter {
    /// The filter for `caller`: a peer sees its own namespace only; the
    /// operator sees all, or the group it asks for (`lobby` = the lobby).
    pub fn for_caller(conn: &Connection, caller: &Caller, asked: Option<&str>) -> Result<Self> {
        let asked = asked.map(str::trim).filter(|g| !g.is_empty());
        match (&caller.standing, asked) {
            (Standing::Member(_), None) => Ok(Self::of(&caller.standing)),
            (Standing::Member(_), Some(_)) => Err(ApiError::invalid(
                "group",
                "'group' is for the operator; a peer always sees its own group",
            )
            .into()),
            (Standing::Operator, None) => Ok(Self::of(&caller.standing)),
            (Standing::Operator, Some(g)) => Ok(Self::One(find_group(conn, g)?)),
        }
    }
}

/// A group by name or id (`lobby` = `None`).
pub fn find_group(conn: &Connection, g: &str) -> Result<Option<String>> {
    if g.trim().eq_ignore_ascii_case("lobby") {
        return Ok(None);
    }
    Ok(Some(groups::find(conn, g)?.ok_or_else(|| {
        ApiError::not_found(format!("no group {g:?}"))
    })?))
}

/// The page size of a listing.
pub fn page(limit: Option<u32>) -> Result<u32> {
    Ok(validate::page(limit, DEFAULT_COORD_PAGE)?)
}

/// The listed peers of a namespace, except some.
pub fn others_in(conn: &Connection, group: Option<&str>, except: &[&str]) -> Result<Vec<PeerRow>> {
    Ok(peers::in_namespace(conn, group)?
        .into_iter()
        .filter(|p| !except.contains(&p.id.as_str()))
        .collect())
}

/// Tell `to` something, as an ordinary message (stored, pushed, listed) with
/// a `msg_type` and metadata that reach the channel meta. Nobody → nothing.
/// The notices of one record (named by the `…_id` field of the metadata)
/// form one thread under the first of them. Notices are state changes: the
/// loop guard never counts them.
pub fn notify(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    from: Sender<'_>,
    to: &[PeerRow],
    text: String,
    msg_type: &str,
    metadata: serde_json::Value,
) -> Result<Option<i64>> {
    let to = match to {
        [] => return Ok(None),
        [one] => To::Peer(one),
        many => To::Peers(many),
    };
    let record = threads::record_of(&metadata);
    let place = match &record {
        Some(r) => threads::of_record(t.conn, r)?,
        None => Default::default(),
    };
    let id = messages::post_with(
        t,
        sh,
        Post {
            from,
            to,
            text,
            msg_type: Some(msg_type.to_string()),
            metadata: Some(metadata),
            context: None,
        },
        Conversation {
            place,
            counted: false,
            ..Default::default()
        },
    )?
    .id;
    if let Some(r) = record {
        threads::remember_record(t, &r, id)?;
    }
    Ok(Some(id))
}

/// A record that does not exist or that the caller may not see: the same
/// answer, so a peer learns nothing about other groups.
pub fn not_found(what: &str, id: &str) -> Error {
    ApiError::not_found(format!("no {what} with id {id:?} in your group")).into()
}

/// The refusal of an answer by someone other than the `role` (approver,
/// verifier) a request is addressed to.
pub fn not_addressee(role: &str, to: &Party, what: &str, id: &str) -> Error {
    let who = match to.kind {
        PartyKind::Operator => {
            "the person (dashboard login or admin token); no peer can answer for them".to_string()
        }
        _ => format!("the {role} named in the request ({})", to.name),
    };
    ApiError::forbidden(format!("only {who} can answer {what} {id}")).into()
}

/// Shorten a text for audit details and previews (the rule lives in proto).
pub use claude_peers_proto::text::preview;

/// The records of one coordination table in `session` and `filter`, newest
/// first: `table` is the table's SELECT and the alias of its rows, and
/// `status` an optional status to match. One query shape for tasks,
/// approvals, verifications and proposals.
pub fn in_session<T>(
    conn: &Connection,
    (select, alias): (&str, &str),
    filter: &GroupFilter,
    session: &str,
    status: Option<&str>,
    limit: u32,
    row: impl FnMut(&sql::Row<'_>) -> sql::Result<T>,
) -> Result<Vec<T>> {
    let (all, group) = filter.params();
    let mut stmt = conn.prepare_cached(&format!(
        "{select} WHERE {alias}.session_id = ?1 AND {}
           AND (?4 IS NULL OR {alias}.status = ?4)
         ORDER BY {alias}.created_at DESC, {alias}.id DESC LIMIT ?5",
        GroupFilter::sql(&format!("{alias}.group_id"), 2)
    ))?;
    let rows = stmt.query_map(sql::params![session, all, group, status, limit], row)?;
    Ok(rows.collect::<sql::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_typed_by_agents_are_cleaned() {
        assert_eq!(clean_id(" `task-abc123` "), "task-abc123");
        assert_eq!(clean_id("#prop-x"), "prop-x");
    }

    #[test]
    fn previews_are_short_and_flat() {
        assert_eq!(preview("a\nb", 10), "a b");
        assert_eq!(preview("abcdef", 3), "abc…");
    }
}
