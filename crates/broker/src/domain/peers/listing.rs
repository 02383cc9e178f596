//! `list_peers` a page at a time: the scope, who may see whom, the caller and
//! stale peers are all narrowed in SQL, in listing order (registration time,
//! then id) over indexes, so a page costs the same however many peers are
//! registered; a [`PeerCursor`] says where the next page starts.

use crate::runtime::store::sql::{self, Connection};
use claude_peers_proto::api::{PeerCursor, Scope};

use crate::domain::peers::rows::{PeerRow, SELECT};
use crate::domain::rules::{GroupFilter, Standing};
use crate::error::Result;

/// What to list besides the scope.
#[derive(Debug, Clone)]
pub struct Listing {
    pub include_self: bool,
    pub include_stale: bool,
    /// Resume after this peer (`None`: the first page).
    pub after: Option<PeerCursor>,
    /// Peers per page (already validated).
    pub limit: u32,
}

/// One page, and the cursor of the next one if more peers are listed.
#[derive(Debug)]
pub struct Page {
    pub peers: Vec<PeerRow>,
    pub next: Option<PeerCursor>,
}

/// A page of the listed peers in `scope` around `me` (the operator, without
/// `me`, lists every namespace whatever the scope) that an actor standing at
/// `standing` may see: the SQL form of `in_scope(visible(..))`.
pub fn page(
    conn: &Connection,
    standing: &Standing,
    me: Option<&PeerRow>,
    scope: Scope,
    listing: &Listing,
) -> Result<Page> {
    let mut sql = format!(
        "{SELECT} WHERE p.removed_at IS NULL AND (p.registered_at, p.id) > (?1, ?2)
         AND p.id IS NOT ?3 AND (?4 = 1 OR p.stale = 0)"
    );
    // Who may see whom (`rules::can_reach`, as `GroupFilter` writes it for
    // SQL), spelled so that the namespace's index is used.
    let group = match GroupFilter::of(standing) {
        GroupFilter::All => None,
        GroupFilter::One(g) => {
            sql.push_str(" AND p.group_id IS ?5");
            Some(g)
        }
    };
    let narrow = me.and_then(|me| match (scope, me.repo_key.as_deref()) {
        (Scope::Machine, _) => None,
        (Scope::Repo, Some(repo)) => Some(("repo_key", repo.to_string())),
        (Scope::Directory, _) | (Scope::Repo, None) => Some(("cwd", me.cwd.clone())),
    });
    if let Some((column, _)) = &narrow {
        sql.push_str(&format!(" AND p.{column} = ?6"));
    }
    sql.push_str(" ORDER BY p.registered_at, p.id LIMIT ?7");
    let (after_at, after_id) = match &listing.after {
        Some(c) => (c.registered_at, c.id.clone()),
        None => (i64::MIN, String::new()),
    };
    let skip = me.filter(|_| !listing.include_self).map(|me| me.id.clone());
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        sql::params![
            after_at,
            after_id,
            skip,
            listing.include_stale,
            group.flatten(),
            narrow.map(|(_, v)| v),
            i64::from(listing.limit) + 1,
        ],
        PeerRow::from_row,
    )?;
    let mut peers = rows.collect::<sql::Result<Vec<_>>>()?;
    let next = if peers.len() > listing.limit as usize {
        peers.truncate(listing.limit as usize);
        peers.last().map(|p| PeerCursor {
            registered_at: p.registered_at,
            id: p.id.clone(),
        })
    } else {
        None
    };
    Ok(Page { peers, next })
}

#[cfg(test)]
mod tests {
    use crate::runtime::store::sql::params;

    use super::*;
    use crate::domain::peers::rows::{get, in_scope, visible};

    fn listing(limit: u32, after: Option<PeerCursor>) -> Listing {
        Listing {
            include_self: true,
            include_stale: true,
            after,
            limit,
        }
    }

    /// Every page in turn, as ids.
    fn pages(
        conn: &Connection,
        standing: &Standing,
        me: Option<&PeerRow>,
        scope: Scope,
        base: &Listing,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut l = base.clone();
        loop {
            let p = page(conn, standing, me, scope, &l).unwrap();
            assert!(p.peers.len() <= l.limit as usize);
            out.extend(p.peers.into_iter().map(|p| p.id));
            assert!(out.len() <= 100, "the pages never end: {out:?}");
            match p.next {
                Some(c) => l.after = Some(c),
                None => return out,
            }
        }
    }

