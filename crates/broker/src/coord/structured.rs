//! Structured messages: a typed message (question, decision, context share,
//! review request, handoff) to one peer of the caller's group, or to the
//! operator. The fields are checked and rendered by
//! [`claude_peers_proto::structured`]; the message keeps its `msg_type` and
//! fields (metadata), which reach the recipient's channel meta. It is sent by
//! the same path as a plain message (isolation, queue depth, per-pair rate,
//! loop guard), may answer a message (`reply_to`), and counts against the
//! same send limit.

use std::sync::Arc;

use claude_peers_proto::api::SendResult;
use claude_peers_proto::coord::StructuredRequest;
use claude_peers_proto::{structured, validate};
use serde_json::Value;

use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::messages::{self, Body, Conversation};
use crate::domain::rules::Actor;
use crate::domain::threads;
use crate::error::Result;
use crate::runtime::store::Tx;

/// Send a structured message: parsed and rendered here, sent by the one
/// send path (`messages::send_to`), then audited.
pub fn send(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    req: &StructuredRequest,
) -> Result<SendResult> {
    let msg = structured::parse(req.msg_type, &req.fields)?;
    let context = req.context.as_ref().map(validate::context).transpose()?;
    let kind = msg.msg_type.as_str();
    let place = threads::reply(t.conn, actor, req.reply_to)?;
    let sent = messages::send_to(
        t,
        sh,
        actor,
        &req.to,
        Body {
            text: msg.text,
            msg_type: Some(kind.to_string()),
            metadata: Some(Value::Object(msg.fields)),
            context,
            conv: Conversation {
                place,
                counted: true,
                ..Default::default()
            },
        },
    )?;
    let by = match &sent.me {
        Some(me) => me.party(),
        None => actor.party(),
    };
    let (details, group) = match &sent.target {
        Some(target) => (
            format!("#{} {kind} → {}", sent.result.message_id, target.name),
            target.group_id.as_deref(),
        ),
        None => (
            format!("{kind} → {}", sent.result.to.id),
            sent.me.as_ref().and_then(|m| m.group_id.as_deref()),
        ),
    };
    audit::record(t, &sh.hub, &by, "message.structured", &details, group)?;
    Ok(sent.result)
}
