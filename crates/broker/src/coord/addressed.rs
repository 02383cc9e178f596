//! Requests addressed to one party: approvals and verifications. A peer asks
//! another peer of its group, or the person (`dashboard`/`cli`: the request
//! waits in the "needs you" lane); only that party answers (for the person:
//! the operator, never a peer token), once; the requester is told of the
//! answer. What the two kinds share is written here once: who may ask whom,
//! the audit entries, who is told, and the answer's checks. Each kind's
//! module keeps only its fields, its texts and its SQL.

use std::sync::Arc;

use claude_peers_proto::ApiError;
use claude_peers_proto::api::Party;
use claude_peers_proto::coord::StringEnum;
use claude_peers_proto::limits::TEXT_PREVIEW_CHARS;

use crate::coord::record::{self, Record};

use crate::coord::{self, Addressee, Caller};
use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::peers::{self, PeerRow};
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::runtime::store::Tx;
use crate::runtime::store::sql::ToSql;

/// A record kind addressed to one party.
pub trait Addressed: Record {
    /// The request's field that names the addressee (`approver`, `verifier`).
    const ROLE: &'static str;
    /// Its table and the prefix of its ids.
    const TABLE: &'static str;
    const ID_PREFIX: &'static str;
    /// What asking is called in the refusal of a caller who is not a peer
    /// ("request an approval").
    const ASKING: &'static str;
    /// The refusal of a request addressed to its own asker.
    const NOT_YOURSELF: &'static str;
    fn id(&self) -> &str;
    /// Who asked.
    fn requester(&self) -> &Party;
    /// Who answers.
    fn addressee(&self) -> &Party;
    /// What it is about (the action, the claim), for audit previews.
    fn subject(&self) -> &str;
    /// Where it stands.
    fn status(&self) -> Self::Status;
    /// Whether it still waits for its answer.
    fn pending(&self) -> bool;
}

/// `impl Addressed` for a view with `id`, `requester` and `status` fields,
/// whose addressee is the field named by the role and whose subject is
/// `subject`.
macro_rules! addressed {
    (
        $view:ty, $status:ty, role: $role:ident, subject: $subject:ident, table: $table:literal,
        prefix: $prefix:literal, asking: $asking:literal, not_yourself: $not:literal $(,)?
    ) => {
        impl $crate::coord::addressed::Addressed for $view {
            const ROLE: &'static str = stringify!($role);
            const TABLE: &'static str = $table;
            const ID_PREFIX: &'static str = $prefix;
            const ASKING: &'static str = $asking;
            const NOT_YOURSELF: &'static str = $not;
            fn id(&self) -> &str {
                &self.id
            }
            fn requester(&self) -> &claude_peers_proto::api::Party {
                &self.requester
            }
            fn addressee(&self) -> &claude_peers_proto::api::Party {
                &self.$role
            }
            fn subject(&self) -> &str {
                &self.$subject
            }
            fn status(&self) -> $status {
                self.status
            }
            fn pending(&self) -> bool {
                self.status == <$status>::Pending
            }
        }
    };
}
pub(crate) use addressed;

/// A request being asked: the asker, whom it is addressed to, and the new
/// record's id and session. The kind's module inserts its row between
/// [`ask`] and [`Asked::tell`].
pub struct Asked {
    pub caller: Caller,
    pub me: PeerRow,
    pub to: Addressee,
    pub id: String,
    pub session: String,
}

/// Begin a request of kind `R` addressed to `target` (a peer of the caller's
/// group, or `dashboard`/`cli`): only a peer asks, never itself.
pub fn ask<R: Addressed>(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    target: &str,
) -> Result<Asked> {
    let caller = Caller::load(t.conn, actor)?;
    let me = caller.peer(R::ASKING)?.clone();
    let to = caller.address(t.conn, R::ROLE, target)?;
    if to.is_peer(&me) {
        return Err(ApiError::invalid(R::ROLE, R::NOT_YOURSELF).into());
    }
    let session = coord::session(t, sh)?;
    let id = coord::new_id(t.conn, R::TABLE, R::ID_PREFIX)?;
    Ok(Asked {
        caller,
        me,
        to,
        id,
        session,
    })
}

