//! The session report (markdown: participants, groups, tasks, approvals,
//! decisions, verifications, proposals, files, message stats, recent activity),
//! the export of a session's messages as text, and beginning a new session.
//! A peer's report covers its own group only; the operator's covers everything.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::runtime::store::sql::{self, Connection, OptionalExtension, params};
use claude_peers_proto::ApiError;
use claude_peers_proto::api::PeerState;
use claude_peers_proto::coord::{
    ApprovalStatus, ProposalStatus, SessionView, TaskStatus, VerificationStatus,
};
use claude_peers_proto::time::rfc3339;

use crate::coord::decisions;
use crate::coord::files;
use crate::coord::record;
use crate::coord::{Caller, GroupFilter};
use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::groups;
use crate::domain::peers;
use crate::domain::rules::Actor;
use crate::domain::sessions;
use crate::error::Result;
use crate::runtime::store::Tx;
use claude_peers_proto::coord::{ApprovalView, ProposalView, TaskView, VerificationView};

use claude_peers_proto::limits::{
    REPORT_ACTIVITY_ROWS as ACTIVITY_ROWS, REPORT_SECTION_ROWS as SECTION_ROWS,
};

/// The session `asked` (or the current one) if it exists.
pub fn session_id(conn: &Connection, sh: &Shared, asked: Option<&str>) -> Result<String> {
    match asked.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(sh.hub.session()),
        Some(id) => {
            if sessions::started_at(conn, id)?.is_some() {
                Ok(id.to_string())
            } else {
                Err(ApiError::not_found(format!("no session {id:?}")).into())
            }
        }
    }
}

fn minutes(ms: i64) -> i64 {
    (ms.max(0) + 30_000) / 60_000
}

