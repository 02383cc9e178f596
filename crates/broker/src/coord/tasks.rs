//! Tasks: created within a group (a peer's own; for the operator, the
//! assignee's or a named one), optionally assigned to a peer the creator can
//! reach; `pending` → `in_progress` when the assignee starts it (an unassigned
//! task is claimed by the peer that starts it) → `completed` by the assignee,
//! the creator or the operator. The assignee is told on creation, the creator
//! when it starts, both (but the completer) on completion.

use std::sync::Arc;

use crate::runtime::store::sql::params;
use claude_peers_proto::ApiError;
use claude_peers_proto::api::Party;
use claude_peers_proto::coord::{CompleteTask, CreateTask, StartTask, TaskStatus, TaskView};
use claude_peers_proto::limits::{MAX_FIELD_BYTES, MAX_TITLE_BYTES, TITLE_PREVIEW_CHARS};
use claude_peers_proto::validate;
use serde_json::json;

use crate::coord::record;
use crate::coord::{self, Caller};
use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::peers;
use crate::domain::peers::PeerRow;
use crate::domain::rules::Actor;
use crate::error::Result;
use crate::runtime::store::Tx;

fn select() -> String {
    format!(
        "SELECT t.id, t.title, t.description, t.status, t.creator_kind, t.creator_id, {creator},
                t.assignee_id, {assignee}, t.group_id, {group}, t.result,
                t.completed_by_kind, t.completed_by_id, {completer},
                t.session_id, t.created_at, t.started_at, t.completed_at, t.blocked_reason
         FROM tasks t",
        creator = coord::name_sql("t.creator_kind", "t.creator_id", "t.creator_name"),
        assignee = coord::name_sql("'peer'", "t.assignee_id", "t.assignee_name"),
        group = coord::group_name_sql("t.group_id"),
        completer = coord::name_sql(
            "t.completed_by_kind",
            "t.completed_by_id",
            "t.completed_by_name"
        ),
    )
}

record::record! {
    TaskView, TaskStatus, "task", "t", Task { task },
    row {
        id, title, description, status: status(TaskStatus::parse, TaskStatus::Pending),
        creator: party, assignee: peer_opt, group: group, result, completed_by: party_opt,
        session_id, created_at: time, started_at: time_opt, completed_at: time_opt,
        blocked_reason,
    }
}

/// Create a task.
pub fn create(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    req: &CreateTask,
) -> Result<TaskView> {
    let title = validate::required_line("title", &req.title, MAX_TITLE_BYTES)?;
    let description = validate::text("description", &req.description, MAX_FIELD_BYTES)?;
    let caller = Caller::load(t.conn, actor)?;
    let assignee: Option<PeerRow> = match req.assignee.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(a) => Some(caller.resolve(t.conn, "assignee", a)?),
    };
    let group: Option<String> = match (&caller.me, &assignee, req.group.as_deref()) {
        (Some(_), _, Some(_)) => {
            return Err(ApiError::invalid(
                "group",
                "'group' is for the operator; a peer's task is in its own group",
            )
            .into());
        }
        (Some(me), _, None) => me.group_id.clone(),
        (None, Some(a), asked) => {
            if let Some(g) = asked
                && coord::find_group(t.conn, g)? != a.group_id
            {
                return Err(ApiError::invalid(
                    "group",
                    format!(
                        "{} is not in group {g:?}; leave 'group' out to use the assignee's",
                        a.name
                    ),
                )
                .into());
            }
            a.group_id.clone()
        }
        (None, None, Some(g)) => coord::find_group(t.conn, g)?,
        (None, None, None) => {
            return Err(ApiError::invalid(
                "assignee",
                "the operator must name an 'assignee' or a 'group' for the task",
            )
            .into());
        }
    };
    let session = coord::session(t, sh)?;
    let id = coord::new_id(t.conn, "tasks", "task")?;
    let creator = caller.party();
    t.conn
        .prepare_cached(
            "INSERT INTO tasks (id, session_id, group_id, title, description, status, creator_kind,
               creator_id, creator_name, assignee_id, assignee_name, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7, ?8, ?9, ?10, ?11)",
        )?
        .execute(params![
            id,
            session,
            group,
            title,
            description,
            creator.kind.as_str(),
            creator.id,
            creator.name,
            assignee.as_ref().map(|a| a.id.clone()),
            assignee.as_ref().map(|a| a.name.clone()),
            t.now
        ])?;
    let details = match &assignee {
        Some(a) => format!(
            "{id}: {} → {}",
            coord::preview(&title, TITLE_PREVIEW_CHARS),
            a.name
        ),
        None => format!("{id}: {}", coord::preview(&title, TITLE_PREVIEW_CHARS)),
    };
    audit::record(
        t,
        &sh.hub,
        &creator,
        "task.create",
        &details,
        group.as_deref(),
    )?;
    if let Some(a) = &assignee
        && !caller.is(&a.id)
    {
        let mut text = format!("**Task assigned to you:** {title}");
        if !description.is_empty() {
            text.push_str(&format!("\n{description}"));
        }
        text.push_str(&format!(
            "\n\nTask ID: `{id}` (from {}). Call `start_task` when you begin and `complete_task` when done.",
            creator.name
        ));
        coord::notify(
            t,
            sh,
            caller.sender(),
            std::slice::from_ref(a),
            text,
            "task_assigned",
            json!({"task_id": id, "title": title}),
        )?;
    }
    record::announce::<TaskView>(t, &id)
}