impl Asked {
    /// Insert the request's row, `pending`: the columns every request has,
    /// then the kind's own `columns` with their `values`, in order.
    pub fn insert<R: Addressed>(
        &self,
        t: &mut Tx<'_>,
        columns: &[&str],
        values: &[&dyn ToSql],
    ) -> Result<()> {
        const SHARED: usize = 9;
        let own = (SHARED + 1..=SHARED + columns.len())
            .map(|i| format!("?{i}"))
            .collect::<Vec<_>>();
        let sql = format!(
            "INSERT INTO {table} (id, session_id, group_id, requester_id, requester_name,
               {role}_kind, {role}_id, {role}_name, created_at, status, {columns})
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', {own})",
            table = R::TABLE,
            role = R::ROLE,
            columns = columns.join(", "),
            own = own.join(", "),
        );
        let to = self.to.party();
        let kind = to.kind.as_str();
        let mut all: Vec<&dyn ToSql> = vec![
            &self.id,
            &self.session,
            &self.me.group_id,
            &self.me.id,
            &self.me.name,
            &kind,
            &to.id,
            &to.name,
            &t.now,
        ];
        debug_assert_eq!(all.len(), SHARED);
        all.extend_from_slice(values);
        t.conn.prepare_cached(&sql)?.execute(all.as_slice())?;
        Ok(())
    }

    /// After the row is inserted: audit `<name>.request`, tell the addressee
    /// (a peer gets `text` as a notice of `msg_type`; the person sees the
    /// lane and the webhook), and announce the record.
    pub fn tell<R: Addressed>(
        self,
        t: &mut Tx<'_>,
        sh: &Arc<Shared>,
        subject: &str,
        text: String,
        msg_type: &str,
        metadata: serde_json::Value,
    ) -> Result<R> {
        audit::record(
            t,
            &sh.hub,
            &self.me.party(),
            &format!("{}.request", R::NAME),
            &format!(
                "{} → {}: {}",
                self.id,
                self.to.party().name,
                coord::preview(subject, TEXT_PREVIEW_CHARS)
            ),
            self.me.group_id.as_deref(),
        )?;
        coord::notify(
            t,
            sh,
            self.caller.sender(),
            self.to.told(),
            text,
            msg_type,
            metadata,
        )?;
        record::announce::<R>(t, &self.id)
    }
}

/// The request `id` of kind `R`, which the caller may answer now: it sees
/// it, it is the addressee (for the person: an operator), and the request is
/// still pending.
pub fn answerable<R: Addressed>(t: &Tx<'_>, caller: &Caller, id: &str) -> Result<R> {
    let r = record::visible::<R>(t.conn, caller, &coord::clean_id(id))?;
    if !caller.is_party(r.addressee()) {
        return Err(coord::not_addressee(
            R::ROLE,
            r.addressee(),
            R::NAME,
            r.id(),
        ));
    }
    if !r.pending() {
        return Err(ApiError::conflict(format!(
            "{} {} is already answered ({})",
            R::NAME,
            r.id(),
            r.status().as_str()
        ))
        .into());
    }
    Ok(r)
}

/// After the answer is stored: audit `<name>.<status>`, tell the requester
/// `text` as a notice of `msg_type`, and announce the record.
#[allow(clippy::too_many_arguments)]
pub fn answered<R: Addressed>(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    caller: &Caller,
    r: &R,
    status: R::Status,
    text: String,
    msg_type: &str,
    metadata: serde_json::Value,
) -> Result<R> {
    let id = r.id().to_string();
    audit::record(
        t,
        &sh.hub,
        &caller.party(),
        &format!("{}.{}", R::NAME, status.as_str()),
        &format!("{id}: {}", coord::preview(r.subject(), TEXT_PREVIEW_CHARS)),
        record::group_id(r),
    )?;
    if let Some(requester) = peers::get(t.conn, &r.requester().id)? {
        coord::notify(
            t,
            sh,
            caller.sender(),
            std::slice::from_ref(&requester),
            text,
            msg_type,
            metadata,
        )?;
    }
    record::announce::<R>(t, &id)
}
