//! The context snapshot attached to outgoing messages (branch, recent files,
//! summary, directory), taken from a cache that git refreshes in the
//! background, so a send never waits for git.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use claude_peers_proto::api::ContextSnapshot;
use claude_peers_proto::limits::MAX_CONTEXT_FILES;

use super::{Session, lock};
use crate::git::{self, Snapshot};

/// Context snapshots are refreshed when older than this.
const SNAPSHOT_TTL: Duration = Duration::from_secs(15);
/// The first send waits this long at most for the first snapshot.
const FIRST_SNAPSHOT_WAIT: Duration = Duration::from_millis(500);

impl Session {
    pub fn remember_summary(&self, s: &str) {
        *lock(&self.summary) = s.to_string();
    }

    /// A context snapshot for an outgoing message, from the cache (refreshed in
    /// the background when old; never waits for git).
    pub fn context(self: &Arc<Self>) -> ContextSnapshot {
        let snap = lock(&self.snapshot).clone();
        let stale = snap
            .as_ref()
            .is_none_or(|s| s.taken.elapsed() > SNAPSHOT_TTL);
        if stale {
            self.refresh_in_background();
        }
        let repo = lock(&self.repo).clone().unwrap_or_default();
        ContextSnapshot {
            branch: snap.as_ref().and_then(|s| s.branch.clone()).or(repo.branch),
            recent_files: snap.map(|s| s.recent_files).unwrap_or_default(),
            summary: lock(&self.summary).clone(),
            cwd: self.opts.cwd.display().to_string(),
        }
    }

    /// Like [`Session::context`], but the very first snapshot (none taken yet)
    /// is waited for, briefly ([`FIRST_SNAPSHOT_WAIT`] at most).
    pub async fn fresh_context(self: &Arc<Self>) -> ContextSnapshot {
        if lock(&self.snapshot).is_none() {
            self.refresh_in_background();
            let deadline = Instant::now() + FIRST_SNAPSHOT_WAIT;
            while lock(&self.snapshot).is_none() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        self.context()
    }

    /// Take a new snapshot in the background, unless one is being taken.
    pub(super) fn refresh_in_background(self: &Arc<Self>) {
        if !self.refreshing.swap(true, Ordering::AcqRel) {
            let me = self.clone();
            tokio::spawn(async move {
                me.refresh_snapshot().await;
                me.refreshing.store(false, Ordering::Release);
            });
        }
    }

    async fn refresh_snapshot(&self) {
        let info = git::repo_info(&self.opts.cwd).await;
        let files = if info.root.is_some() {
            git::recent_files(&self.opts.cwd, MAX_CONTEXT_FILES.min(10)).await
        } else {
            Vec::new()
        };
        *lock(&self.snapshot) = Some(Snapshot {
            branch: info.branch.clone(),
            recent_files: files,
            taken: Instant::now(),
        });
    }
}