/// The assignee starts a task (`in_progress`); an unassigned task is claimed
/// by the peer that starts it. Starting a task one already runs changes nothing.
pub fn start(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    id: &str,
    req: &StartTask,
) -> Result<TaskView> {
    let caller = Caller::load(t.conn, actor)?;
    let me = caller.peer("start a task")?.clone();
    let task = record::visible::<TaskView>(t.conn, &caller, id)?;
    if let Some(reason) = &req.blocked {
        return block(t, sh, &caller, &me, task, reason);
    }
    match task.status {
        TaskStatus::Completed => {
            return Err(
                ApiError::conflict(format!("task {} is already completed", task.id)).into(),
            );
        }
        TaskStatus::InProgress if task.assignee.as_ref().is_some_and(|a| a.id == me.id) => {
            return Ok(task);
        }
        _ => {}
    }
    if let Some(a) = &task.assignee
        && a.id != me.id
    {
        return Err(ApiError::forbidden(format!(
            "task {} is assigned to {}; only they can start it",
            task.id, a.name
        ))
        .into());
    }
    t.conn
        .prepare_cached(
            "UPDATE tasks SET status = 'in_progress', started_at = coalesce(started_at, ?2),
               assignee_id = ?3, assignee_name = ?4, blocked_reason = '' WHERE id = ?1",
        )?
        .execute(params![task.id, t.now, me.id, me.name])?;
    audit_step(t, sh, &me.party(), "task.start", &task)?;
    let text = format!(
        "**Task started** by {}: {}\nTask ID: `{}`",
        me.name, task.title, task.id
    );
    tell_creator(t, sh, &caller, &me, &task, text, "task_started")?;
    record::announce::<TaskView>(t, &task.id)
}

/// Tell the task's creator, when it is a peer other than `me`.
fn tell_creator(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    caller: &Caller,
    me: &PeerRow,
    task: &TaskView,
    text: String,
    msg_type: &str,
) -> Result<()> {
    if task.creator.kind == claude_peers_proto::api::PartyKind::Peer
        && task.creator.id != me.id
        && let Some(creator) = peers::get(t.conn, &task.creator.id)?
    {
        coord::notify(
            t,
            sh,
            caller.sender(),
            std::slice::from_ref(&creator),
            text,
            msg_type,
            json!({"task_id": task.id, "title": task.title}),
        )?;
    }
    Ok(())
}

