//! Which default-name numbers (`claude-N`) are in use in each namespace, kept
//! as bitmaps in `name_slots` so that the lowest free number is found without
//! reading every name of the namespace.
//!
//! One row per namespace (`ns`: the group id, `''` for the lobby) and block of
//! [`BLOCK`] numbers: bit `N % BLOCK` of block `N / BLOCK` is set while a listed
//! peer there is named `claude-N` (any case; custom names of that shape count,
//! as before). Rows whose bits are all clear are deleted. Every change of a
//! listed peer's name, namespace or listing goes through [`vacate`] before and
//! [`occupy`] after it, in the same transaction, so the bitmaps never disagree
//! with `peers`.

use crate::runtime::store::sql::{Connection, OptionalExtension, params};
use claude_peers_proto::names::default_slot;

use crate::error::Result;

/// Numbers per bitmap row: the bits of a non-negative 64-bit integer.
pub const BLOCK: u32 = 63;
/// A block with every number in use.
const FULL: i64 = i64::MAX;

/// The namespace key of `group` in `name_slots`.
fn ns(group: Option<&str>) -> &str {
    group.unwrap_or("")
}

/// The block and bit of `slot`.
fn place(slot: u32) -> (i64, i64) {
    (i64::from(slot / BLOCK), 1i64 << (slot % BLOCK))
}

