//! Structured messages: a typed message (question, decision, context share,
//! review request, handoff) to one peer of the caller's group, or to the
//! operator. The fields are checked and rendered by
//! [`claude_peers_proto::structured`]; the message keeps its `msg_type` and
//! fields (metadata), which reach the recipient's channel meta. It counts as a
//! send: same rate limits (overall by the route, per pair here), same
//! queue-depth rule, same loop guard; it may answer a message (`reply_to`).

use std::sync::Arc;

use claude_peers_proto::api::{DeliveryState, Party, PartyKind, SendResult};
use claude_peers_proto::coord::StructuredRequest;
use claude_peers_proto::{ApiError, structured, validate};
use serde_json::Value;

use crate::coord::Caller;
use crate::domain::audit;
use crate::domain::messages::{self, Conversation, Post, To};
use crate::domain::rules::Actor;
use crate::domain::{loops, threads};
use crate::error::Result;
use crate::http::state::Shared;
use crate::runtime::store::Tx;

/// Send a structured message.
pub fn send(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    actor: &Actor,
    req: &StructuredRequest,
) -> Result<SendResult> {
    let msg = structured::parse(&req.msg_type, &req.fields)?;
    let context = req.context.as_ref().map(validate::context).transpose()?;
    let caller = Caller::load(t.conn, actor)?;
    let place = threads::reply(t.conn, actor, req.reply_to)?;
    let kind = msg.msg_type.as_str();
    if let Some(op) = messages::operator_recipient(&req.to) {
        let id = messages::post_with(
            t,
            sh,
            Post {
                from: caller.sender(),
                to: To::Operator(op),
                text: msg.text,
                msg_type: Some(kind.to_string()),
                metadata: Some(Value::Object(msg.fields)),
                context,
            },
            Conversation {
                place,
                counted: false,
            },
        )?
        .id;
        audit::record(
            t,
            &sh.hub,
            &caller.party(),
            "message.structured",
            &format!("{kind} → {}", op.id()),
            caller.me.as_ref().and_then(|m| m.group_id.as_deref()),
        )?;
        return Ok(SendResult {
            message_id: id,
            to: Party {
                kind: PartyKind::Operator,
                id: op.id().into(),
                name: op.id().into(),
            },
            state: DeliveryState::Delivered,
            recipient_connected: true,
            held: None,
        });
    }
    let target = caller.resolve(t.conn, "to", &req.to)?;
    if caller.is(&target.id) {
        return Err(ApiError::invalid("to", "you cannot send a message to yourself").into());
    }
    messages::check_queue(t.conn, sh, &target)?;
    if let Some(me) = &caller.me {
        loops::check_pair(sh, me, &target)?;
    }
    let posted = messages::post_with(
        t,
        sh,
        Post {
            from: caller.sender(),
            to: To::Peer(&target),
            text: msg.text,
            msg_type: Some(kind.to_string()),
            metadata: Some(Value::Object(msg.fields)),
            context,
        },
        Conversation {
            place,
            counted: true,
        },
    )?;
    let id = posted.id;
    audit::record(
        t,
        &sh.hub,
        &caller.party(),
        "message.structured",
        &format!("#{id} {kind} → {}", target.name),
        target.group_id.as_deref(),
    )?;
    Ok(SendResult {
        message_id: id,
        to: target.party(),
        state: DeliveryState::Queued,
        recipient_connected: sh.hub.is_connected(&target.id),
        held: posted.held,
    })
}