/// Its assignee says the task is blocked, and why: it waits in the
/// operator's lane until the assignee starts it again (or it is completed).
/// The creator (a peer other than the assignee) is told.
fn block(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    caller: &Caller,
    me: &PeerRow,
    task: TaskView,
    reason: &str,
) -> Result<TaskView> {
    let reason = validate::required_text("blocked", reason, MAX_FIELD_BYTES)?;
    if task.status == TaskStatus::Completed {
        return Err(ApiError::conflict(format!("task {} is already completed", task.id)).into());
    }
    if task.assignee.as_ref().is_none_or(|a| a.id != me.id) {
        return Err(ApiError::forbidden(format!(
            "only the assignee of task {} can mark it blocked (start it first)",
            task.id
        ))
        .into());
    }
    t.conn
        .prepare_cached(
            "UPDATE tasks SET status = 'blocked', blocked_reason = ?2,
               started_at = coalesce(started_at, ?3) WHERE id = ?1",
        )?
        .execute(params![task.id, reason, t.now])?;
    audit::record(
        t,
        &sh.hub,
        &me.party(),
        "task.block",
        &format!(
            "{}: {} ({})",
            task.id,
            coord::preview(&task.title, TITLE_PREVIEW_CHARS),
            coord::preview(&reason, TITLE_PREVIEW_CHARS)
        ),
        record::group_id(&task),
    )?;
    let text = format!(
        "**Task blocked** ({}): {}\n**Why:** {reason}\nTask ID: `{}`",
        me.name, task.title, task.id
    );
    tell_creator(t, sh, caller, me, &task, text, "task_blocked")?;
    record::announce::<TaskView>(t, &task.id)
}

/// Complete a task: its assignee, its creator, or the operator.
pub fn complete(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    id: &str,
    req: &CompleteTask,
) -> Result<TaskView> {
    let result = validate::text(
        "result",
        req.result.as_deref().unwrap_or(""),
        MAX_FIELD_BYTES,
    )?;
    let caller = Caller::load(t.conn, actor)?;
    let task = record::visible::<TaskView>(t.conn, &caller, id)?;
    if task.status == TaskStatus::Completed {
        return Err(ApiError::conflict(format!("task {} is already completed", task.id)).into());
    }
    let is_assignee = task.assignee.as_ref().is_some_and(|a| caller.is(&a.id));
    let is_creator = caller.is(&task.creator.id);
    if !(caller.is_operator() || is_assignee || is_creator) {
        let who = match &task.assignee {
            Some(a) => format!(
                "its assignee ({}) or its creator ({})",
                a.name, task.creator.name
            ),
            None => format!("its creator ({})", task.creator.name),
        };
        return Err(
            ApiError::forbidden(format!("only {who} can complete task {}", task.id)).into(),
        );
    }
    let completer = caller.party();
    t.conn
        .prepare_cached(
            "UPDATE tasks SET status = 'completed', result = ?2, completed_at = ?3,
               completed_by_kind = ?4, completed_by_id = ?5, completed_by_name = ?6 WHERE id = ?1",
        )?
        .execute(params![
            task.id,
            result,
            t.now,
            completer.kind.as_str(),
            completer.id,
            completer.name
        ])?;
    audit_step(t, sh, &completer, "task.complete", &task)?;
    // Tell the creator and the assignee, but not whoever completed it.
    let mut told: Vec<PeerRow> = Vec::new();
    let parties = [Some(&task.creator), task.assignee.as_ref()];
    for p in parties.into_iter().flatten() {
        if p.kind == claude_peers_proto::api::PartyKind::Peer
            && !caller.is(&p.id)
            && !told.iter().any(|x| x.id == p.id)
            && let Some(row) = peers::get(t.conn, &p.id)?
        {
            told.push(row);
        }
    }
    let mut text = format!("**Task completed:** {}", task.title);
    if !result.is_empty() {
        text.push_str(&format!("\n**Result:** {result}"));
    }
    text.push_str(&format!(
        "\nTask ID: `{}` (completed by {})",
        task.id, completer.name
    ));
    coord::notify(
        t,
        sh,
        caller.sender(),
        &told,
        text,
        "task_completed",
        json!({"task_id": task.id, "title": task.title}),
    )?;
    record::announce::<TaskView>(t, &task.id)
}

/// Audit a step of `task` (`task.start`, `task.complete`) by `by`.
fn audit_step(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    by: &Party,
    action: &str,
    task: &TaskView,
) -> Result<()> {
    let details = format!(
        "{}: {}",
        task.id,
        coord::preview(&task.title, TITLE_PREVIEW_CHARS)
    );
    audit::record(t, &sh.hub, by, action, &details, record::group_id(task))
}