/// Where a peer's name sits, if it is listed and has the default shape.
fn held(conn: &Connection, peer_id: &str) -> Result<Option<(Option<String>, u32)>> {
    let row: Option<(Option<String>, String)> = conn
        .prepare_cached("SELECT group_id, name FROM peers WHERE id = ?1 AND removed_at IS NULL")?
        .query_row([peer_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.and_then(|(group, name)| default_slot(&name).map(|slot| (group, slot))))
}

/// The number held by `peer_id` (listed, in `group`), if any.
pub fn held_in(conn: &Connection, group: Option<&str>, peer_id: &str) -> Result<Option<u32>> {
    Ok(held(conn, peer_id)?
        .filter(|(g, _)| g.as_deref() == group)
        .map(|(_, slot)| slot))
}

/// Call before a listed peer's name or namespace changes, or it is removed
/// or deleted: frees its number.
pub fn vacate(conn: &Connection, peer_id: &str) -> Result<()> {
    let Some((group, slot)) = held(conn, peer_id)? else {
        return Ok(());
    };
    let ns = ns(group.as_deref());
    let (block, bit) = place(slot);
    conn.prepare_cached("UPDATE name_slots SET bits = bits & ?3 WHERE ns = ?1 AND block = ?2")?
        .execute(params![ns, block, !bit])?;
    conn.prepare_cached("DELETE FROM name_slots WHERE ns = ?1 AND block = ?2 AND bits = 0")?
        .execute(params![ns, block])?;
    Ok(())
}

/// Call after a peer was inserted, renamed, moved or listed again: marks its
/// number as used.
pub fn occupy(conn: &Connection, peer_id: &str) -> Result<()> {
    let Some((group, slot)) = held(conn, peer_id)? else {
        return Ok(());
    };
    let (block, bit) = place(slot);
    conn.prepare_cached(
        "INSERT INTO name_slots (ns, block, bits) VALUES (?1, ?2, ?3)
         ON CONFLICT (ns, block) DO UPDATE SET bits = name_slots.bits | excluded.bits",
    )?
    .execute(params![ns(group.as_deref()), block, bit])?;
    Ok(())
}

/// The lowest number ≥ 1 not in use in `group`: reads the blocks in order up
/// to the first one with a free number (`claude-0` does not exist, so bit 0
/// of block 0 counts as used).
pub fn lowest_free(conn: &Connection, group: Option<&str>) -> Result<u32> {
    let mut stmt =
        conn.prepare_cached("SELECT block, bits FROM name_slots WHERE ns = ?1 ORDER BY block")?;
    let mut rows = stmt.query_map([ns(group)], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut expected: i64 = 0;
    while let Some(row) = rows.next().transpose()? {
        let (block, mut bits) = row;
        if expected == 0 {
            bits |= 1;
        }
        if block != expected {
            break;
        }
        if bits != FULL {
            let bit = (!bits).trailing_zeros();
            return Ok(slot_at(expected, bit));
        }
        expected += 1;
    }
    Ok(slot_at(expected, if expected == 0 { 1 } else { 0 }))
}

fn slot_at(block: i64, bit: u32) -> u32 {
    (block as u32) * BLOCK + bit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::runtime::store::schema::migrate(conn.as_sqlite_mut().unwrap()).unwrap();
        conn
    }

    fn add(conn: &Connection, id: &str, group: Option<&str>, name: &str) {
        conn.execute(
            "INSERT INTO peers (id, token_hash, name, name_key, group_id, pid, cwd, registered_at, last_seen)
             VALUES (?1, ?1, ?2, lower(?2), ?3, 1, '/', 0, 0)",
            params![id, name, group],
        )
        .unwrap();
        occupy(conn, id).unwrap();
    }

    fn remove(conn: &Connection, id: &str) {
        vacate(conn, id).unwrap();
        conn.execute("UPDATE peers SET removed_at = 1 WHERE id = ?1", [id])
            .unwrap();
    }

    #[test]
    fn the_lowest_free_number_is_reused_after_a_peer_leaves() {
        let conn = db();
        assert_eq!(lowest_free(&conn, None).unwrap(), 1);
        for i in 1..=200 {
            add(&conn, &format!("p{i}"), None, &format!("claude-{i}"));
        }
        assert_eq!(lowest_free(&conn, None).unwrap(), 201);
        remove(&conn, "p130");
        assert_eq!(lowest_free(&conn, None).unwrap(), 130);
        remove(&conn, "p63");
        assert_eq!(lowest_free(&conn, None).unwrap(), 63);
        remove(&conn, "p1");
        assert_eq!(lowest_free(&conn, None).unwrap(), 1);
        add(&conn, "q1", None, "claude-1");
        add(&conn, "q63", None, "claude-63");
        add(&conn, "q130", None, "claude-130");
        assert_eq!(lowest_free(&conn, None).unwrap(), 201);
    }

    #[test]
    fn namespaces_and_name_shapes_are_kept_apart() {
        let conn = db();
        add(&conn, "a", None, "claude-1");
        add(&conn, "b", Some("g1"), "Claude-1");
        add(&conn, "c", Some("g1"), "claude-2");
        add(&conn, "d", Some("g1"), "claude-02");
        add(&conn, "e", Some("g1"), "frontend");
        assert_eq!(lowest_free(&conn, None).unwrap(), 2);
        assert_eq!(lowest_free(&conn, Some("g1")).unwrap(), 3);
        assert_eq!(lowest_free(&conn, Some("g2")).unwrap(), 1);
        assert_eq!(held_in(&conn, Some("g1"), "c").unwrap(), Some(2));
        assert_eq!(held_in(&conn, None, "c").unwrap(), None);
        assert_eq!(held_in(&conn, Some("g1"), "e").unwrap(), None);
    }

    #[test]
    fn a_whole_empty_block_is_found_and_cleared_rows_are_deleted() {
        let conn = db();
        // Numbers 1..=62 fill block 0; 126 is alone in block 2.
        for i in 1..=62 {
            add(&conn, &format!("p{i}"), None, &format!("claude-{i}"));
        }
        add(&conn, "far", None, "claude-126");
        assert_eq!(lowest_free(&conn, None).unwrap(), 63);
        remove(&conn, "far");
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM name_slots WHERE block = 2", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(rows, 0);
        // Vacating a peer that is not listed changes nothing.
        remove(&conn, "far");
        assert_eq!(lowest_free(&conn, None).unwrap(), 63);
    }

    #[test]
    fn the_migration_fills_the_bitmaps_from_existing_peers() {
        use crate::runtime::store::schema::MIGRATIONS;
        // The schema just before the migration that adds `name_slots`.
        let before = MIGRATIONS
            .iter()
            .position(|m| m.both.contains("CREATE TABLE name_slots"))
            .unwrap();
        let mut conn = Connection::open_in_memory().unwrap();
        let steps: String = MIGRATIONS[..before]
            .iter()
            .map(|m| m.sqlite_sql())
            .collect();
        conn.execute_batch(&steps).unwrap();
        conn.as_sqlite()
            .unwrap()
            .pragma_update(None, "user_version", before as u32)
            .unwrap();
        for (id, group, name, removed) in [
            ("a", None, "claude-1", false),
            ("b", None, "Claude-2", false),
            ("c", None, "claude-4", true),
            ("d", None, "claude-70", false),
            ("e", Some("g"), "claude-1", false),
            ("f", None, "claude-01", false),
            ("g", None, "claude-99999999999", false),
        ] {
            conn.execute(
                "INSERT INTO peers (id, token_hash, name, name_key, group_id, pid, cwd, registered_at,
                   last_seen, removed_at) VALUES (?1, ?1, ?2, lower(?2), ?3, 1, '/', 0, 0, ?4)",
                params![id, name, group, removed.then_some(1i64)],
            )
            .unwrap();
        }
        crate::runtime::store::schema::migrate(conn.as_sqlite_mut().unwrap()).unwrap();
        let rows: Vec<(String, i64, i64)> = conn
            .prepare_cached("SELECT ns, block, bits FROM name_slots ORDER BY ns, block")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<crate::runtime::store::sql::Result<_>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (String::new(), 0, 0b110),
                (String::new(), 1, 1 << 7),
                ("g".to_string(), 0, 0b10),
            ]
        );
        assert_eq!(lowest_free(&conn, None).unwrap(), 3);
    }
}
