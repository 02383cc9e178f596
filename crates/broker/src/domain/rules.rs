//! The rules every path obeys, each written once.
//!
//! - [`can_reach`]: who may see and message whom (group isolation). Listing,
//!   name resolution, sending, broadcasting, history, pins, reactions and every
//!   coordination feature call it; nothing re-implements it.
//! - [`GroupFilter`]: the same rule in SQL, for listings that filter in the
//!   database: built from the same [`Standing`] ([`GroupFilter::of`]), with a
//!   test that the two always agree.
//! - [`Actor::is`]: whether an actor is the party a request is addressed to
//!   (the same peer; for the person, any operator); [`OperatorKind::named`]:
//!   which names address the person (`proto::names::operator_name`).
//! - [`auto_group`]: which group a registering peer lands in (the modes are
//!   [`AutoGroup`], a configuration choice).

use std::path::Path;

use claude_peers_proto::api::{Party, PartyKind};
use claude_peers_proto::names;

use crate::config::AutoGroup;

/// Who is acting on the broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A registered peer, by id (proved by its token).
    Peer(String),
    /// A person: at the dashboard or the CLI (proved by the admin token or a
    /// dashboard session).
    Operator(OperatorKind),
}

impl Actor {
    /// How an actor appears as a party to a message or in the audit log
    /// (a peer by its id; see `PeerRow::party` for its current name).
    pub fn party(&self) -> Party {
        match self {
            Actor::Peer(id) => Party {
                kind: PartyKind::Peer,
                id: id.clone(),
                name: id.clone(),
            },
            Actor::Operator(kind) => kind.party(),
        }
    }

    /// Whether this actor is `party`: the same peer; or, for the person,
    /// any operator (dashboard and CLI are one person, whichever name
    /// addressed them). A peer is never the person, nor the broker.
    pub fn is(&self, party: &Party) -> bool {
        match (self, party.kind) {
            (Actor::Peer(id), PartyKind::Peer) => *id == party.id,
            (Actor::Operator(_), PartyKind::Operator) => true,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorKind {
    Dashboard,
    Cli,
}

impl OperatorKind {
    pub fn id(self) -> &'static str {
        match self {
            Self::Dashboard => names::DASHBOARD,
            Self::Cli => names::CLI,
        }
    }

    /// The operator a recipient, approver or verifier names
    /// ([`names::operator_name`]: `dashboard` or `cli`), if it names one.
    pub fn named(raw: &str) -> Option<Self> {
        match names::operator_name(raw)? {
            names::CLI => Some(Self::Cli),
            _ => Some(Self::Dashboard),
        }
    }

    /// The person, as a party to a message or a record.
    pub fn party(self) -> Party {
        Party {
            kind: PartyKind::Operator,
            id: self.id().to_string(),
            name: self.id().to_string(),
        }
    }
}

/// Where an actor stands for isolation: above all groups (a person), or in one
/// namespace (a group id, or `None` for the lobby).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    Operator,
    Member(Option<String>),
}

/// May an actor standing at `from` see, and send to, a peer in `to_group`?
///
/// A person sees everything. A peer sees only its own namespace: the lobby sees
/// the lobby, a group sees itself; a group never sees the lobby or another group.
pub fn can_reach(from: &Standing, to_group: Option<&str>) -> bool {
    match from {
        Standing::Operator => true,
        Standing::Member(own) => own.as_deref() == to_group,
    }
}

/// Which namespaces a listing covers, as SQL over a `group_id` column: the
/// database form of [`can_reach`].
///
/// [`GroupFilter::of`] a standing keeps exactly the rows [`can_reach`] allows
/// (tested below against SQLite). The operator may narrow a listing to one
/// namespace ([`GroupFilter::One`]), never widen a peer's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum GroupFilter {
    /// Every group and the lobby (the operator).
    #[default]
    All,
    /// One namespace (`None` = the lobby).
    One(Option<String>),
}

