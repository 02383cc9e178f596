//! The shape every coordination record shares (decisions, verifications,
//! proposals, tasks, approvals): one table read by one SELECT that shows
//! current names, one row mapping, an event when it changes, a group it
//! belongs to, and, for the four with a status, one listing of the session.
//!
//! A feature implements [`Record`] for its view type; [`get`], [`visible`],
//! [`announce`], [`list`] and [`query`] are written once, here.

use crate::runtime::store::sql::{self, Connection, OptionalExtension, Row};
use claude_peers_proto::ApiError;
use claude_peers_proto::api::GroupRef;
use claude_peers_proto::coord::{ListQuery, StringEnum};
use claude_peers_proto::stream::Event;

use crate::coord::{self, Caller, GroupFilter};
use crate::error::Result;
use crate::runtime::hub::Effect;
use crate::runtime::store::Tx;

/// A coordination record as the API shows it.
pub trait Record: Clone + Sized {
    /// Where a record stands (`pending`, `open`, …).
    type Status: StringEnum;
    /// What it is called in messages ("approval").
    const NAME: &'static str;
    /// The alias of its table in [`Record::select`].
    const ALIAS: &'static str;
    /// `SELECT … FROM table alias`, with the current names of its parties.
    fn select() -> String;
    fn from_row(r: &Row<'_>) -> sql::Result<Self>;
    /// The group it belongs to (`None`: the lobby).
    fn group(&self) -> Option<&GroupRef>;
    /// The stream event that shows it changed.
    fn event(self) -> Event;
    /// Fill in what its row does not hold (a proposal's votes).
    fn complete(self, _conn: &Connection) -> Result<Self> {
        Ok(self)
    }
}

/// `impl Record` for a view whose rows come from the module's `select()` and
/// `from_row()`, whose group is its `group` field, and whose event is
/// `Event::$event { $field }`; `complete = f` names the [`Record::complete`].
macro_rules! record {
    ($view:ty, $status:ty, $name:literal, $alias:literal, $event:ident { $field:ident } $(, complete = $complete:path)?) => {
        impl $crate::coord::record::Record for $view {
            type Status = $status;
            const NAME: &'static str = $name;
            const ALIAS: &'static str = $alias;
            fn select() -> String {
                select()
            }
            fn from_row(r: &$crate::runtime::store::sql::Row<'_>) -> $crate::runtime::store::sql::Result<Self> {
                from_row(r)
            }
            fn group(&self) -> Option<&claude_peers_proto::api::GroupRef> {
                self.group.as_ref()
            }
            fn event(self) -> claude_peers_proto::stream::Event {
                claude_peers_proto::stream::Event::$event {
                    $field: Box::new(self),
                }
            }
            $(
                fn complete(self, conn: &$crate::runtime::store::sql::Connection) -> $crate::error::Result<Self> {
                    $complete(conn, self)
                }
            )?
        }
    };
}
pub(crate) use record;

/// The group id of a record.
pub fn group_id<R: Record>(r: &R) -> Option<&str> {
    r.group().map(|g| g.id.as_str())
}

/// The record with this id, whatever its group.
pub fn get<R: Record>(conn: &Connection, id: &str) -> Result<Option<R>> {
    let row = conn
        .prepare_cached(&format!("{} WHERE {}.id = ?1", R::select(), R::ALIAS))?
        .query_row([id], R::from_row)
        .optional()?;
    row.map(|r| r.complete(conn)).transpose()
}

/// The record if `caller` may see it; otherwise the same `not_found` as for
/// a record that does not exist.
pub fn visible<R: Record>(conn: &Connection, caller: &Caller, id: &str) -> Result<R> {
    let id = coord::clean_id(id);
    match get::<R>(conn, &id)? {
        Some(r) if caller.may_see(group_id(&r)) => Ok(r),
        _ => Err(coord::not_found(R::NAME, &id)),
    }
}

/// Read the record back after a change and push its event.
pub fn announce<R: Record>(t: &mut Tx<'_>, id: &str) -> Result<R> {
    let r =
        get::<R>(t.conn, id)?.ok_or_else(|| ApiError::internal(format!("{} vanished", R::NAME)))?;
    t.effect(Effect::event(r.clone().event()));
    Ok(r)
}

/// Records of the current session that `caller` may see, newest first.
pub fn list<R: Record>(
    conn: &Connection,
    caller: &Caller,
    session: &str,
    q: &ListQuery<R::Status>,
) -> Result<Vec<R>> {
    let filter = GroupFilter::for_caller(conn, caller, q.group.as_deref())?;
    query(conn, &filter, session, q.status, coord::page(q.limit)?)
}

/// Records of `session` in `filter`, newest first.
pub fn query<R: Record>(
    conn: &Connection,
    filter: &GroupFilter,
    session: &str,
    status: Option<R::Status>,
    limit: u32,
) -> Result<Vec<R>> {
    let rows = coord::in_session(
        conn,
        (&R::select(), R::ALIAS),
        filter,
        session,
        status.map(StringEnum::as_str),
        limit,
        R::from_row,
    )?;
    rows.into_iter().map(|r| r.complete(conn)).collect()
}
