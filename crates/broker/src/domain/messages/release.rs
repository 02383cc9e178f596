//! Releasing a chain the loop guard holds (the operator): its held messages
//! get their deliveries, in order, and the streams of their recipients are
//! rewound so they push them even behind newer messages; the chain's peers
//! stand at zero again.

use std::sync::Arc;

use claude_peers_proto::ApiError;
use claude_peers_proto::api::{Party, ReleaseResult};
use claude_peers_proto::stream::Event;

use crate::domain::audit;
use crate::domain::context::Shared;
use crate::domain::loops;
use crate::domain::messages::deliveries::deliver;
use crate::error::Result;
use crate::runtime::hub::Effect;
use crate::runtime::store::Tx;
use crate::runtime::store::sql;

/// Release chain `chain` (the operator): deliver its held messages in order,
/// and put every peer of the chain back at zero.
pub fn release_chain(
    t: &mut Tx<'_>,
    sh: &Arc<Shared>,
    by: &Party,
    chain: i64,
) -> Result<ReleaseResult> {
    let rows: Vec<(i64, String)> = t
        .conn
        .prepare_cached(
            "SELECT message_id, recipients FROM held WHERE chain_id = ?1 ORDER BY message_id",
        )?
        .query_map([chain], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<sql::Result<_>>()?;
    if rows.is_empty() {
        return Err(ApiError::not_found(format!("no held chain {chain}")).into());
    }
    let mut released = Vec::with_capacity(rows.len());
    for (id, to) in rows {
        let to = loops::recipients(&to);
        t.conn
            .prepare_cached("UPDATE messages SET held = 0 WHERE id = ?1")?
            .execute([id])?;
        deliver(t, id, &to, None)?;
        for (peer, _) in &to {
            t.effect(Effect::Rewind {
                peer: peer.clone(),
                from: id,
            });
        }
        released.push(id);
    }
    t.conn
        .prepare_cached("DELETE FROM held WHERE chain_id = ?1")?
        .execute([chain])?;
    t.conn
        .prepare_cached("DELETE FROM chains WHERE chain_id = ?1")?
        .execute([chain])?;
    audit::record(
        t,
        &sh.hub,
        by,
        "chain.release",
        &format!("chain {chain}: {} message(s) delivered", released.len()),
        None,
    )?;
    t.effect(Effect::event(Event::Released {
        chain_id: chain,
        released: released.clone(),
    }));
    Ok(ReleaseResult {
        chain_id: chain,
        released,
    })
}
