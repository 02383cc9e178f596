//! Joining the other brokers of a PostgreSQL database: starts the keeper
//! and the listener of [`crate::runtime::team`] and connects them to this
//! broker's hub (other brokers' notes are applied to it; the reach facts
//! reported here are announced to them).

use std::collections::HashMap;
use std::sync::Arc;

use claude_peers_proto::time::now_ms;

use crate::domain::context::Shared;
use crate::error::Result;
use crate::runtime::team::{keeper, listen, wire::Note};

/// Start team mode on `url` for this broker; returns once it hears the
/// others (before the broker serves).
pub async fn join(url: &str, shared: &Arc<Shared>) -> Result<()> {
    let team = shared.hub.team.clone();
    keeper::start(url, team.clone()).await?;
    let teller = team.clone();
    shared.hub.reach.on_change(move |peer, facts| {
        teller.announce(vec![Note::Reach {
            p: peer.to_string(),
            f: Box::new(facts.clone()),
        }]);
    });
    listen::start(url, &team.node.instance, Arc::new(Listener(shared.clone()))).await
}

/// Feeds the other brokers' notes to the hub.
struct Listener(Arc<Shared>);

impl listen::Receiver for Listener {
    fn notes(&self, from: &str, notes: Vec<Note>) {
        // The team is active: the session rule counts it as activity here.
        self.0.activity.touch(now_ms());
        self.0.hub.apply_remote(from, notes);
    }

    fn resync(&self, streams: HashMap<String, String>) {
        self.0.hub.resync(streams);
    }
}