impl GroupFilter {
    /// Everything an actor standing at `standing` may reach.
    pub fn of(standing: &Standing) -> Self {
        match standing {
            Standing::Operator => Self::All,
            Standing::Member(own) => Self::One(own.clone()),
        }
    }

    /// The SQL condition on `column`, taking the two parameters
    /// [`GroupFilter::params`] at positions `?{at}` and `?{at + 1}`.
    pub fn sql(column: &str, at: usize) -> String {
        format!("(?{at} = 0 OR {column} IS ?{})", at + 1)
    }

    /// The two parameters of [`GroupFilter::sql`].
    pub fn params(&self) -> (i64, Option<String>) {
        match self {
            Self::All => (0, None),
            Self::One(g) => (1, g.clone()),
        }
    }
}

/// The automatic group for a peer: its unique key and a display name, or
/// `None` for the lobby (not in a repository, or detached HEAD in branch mode).
///
/// The key uses the repository's common git directory, so worktrees of one
/// repository share it, and two repositories both on `main` do not.
pub fn auto_group(
    mode: AutoGroup,
    repo_key: Option<&str>,
    branch: Option<&str>,
) -> Option<(String, String)> {
    let repo = repo_key.filter(|r| !r.is_empty())?;
    let repo_name = repo_display_name(repo);
    match mode {
        AutoGroup::Off => None,
        AutoGroup::Repo => Some((format!("repo\n{repo}"), repo_name)),
        AutoGroup::Branch => {
            let branch = branch.filter(|b| !b.is_empty())?;
            Some((
                format!("branch\n{repo}\n{branch}"),
                format!("{repo_name}/{branch}"),
            ))
        }
    }
}

