//! The audit log: every state-changing action, with actor, time and details.

use crate::runtime::store::sql::{self, params};
use claude_peers_proto::api::{Party, PartyKind};

use crate::domain::rules::GroupFilter;
use crate::error::Result;
use crate::runtime::hub::Hub;
use crate::runtime::store::Tx;

/// Record `action` by `actor`. `group` is the group the action concerns.
pub fn record(
    t: &mut Tx<'_>,
    hub: &Hub,
    actor: &Party,
    action: &str,
    details: &str,
    group: Option<&str>,
) -> Result<()> {
    t.conn
        .prepare_cached(
            "INSERT INTO audit (at, session_id, actor_kind, actor_id, actor_name, action, details, group_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            t.now,
            hub.session(),
            actor.kind.as_str(),
            actor.id,
            actor.name,
            action,
            details,
            group
        ])?;
    Ok(())
}

/// Actions only the operator may see (a session's permission prompts and the
/// operator's answers): views built for peers leave them out.
pub fn operator_only(action: &str) -> bool {
    action.starts_with("permission.")
}

pub use claude_peers_proto::api::AuditEntry;

/// One audit row as the API shows it.
fn entry(r: &sql::Row<'_>) -> sql::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: claude_peers_proto::time::rfc3339(r.get(1)?),
        actor: Party {
            kind: PartyKind::parse_or_system(&r.get::<_, String>(2)?),
            id: r.get(3)?,
            name: r.get(4)?,
        },
        action: r.get(5)?,
        details: r.get(6)?,
        group_id: r.get(7)?,
    })
}

/// Which audit entries [`query`] returns.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub limit: u32,
    pub before: Option<i64>,
    /// Actions starting with this.
    pub action: Option<String>,
    /// This actor (id or name).
    pub actor: Option<String>,
    /// Which namespaces' entries.
    pub group: GroupFilter,
    pub session: Option<String>,
}

/// The newest matching entries first.
pub fn query(conn: &sql::Connection, f: &Filter) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT id, at, actor_kind, actor_id, actor_name, action, details, group_id FROM audit
         WHERE (?1 IS NULL OR id < ?1)
           AND (?2 IS NULL OR substr(action, 1, length(?2)) = ?2)
           AND (?3 IS NULL OR actor_id = ?3 OR lower(actor_name) = lower(?3))
           AND {}
           AND (?6 IS NULL OR session_id = ?6)
         ORDER BY id DESC LIMIT ?7",
        GroupFilter::sql("group_id", 4)
    ))?;
    let (filter, g) = f.group.params();
    let rows = stmt.query_map(
        params![f.before, f.action, f.actor, filter, g, f.session, f.limit],
        entry,
    )?;
    Ok(rows.collect::<sql::Result<_>>()?)
}