/// The markdown report of `session` as `caller` may see it.
pub fn markdown(
    conn: &Connection,
    sh: &Shared,
    caller: &Caller,
    session: &str,
    now: i64,
) -> Result<String> {
    let filter = GroupFilter::of(&caller.standing);
    let (all, group) = filter.params();
    let mut md = String::new();
    let started = sessions::started_at(conn, session)?;
    let first_msg: Option<i64> = conn.query_row(
        "SELECT min(sent_at) FROM messages WHERE session_id = ?1",
        [session],
        |r| r.get(0),
    )?;
    let start = started.or(first_msg).unwrap_or(now);
    let listed = peers::visible(conn, &caller.standing)?;
    let connected = listed.iter().filter(|p| sh.hub.is_connected(&p.id)).count();
    let scope = match &filter {
        GroupFilter::All => "every group and the lobby".to_string(),
        GroupFilter::One(None) => "the lobby".to_string(),
        GroupFilter::One(Some(g)) => format!(
            "group {}",
            caller
                .me
                .as_ref()
                .and_then(|m| m.group_name.clone())
                .unwrap_or_else(|| g.clone())
        ),
    };
    let _ = write!(
        md,
        "# Session Report\n\n**Session ID:** `{session}`{current}\n**Started:** {}\n**Duration:** {} minutes\n**Peers:** {} listed, {connected} connected\n**Scope:** {scope}\n",
        rfc3339(start),
        minutes(now - start),
        listed.len(),
        current = if session == sh.hub.session() {
            " (current)"
        } else {
            ""
        },
    );

    md.push_str("\n## Participants\n\n");
    if listed.is_empty() {
        md.push_str("- nobody\n");
    }
    for p in &listed {
        let presence = match (p.state(), sh.hub.is_connected(&p.id)) {
            (PeerState::Live, true) => "connected",
            (PeerState::Live, false) => "reconnecting",
            _ => "stale",
        };
        let _ = write!(
            md,
            "- **{}** — {} ({}; {}, {presence})",
            p.name,
            p.cwd,
            p.group_name.as_deref().unwrap_or("Lobby"),
            p.status.as_str()
        );
        if !p.summary.is_empty() {
            let _ = write!(md, " — *{}*", p.summary);
        }
        md.push('\n');
    }

    let glist = groups::list(conn, &caller.standing)?;
    if !glist.groups.is_empty() {
        md.push_str("\n## Groups\n\n");
        for g in &glist.groups {
            let members: Vec<&str> = g.members.iter().map(|m| m.name.as_str()).collect();
            let _ = writeln!(
                md,
                "- **{}**: {}",
                g.name,
                if members.is_empty() {
                    "empty".to_string()
                } else {
                    members.join(", ")
                }
            );
        }
    }

    let mut task_list = record::query::<TaskView>(conn, &filter, session, None, SECTION_ROWS)?;
    task_list.reverse();
    if !task_list.is_empty() {
        let done = task_list
            .iter()
            .filter(|t| t.status == TaskStatus::Completed)
            .count();
        let _ = write!(md, "\n## Tasks ({done}/{} completed)\n\n", task_list.len());
        for t in &task_list {
            let mark = match t.status {
                TaskStatus::Completed => "[x]",
                TaskStatus::InProgress => "[~]",
                TaskStatus::Blocked => "[!]",
                TaskStatus::Pending => "[ ]",
            };
            let who = t
                .assignee
                .as_ref()
                .map(|a| a.name.as_str())
                .unwrap_or("unassigned");
            let _ = write!(
                md,
                "- {mark} **{}** ({who}, {}) `{}`",
                t.title,
                t.status.as_str(),
                t.id
            );
            if !t.result.is_empty() {
                let _ = write!(md, " — {}", t.result.replace('\n', " "));
            }
            md.push('\n');
        }
    }

    let mut appr = record::query::<ApprovalView>(conn, &filter, session, None, SECTION_ROWS)?;
    appr.reverse();
    if !appr.is_empty() {
        md.push_str("\n## Approvals\n\n");
        for a in &appr {
            let icon = match a.status {
                ApprovalStatus::Approved => "✅",
                ApprovalStatus::Rejected => "❌",
                ApprovalStatus::Pending => "⏳",
            };
            let _ = write!(
                md,
                "- {icon} {} ({} → {})",
                a.action.replace('\n', " "),
                a.requester.name,
                a.approver.name
            );
            if !a.reason.is_empty() {
                let _ = write!(md, " — {}", a.reason.replace('\n', " "));
            }
            md.push('\n');
        }
    }

    let decs = decisions::query(
        conn,
        &decisions::Filter {
            group: filter.clone(),
            key: None,
            category: None,
            status: None,
            limit: SECTION_ROWS,
        },
    )?;
    let decs: Vec<_> = decs
        .into_iter()
        .filter(|d| d.session_id == session)
        .collect();
    if !decs.is_empty() {
        md.push_str("\n## Decisions\n\n");
        for d in &decs {
            let _ = write!(
                md,
                "- [{}] **{}** = {} — by {}",
                d.category,
                d.key,
                d.value.replace('\n', " "),
                d.author.name
            );
            if d.status.as_str() == "revoked" {
                md.push_str(" (revoked)");
            }
            md.push('\n');
        }
    }

    let mut vers = record::query::<VerificationView>(conn, &filter, session, None, SECTION_ROWS)?;
    vers.reverse();
    if !vers.is_empty() {
        md.push_str("\n## Verifications\n\n");
        for v in &vers {
            let icon = match v.status {
                VerificationStatus::Verified => "✅",
                VerificationStatus::Failed => "❌",
                VerificationStatus::Pending => "⏳",
            };
            let _ = write!(
                md,
                "- {icon} {} ({} → {})",
                v.claim.replace('\n', " "),
                v.requester.name,
                v.verifier.name
            );
            if !v.response.is_empty() {
                let _ = write!(md, " — {}", v.response.replace('\n', " "));
            }
            md.push('\n');
        }
    }

    let mut props = record::query::<ProposalView>(conn, &filter, session, None, SECTION_ROWS)?;
    props.reverse();
    if !props.is_empty() {
        md.push_str("\n## Proposals\n\n");
        for p in &props {
            let icon = match p.status {
                ProposalStatus::Approved => "✅",
                ProposalStatus::Rejected => "❌",
                ProposalStatus::Open => "🗳️",
            };
            let votes: Vec<String> = p
                .votes
                .iter()
                .map(|v| format!("{} {}", v.voter.name, v.vote.as_str()))
                .collect();
            let _ = write!(
                md,
                "- {icon} **{}** by {} — {}, {} approval(s) / {} rejection(s) of {} needed",
                p.title,
                p.author.name,
                p.status.as_str(),
                p.approvals,
                p.rejections,
                p.required_votes
            );
            if !votes.is_empty() {
                let _ = write!(md, " ({})", votes.join(", "));
            }
            md.push('\n');
        }
    }

    let active = files::list(
        conn,
        &caller.standing,
        now,
        sh.config.limits.active_files_ttl_ms,
    )?;
    if !active.is_empty() {
        md.push_str("\n## Files In Progress\n\n");
        for a in &active {
            let list: Vec<String> = a
                .files
                .iter()
                .map(|f| {
                    if f.conflicts_with.is_empty() {
                        f.path.clone()
                    } else {
                        format!("{} ⚠️ conflict", f.path)
                    }
                })
                .collect();
            let _ = writeln!(md, "- **{}**: {}", a.peer.name, list.join(", "));
        }
    }

    let stats: Vec<(String, i64)> = conn
        .prepare_cached(&format!(
            "SELECT max(from_name), count(*) FROM messages WHERE session_id = ?1 AND {}
             GROUP BY from_kind, from_id ORDER BY count(*) DESC, max(from_name)",
            GroupFilter::sql("group_id", 2)
        ))?
        .query_map(params![session, all, group], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<sql::Result<_>>()?;
    let total: i64 = stats.iter().map(|(_, n)| n).sum();
    let _ = write!(md, "\n## Message Stats\n\n- **Total messages:** {total}\n");
    for (name, n) in &stats {
        let _ = writeln!(
            md,
            "- {name}: {n} message{}",
            if *n == 1 { "" } else { "s" }
        );
    }

    let activity: Vec<audit::AuditEntry> = audit::query(
        conn,
        &audit::Filter {
            limit: ACTIVITY_ROWS,
            session: Some(session.to_string()),
            group: filter.clone(),
            ..Default::default()
        },
    )?
    .into_iter()
    .filter(|e| matches!(filter, GroupFilter::All) || !audit::operator_only(&e.action))
    .collect();
    if !activity.is_empty() {
        md.push_str("\n## Recent Activity\n\n");
        for e in &activity {
            let _ = write!(
                md,
                "- `{}` **{}** — {}",
                &e.at[11..19],
                e.action,
                e.actor.name
            );
            if !e.details.is_empty() {
                let _ = write!(md, ": {}", e.details.replace('\n', " "));
            }
            md.push('\n');
        }
    }
    Ok(md)
}

/// Every message of `session` as text, oldest first:
/// `[date time] from → to: text` (continuation lines indented).
pub fn export(conn: &Connection, session: &str, now: i64) -> Result<String> {
    let mut out = format!(
        "# claude-peers session {session}, exported {}\n",
        rfc3339(now)
    );
    let mut stmt = conn.prepare_cached(
        "SELECT sent_at, from_name, to_kind, to_name, scope, msg_type, text FROM messages
         WHERE session_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([session], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    for row in rows {
        let (at, from, to_kind, to_name, scope, msg_type, text) = row?;
        let to = match (to_kind.as_deref(), to_name, scope) {
            (Some("broadcast"), _, Some(s)) => format!("everyone ({s})"),
            (Some("group"), _, _) => "several".to_string(),
            (_, Some(n), _) => n,
            _ => "?".to_string(),
        };
        let stamp = rfc3339(at);
        let kind = msg_type.map(|t| format!(" [{t}]")).unwrap_or_default();
        let body = text.replace('\n', "\n    ");
        let _ = writeln!(
            out,
            "[{} {}] {from} → {to}{kind}: {body}",
            &stamp[..10],
            &stamp[11..19]
        );
    }
    Ok(out)
}

/// Sessions, newest first.
pub fn sessions(conn: &Connection, current: &str) -> Result<Vec<SessionView>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, started_at FROM sessions ORDER BY started_at DESC LIMIT 100")?;
    let rows = stmt.query_map([], |r| {
        let id: String = r.get(0)?;
        Ok(SessionView {
            current: id == current,
            id,
            started_at: rfc3339(r.get(1)?),
        })
    })?;
    Ok(rows.collect::<sql::Result<_>>()?)
}

/// The operator begins a new session now.
pub fn begin_session(t: &mut Tx<'_>, sh: &Arc<Shared>, actor: &Actor) -> Result<SessionView> {
    let previous = sh.hub.session();
    let id = loop {
        let id = crate::runtime::ids::short_id(12);
        if sessions::started_at(t.conn, &id)?.is_none() {
            break id;
        }
    };
    sessions::begin(t, &id)?;
    sh.hub.set_session(&id);
    sh.activity.touch(t.now);
    audit::record(
        t,
        &sh.hub,
        &actor.party(),
        "session.begin",
        &format!("{id} (after {previous})"),
        None,
    )?;
    let started: Option<i64> = t
        .conn
        .query_row(
            "SELECT started_at FROM sessions WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(SessionView {
        started_at: rfc3339(started.unwrap_or(t.now)),
        id,
        current: true,
    })
}