/// A readable name for a repository from its common git dir (`/x/app/.git` → `app`).
fn repo_display_name(common_dir: &str) -> String {
    let p = Path::new(common_dir);
    let base = if p.file_name().is_some_and(|n| n == ".git") {
        p.parent()
    } else {
        Some(p)
    };
    base.and_then(|b| b.file_name())
        .map(|n| n.to_string_lossy().trim_end_matches(".git").to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "repo".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actor_is_its_own_peer_or_the_person_for_either_name() {
        let peer = |id: &str| Party {
            kind: PartyKind::Peer,
            id: id.into(),
            name: id.into(),
        };
        let a = Actor::Peer("a".into());
        assert!(a.is(&peer("a")));
        assert!(!a.is(&peer("b")));
        for op in [OperatorKind::Dashboard, OperatorKind::Cli] {
            let me = Actor::Operator(op);
            assert!(me.is(&OperatorKind::Dashboard.party()));
            assert!(me.is(&OperatorKind::Cli.party()));
            assert!(!me.is(&peer("a")), "the person never answers for a peer");
            // A peer is never the person, whatever its id.
            assert!(!a.is(&op.party()));
            assert!(!Actor::Peer(op.id().into()).is(&op.party()));
        }
        let broker = Party {
            kind: PartyKind::System,
            id: "system".into(),
            name: "claude-peers".into(),
        };
        assert!(!a.is(&broker) && !Actor::Operator(OperatorKind::Cli).is(&broker));
    }

    #[test]
    fn operator_names_are_the_proto_ones() {
        assert_eq!(
            OperatorKind::named(" DASHBOARD"),
            Some(OperatorKind::Dashboard)
        );
        assert_eq!(OperatorKind::named("cli"), Some(OperatorKind::Cli));
        assert_eq!(OperatorKind::named("claude-1"), None);
        for k in [OperatorKind::Dashboard, OperatorKind::Cli] {
            assert_eq!(OperatorKind::named(k.id()), Some(k));
        }
    }

    fn g(id: &str) -> Option<String> {
        Some(id.to_string())
    }

    #[test]
    fn isolation_matrix() {
        let lobby = Standing::Member(None);
        let a = Standing::Member(g("a"));
        assert!(can_reach(&lobby, None), "lobby sees lobby");
        assert!(!can_reach(&lobby, Some("a")), "lobby does not see groups");
        assert!(!can_reach(&a, None), "a group does not see the lobby");
        assert!(can_reach(&a, Some("a")), "a group sees itself");
        assert!(!can_reach(&a, Some("b")), "groups do not see each other");
        assert!(can_reach(&Standing::Operator, Some("b")));
        assert!(can_reach(&Standing::Operator, None));
    }

    /// The SQL filter keeps exactly the rows `can_reach` allows, for every
    /// standing and every namespace (including ids SQL could confuse: an
    /// empty string, `NULL`-looking text, case).
    #[test]
    fn the_sql_filter_agrees_with_can_reach() {
        use proptest::prelude::*;
        let conn = crate::runtime::store::sql::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, group_id TEXT)")
            .unwrap();
        let sql = format!(
            "SELECT id FROM t WHERE {} ORDER BY id",
            GroupFilter::sql("group_id", 1)
        );
        let namespace = prop_oneof![
            Just(None),
            prop::sample::select(vec!["a", "b", "A", "", "NULL", "lobby"])
                .prop_map(|s| Some(s.to_string())),
        ];
        let standing = prop_oneof![
            Just(Standing::Operator),
            namespace.clone().prop_map(Standing::Member),
        ];
        let mut runner = proptest::test_runner::TestRunner::default();
        runner
            .run(
                &(standing, prop::collection::vec(namespace, 0..12)),
                |(standing, rows)| {
                    conn.execute("DELETE FROM t", []).unwrap();
                    for (i, g) in rows.iter().enumerate() {
                        conn.execute(
                            "INSERT INTO t (id, group_id) VALUES (?1, ?2)",
                            crate::runtime::store::sql::params![i as i64, g],
                        )
                        .unwrap();
                    }
                    let (all, group) = GroupFilter::of(&standing).params();
                    let kept: Vec<i64> = conn
                        .prepare_cached(&sql)
                        .unwrap()
                        .query_map(crate::runtime::store::sql::params![all, group], |r| {
                            r.get(0)
                        })
                        .unwrap()
                        .collect::<crate::runtime::store::sql::Result<_>>()
                        .unwrap();
                    let allowed: Vec<i64> = rows
                        .iter()
                        .enumerate()
                        .filter(|(_, g)| can_reach(&standing, g.as_deref()))
                        .map(|(i, _)| i as i64)
                        .collect();
                    prop_assert_eq!(kept, allowed);
                    Ok(())
                },
            )
            .unwrap();
    }

    #[test]
    fn auto_groups_are_keyed_by_repository_and_branch() {
        let a = auto_group(AutoGroup::Branch, Some("/src/app/.git"), Some("main")).unwrap();
        let b = auto_group(AutoGroup::Branch, Some("/src/lib/.git"), Some("main")).unwrap();
        assert_ne!(a.0, b.0, "two repositories on main are two groups");
        assert_eq!(a.1, "app/main");
        assert_eq!(b.1, "lib/main");
        let wt = auto_group(AutoGroup::Branch, Some("/src/app/.git"), Some("main")).unwrap();
        assert_eq!(a, wt, "a worktree shares the common dir");
        let other_branch =
            auto_group(AutoGroup::Branch, Some("/src/app/.git"), Some("dev")).unwrap();
        assert_ne!(a.0, other_branch.0);
    }

    #[test]
    fn lobby_when_there_is_nothing_to_group_by() {
        assert_eq!(auto_group(AutoGroup::Branch, None, Some("main")), None);
        assert_eq!(
            auto_group(AutoGroup::Branch, Some("/r/.git"), None),
            None,
            "detached HEAD"
        );
        assert_eq!(
            auto_group(AutoGroup::Off, Some("/r/.git"), Some("main")),
            None
        );
        let repo = auto_group(AutoGroup::Repo, Some("/r/app.git"), None).unwrap();
        assert_eq!(repo.1, "app", "bare repository name");
    }
}
