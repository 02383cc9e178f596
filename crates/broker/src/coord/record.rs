//! The shape every coordination record shares (decisions, verifications,
//! proposals, tasks, approvals): one table read by one SELECT that shows
//! current names, one row mapping, an event when it changes, a group it
//! belongs to, and, for the four with a status, one listing of the session.
//!
//! A feature implements [`Record`] for its view type; [`get`], [`visible`],
//! [`announce`], [`list`] and [`query`] are written once, here.

use crate::runtime::store::sql::{self, Connection, FromSql, OptionalExtension, Row};
use claude_peers_proto::ApiError;
use claude_peers_proto::api::{GroupRef, Party};
use claude_peers_proto::coord::{ListQuery, StringEnum};
use claude_peers_proto::stream::Event;
use claude_peers_proto::time::rfc3339;
use serde::de::DeserializeOwned;

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
    /// The record from a row of [`Record::select`].
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

/// `impl Record` for a view whose rows come from the module's `select()`,
/// whose group is its `group` field, and whose event is
/// `Event::$event { $field }`. `row { … }` maps the columns of `select()`, in
/// their order, to the view's fields: `field` takes one column as it is,
/// `field: kind(args)` takes what [`Cols::kind`](Cols) reads (a party or a
/// group takes several). `complete = f` names the [`Record::complete`].
macro_rules! record {
    (
        $view:ty, $status:ty, $name:literal, $alias:literal, $event:ident { $field:ident },
        row { $($col:ident $(: $kind:ident $(($($arg:expr),*))?)?),* $(,)? }
        $(, complete = $complete:path)?
    ) => {
        impl $crate::coord::record::Record for $view {
            type Status = $status;
            const NAME: &'static str = $name;
            const ALIAS: &'static str = $alias;
            fn select() -> String {
                select()
            }
            fn from_row(r: &$crate::runtime::store::sql::Row<'_>) -> $crate::runtime::store::sql::Result<Self> {
                let mut c = $crate::coord::record::Cols::new(r);
                Ok(Self {
                    $($col: $crate::coord::record::read!(c $($kind $(($($arg),*))?)?)),*
                })
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
/// One field of a [`record!`] row: the next column as it is, or what
/// `Cols::$kind` reads.
macro_rules! read {
    ($c:ident) => {
        $c.get()?
    };
    ($c:ident $kind:ident $(($($arg:expr),*))?) => {
        $c.$kind($($($arg),*)?)?
    };
}
pub(crate) use read;
pub(crate) use record;

/// A record's row read left to right in the order of its `SELECT`: each
/// reader takes the next column, or the next few for a party or a group, so
/// a row mapping names no column numbers.
pub struct Cols<'a, 'r> {
    row: &'a Row<'r>,
    next: usize,
}

impl<'a, 'r> Cols<'a, 'r> {
    pub fn new(row: &'a Row<'r>) -> Self {
        Cols { row, next: 0 }
    }

    /// The next column as it is.
    pub fn get<T: FromSql>(&mut self) -> sql::Result<T> {
        self.next += 1;
        self.row.get(self.next - 1)
    }

    /// A status by `parse`, or `default` for a text it does not know.
    pub fn status<S>(&mut self, parse: fn(&str) -> Option<S>, default: S) -> sql::Result<S> {
        Ok(parse(&self.get::<String>()?).unwrap_or(default))
    }

    /// A time (milliseconds) as RFC 3339.
    pub fn time(&mut self) -> sql::Result<String> {
        Ok(rfc3339(self.get()?))
    }

    /// A time that may be NULL.
    pub fn time_opt(&mut self) -> sql::Result<Option<String>> {
        Ok(self.get::<Option<i64>>()?.map(rfc3339))
    }

    /// A JSON text; the type's default if it does not parse.
    pub fn json<T: DeserializeOwned + Default>(&mut self) -> sql::Result<T> {
        Ok(serde_json::from_str(&self.get::<String>()?).unwrap_or_default())
    }

    /// A peer: its id and name.
    pub fn peer(&mut self) -> sql::Result<Party> {
        Ok(coord::peer_party(self.get()?, self.get()?))
    }

    /// A peer that may be absent: its id (NULL: none) and name.
    pub fn peer_opt(&mut self) -> sql::Result<Option<Party>> {
        let (id, name): (Option<String>, Option<String>) = (self.get()?, self.get()?);
        Ok(id.map(|id| coord::peer_party(id, name.unwrap_or_default())))
    }

    /// A party of any kind: its kind, id and name.
    pub fn party(&mut self) -> sql::Result<Party> {
        let kind: String = self.get()?;
        Ok(coord::party(&kind, self.get()?, self.get()?))
    }

    /// A party that may be absent: its kind and id (either NULL: none) and
    /// name.
    pub fn party_opt(&mut self) -> sql::Result<Option<Party>> {
        let (kind, id, name): (Option<String>, Option<String>, Option<String>) =
            (self.get()?, self.get()?, self.get()?);
        Ok(match (kind, id) {
            (Some(k), Some(id)) => Some(coord::party(&k, id, name.unwrap_or_default())),
            _ => None,
        })
    }

    /// A group: its id (NULL: the lobby) and name.
    pub fn group(&mut self) -> sql::Result<Option<GroupRef>> {
        Ok(coord::group_ref(self.get()?, self.get()?))
    }

    /// No column: a field [`Record::complete`] fills in.
    pub fn later<T: Default>(&mut self) -> sql::Result<T> {
        Ok(T::default())
    }
}

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