    /// The listing narrowed in SQL is the listing narrowed by [`in_scope`],
    /// for every scope, with and without a repository, across groups, whole
    /// or a page at a time, and each kind of page reads the index that holds
    /// exactly its rows in listing order (no sort, no other peer read).
    #[test]
    fn a_scope_narrowed_in_sql_lists_what_in_scope_lists_page_by_page() {
        let dir =
            std::env::temp_dir().join(format!("cp-scope-{}", crate::runtime::ids::short_id(8)));
        std::fs::create_dir_all(&dir).unwrap();
        let mut conn = Connection::open(dir.join("x.db")).unwrap();
        crate::runtime::store::schema::migrate(conn.as_sqlite_mut().unwrap()).unwrap();
        /// id, group, cwd, repo, removed, registered at, stale
        type Fixture<'a> = (
            &'a str,
            Option<&'a str>,
            &'a str,
            Option<&'a str>,
            bool,
            i64,
            bool,
        );
        let rows: &[Fixture<'_>] = &[
            ("a", None, "/w/x", Some("/r1"), false, 0, false),
            ("b", None, "/w/x", Some("/r1"), false, 1, true),
            ("c", None, "/w/y", Some("/r1"), false, 2, false),
            ("d", None, "/w/x", None, false, 3, false),
            ("e", Some("g1"), "/w/x", Some("/r1"), false, 4, false),
            ("f", None, "/w/x", Some("/r1"), true, 5, false),
            ("g", None, "/w/z", None, false, 6, false),
            ("h", None, "/w/z", None, false, 7, false),
            // Registered in the same millisecond: the id orders them.
            ("j", None, "/w/x", Some("/r1"), false, 8, false),
            ("i", None, "/w/x", Some("/r1"), false, 8, false),
        ];
        for (id, group, cwd, repo, removed, at, stale) in rows {
            conn.execute(
                "INSERT INTO peers (id, token_hash, name, name_key, group_id, pid, cwd, repo_key,
                   registered_at, last_seen, removed_at, stale)
                 VALUES (?1, ?1, ?1, ?1, ?2, 1, ?3, ?4, ?5, 0, ?6, ?7)",
                params![id, group, cwd, repo, at, removed.then_some(1i64), stale],
            )
            .unwrap();
        }
        let ids = |v: Vec<PeerRow>| v.into_iter().map(|p| p.id).collect::<Vec<_>>();
        for me in ["a", "c", "d", "e", "g"] {
            let me = get(&conn, me).unwrap().unwrap();
            for standing in [me.standing(), Standing::Operator] {
                for scope in [Scope::Machine, Scope::Directory, Scope::Repo] {
                    let all = in_scope(visible(&conn, &standing).unwrap(), &me, scope);
                    for limit in [1, 2, 3, 100] {
                        let what = format!("{} {scope:?} {standing:?} limit {limit}", me.id);
                        let got = pages(&conn, &standing, Some(&me), scope, &listing(limit, None));
                        assert_eq!(got, ids(all.clone()), "{what}");
                        let others = Listing {
                            include_self: false,
                            include_stale: false,
                            ..listing(limit, None)
                        };
                        let got = pages(&conn, &standing, Some(&me), scope, &others);
                        let want: Vec<String> = all
                            .iter()
                            .filter(|p| p.id != me.id && !p.stale)
                            .map(|p| p.id.clone())
                            .collect();
                        assert_eq!(got, want, "{what}, without self and stale");
                    }
                }
            }
        }
        // The operator without a peer of its own: every namespace.
        let got = pages(
            &conn,
            &Standing::Operator,
            None,
            Scope::Directory,
            &listing(3, None),
        );
        assert_eq!(got, ids(visible(&conn, &Standing::Operator).unwrap()));
        for (narrow, plan_has) in [
            ("", "peers_listed "),
            (" AND p.group_id IS ?5", "peers_listed_ns "),
            (" AND p.group_id IS ?5 AND p.cwd = ?6", "peers_listed_cwd "),
            (
                " AND p.group_id IS ?5 AND p.repo_key = ?6",
                "peers_listed_repo ",
            ),
        ] {
            let plan: Vec<String> = conn
                .as_sqlite()
                .unwrap()
                .prepare(&format!(
                    "EXPLAIN QUERY PLAN {SELECT} WHERE p.removed_at IS NULL
                     AND (p.registered_at, p.id) > (?1, ?2) AND p.id IS NOT ?3
                     AND (?4 = 1 OR p.stale = 0){narrow} ORDER BY p.registered_at, p.id LIMIT ?7"
                ))
                .unwrap()
                .query_map(params![0, "", "", 1, "g", "x", 10], |r| r.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            let plan = plan.join("; ");
            assert!(plan.contains(plan_has), "{narrow}: {plan}");
            assert!(!plan.contains("TEMP B-TREE"), "{narrow}: sorts: {plan}");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_cursor_of_a_peer_that_left_still_resumes_after_it() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::runtime::store::schema::migrate(conn.as_sqlite_mut().unwrap()).unwrap();
        for (i, id) in ["a", "b", "c", "d"].iter().enumerate() {
            conn.execute(
                "INSERT INTO peers (id, token_hash, name, name_key, pid, cwd, registered_at, last_seen)
                 VALUES (?1, ?1, ?1, ?1, 1, '/', ?2, 0)",
                params![id, i as i64],
            )
            .unwrap();
        }
        let first = page(
            &conn,
            &Standing::Operator,
            None,
            Scope::Machine,
            &listing(2, None),
        )
        .unwrap();
        let next = first.next.unwrap();
        assert_eq!(next.id, "b");
        conn.execute("UPDATE peers SET removed_at = 1 WHERE id = 'b'", [])
            .unwrap();
        let second = page(
            &conn,
            &Standing::Operator,
            None,
            Scope::Machine,
            &listing(2, Some(next)),
        )
        .unwrap();
        let ids: Vec<&str> = second.peers.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["c", "d"]);
        assert!(second.next.is_none());
    }
}
