//! The database schema as numbered migrations, applied in order and recorded in
//! `PRAGMA user_version`. A migration is never edited once released: changes are
//! new entries at the end.
//!
//! No partial indexes: SQLite re-prepares a statement on every new binding
//! when a bound value could decide whether a partial index applies, which
//! made every lookup cost a parse. Uniqueness of listed names is enforced by a
//! unique index on a generated column instead.
//!
//! Foreign keys are deliberately not declared: a message outlives its sender and
//! recipient, and cleanup must never fail on a dangling reference.

use rusqlite::Connection;

use super::dialect::ddl_to_postgres;

/// One step of the schema for both engines. What the engines share is
/// written once, in SQLite's dialect, and rendered for PostgreSQL
/// ([`ddl_to_postgres`]: integers are `BIGINT`, since SQLite's are 64-bit and
/// the facade binds and reads them as such; flags stay integers). What only
/// one engine has is written in its own: SQLite's FTS5 table and its mark,
/// PostgreSQL's GIN index over `to_tsvector('simple', text)` (which it keeps
/// itself), the brokers' heartbeats and the events too large for a
/// notification (`runtime/team`, PostgreSQL only), and the few statements
/// whose spelling differs.
pub struct Migration {
    /// Both engines run this first (SQLite's dialect).
    pub both: &'static str,
    /// Then SQLite runs this.
    pub sqlite: &'static str,
    /// Or PostgreSQL runs this (its own dialect).
    pub postgres: &'static str,
}

impl Migration {
    /// The step as SQLite runs it.
    pub fn sqlite_sql(&self) -> String {
        [self.both, self.sqlite].concat()
    }

    /// The step as PostgreSQL runs it.
    pub fn postgres_sql(&self) -> String {
        ddl_to_postgres(self.both) + self.postgres
    }
}

/// Migration `i` (0-based) moves the schema from version `i` to `i + 1`, on
/// either engine (SQLite's `PRAGMA user_version`, PostgreSQL's
/// `schema_version`).
pub const MIGRATIONS: &[Migration] = &[
    // 1: peers, groups, messages with per-recipient deliveries, reactions, audit, sessions.
    Migration {
        both: r#"
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        started_at INTEGER NOT NULL
    );
    CREATE TABLE groups (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL UNIQUE,
        auto_key TEXT UNIQUE,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE peers (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        name_key TEXT NOT NULL,
        custom_name INTEGER NOT NULL DEFAULT 0,
        group_id TEXT,
        group_manual INTEGER NOT NULL DEFAULT 0,
        pid INTEGER NOT NULL,
        pid_start INTEGER,
        local INTEGER NOT NULL DEFAULT 1,
        cwd TEXT NOT NULL,
        git_root TEXT,
        repo_key TEXT,
        git_branch TEXT,
        tty TEXT,
        summary TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'online',
        registered_at INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        stale INTEGER NOT NULL DEFAULT 0,
        removed_at INTEGER,
        queued INTEGER NOT NULL DEFAULT 0,
        -- A listed peer's name in its namespace; NULL once removed (NULLs do not collide).
        name_slot TEXT GENERATED ALWAYS AS (
            CASE WHEN removed_at IS NULL THEN coalesce(group_id, '') || char(31) || name_key END
        ) VIRTUAL
    );
    CREATE UNIQUE INDEX peers_name ON peers (name_slot);
    CREATE INDEX peers_group ON peers (group_id);
    CREATE INDEX peers_name_key ON peers (name_key);
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        from_kind TEXT NOT NULL,
        from_id TEXT NOT NULL,
        from_name TEXT NOT NULL,
        group_id TEXT,
        to_kind TEXT,
        to_id TEXT,
        to_name TEXT,
        scope TEXT,
        text TEXT NOT NULL,
        msg_type TEXT,
        metadata TEXT,
        context TEXT,
        pinned INTEGER NOT NULL DEFAULT 0,
        sent_at INTEGER NOT NULL
    );
    CREATE INDEX messages_session ON messages (session_id, id);
    CREATE INDEX messages_from ON messages (from_id, id);
    CREATE TABLE deliveries (
        recipient_id TEXT NOT NULL,
        message_id INTEGER NOT NULL,
        recipient_name TEXT NOT NULL,
        state INTEGER NOT NULL DEFAULT 0,
        delivered_at INTEGER,
        read_at INTEGER,
        PRIMARY KEY (recipient_id, message_id)
    ) WITHOUT ROWID;
    CREATE INDEX deliveries_message ON deliveries (message_id);
    CREATE INDEX deliveries_state ON deliveries (recipient_id, state, message_id);
    CREATE TABLE reactions (
        message_id INTEGER NOT NULL,
        party_id TEXT NOT NULL,
        party_kind TEXT NOT NULL,
        party_name TEXT NOT NULL,
        emoji TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (message_id, party_id, emoji)
    ) WITHOUT ROWID;
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        session_id TEXT NOT NULL,
        actor_kind TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        actor_name TEXT NOT NULL,
        action TEXT NOT NULL,
        details TEXT NOT NULL DEFAULT '',
        group_id TEXT
    );
    CREATE INDEX audit_at ON audit (at);
    "#,
        sqlite: "",
        postgres: "",
    },
    // 2: coordination: tasks, decisions, verifications, proposals and votes,
    // approvals, active files. Each record keeps the group it belongs to (NULL =
    // the lobby) and the names of its parties as they were (the current name is
    // shown while the peer exists).
    Migration {
        both: r#"
    CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        group_id TEXT,
        title TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT 'pending',
        creator_kind TEXT NOT NULL,
        creator_id TEXT NOT NULL,
        creator_name TEXT NOT NULL,
        assignee_id TEXT,
        assignee_name TEXT,
        result TEXT NOT NULL DEFAULT '',
        completed_by_kind TEXT,
        completed_by_id TEXT,
        completed_by_name TEXT,
        created_at INTEGER NOT NULL,
        started_at INTEGER,
        completed_at INTEGER
    );
    CREATE INDEX tasks_session ON tasks (session_id, created_at);
    CREATE TABLE decisions (
        id TEXT PRIMARY KEY,
        group_id TEXT,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        rationale TEXT NOT NULL DEFAULT '',
        category TEXT NOT NULL DEFAULT 'general',
        status TEXT NOT NULL DEFAULT 'active',
        author_kind TEXT NOT NULL,
        author_id TEXT NOT NULL,
        author_name TEXT NOT NULL,
        revoked_by_kind TEXT,
        revoked_by_id TEXT,
        revoked_by_name TEXT,
        session_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
    );
    CREATE INDEX decisions_updated ON decisions (updated_at);
    CREATE TABLE verifications (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        group_id TEXT,
        requester_id TEXT NOT NULL,
        requester_name TEXT NOT NULL,
        verifier_id TEXT NOT NULL,
        verifier_name TEXT NOT NULL,
        claim TEXT NOT NULL,
        evidence_needed TEXT NOT NULL DEFAULT '',
        files_to_check TEXT NOT NULL DEFAULT '[]',
        status TEXT NOT NULL DEFAULT 'pending',
        response TEXT NOT NULL DEFAULT '',
        evidence TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        resolved_at INTEGER
    );
    CREATE INDEX verifications_session ON verifications (session_id, created_at);
    CREATE TABLE proposals (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        group_id TEXT,
        author_id TEXT NOT NULL,
        author_name TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        required_votes INTEGER NOT NULL DEFAULT 2,
        status TEXT NOT NULL DEFAULT 'open',
        created_at INTEGER NOT NULL,
        resolved_at INTEGER
    );
    CREATE INDEX proposals_session ON proposals (session_id, created_at);
    CREATE TABLE proposal_votes (
        proposal_id TEXT NOT NULL,
        voter_id TEXT NOT NULL,
        voter_kind TEXT NOT NULL,
        voter_name TEXT NOT NULL,
        vote TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (proposal_id, voter_id)
    ) WITHOUT ROWID;
    CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        group_id TEXT,
        requester_id TEXT NOT NULL,
        requester_name TEXT NOT NULL,
        approver_id TEXT NOT NULL,
        approver_name TEXT NOT NULL,
        action TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        reason TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL,
        resolved_at INTEGER
    );
    CREATE INDEX approvals_session ON approvals (session_id, created_at);
    CREATE TABLE active_files (
        peer_id TEXT NOT NULL,
        path TEXT NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (peer_id, path)
    ) WITHOUT ROWID;
    CREATE INDEX active_files_path ON active_files (path);
    "#,
        sqlite: r#"
    CREATE UNIQUE INDEX decisions_key ON decisions (coalesce(group_id, ''), key);
    "#,
        postgres: r#"
    CREATE UNIQUE INDEX decisions_key ON decisions ((coalesce(group_id, '')), key);
    "#,
    },
    // 3: the delivery ladder: which rung showed which message to which Claude
    // Code session of a recipient (shown once per session; see `shown.rs`).
    Migration {
        both: r#"
    CREATE TABLE shown (
        recipient_id TEXT NOT NULL,
        cc_session TEXT NOT NULL,
        message_id INTEGER NOT NULL,
        rung TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (recipient_id, cc_session, message_id, rung)
    ) WITHOUT ROWID;
    CREATE INDEX shown_message ON shown (message_id);
    "#,
        sqlite: "",
        postgres: "",
    },
    // 4: conversations. Threads (a reply names the message it answers and the
    // root of its thread; a root has no thread_id), the notifications of a
    // coordination record threaded under its first one, the loop guard's
    // chains and held messages, and a full-text index of message text kept by
    // triggers in the transaction that writes the message.
    Migration {
        both: r#"
    ALTER TABLE messages ADD COLUMN thread_id INTEGER;
    ALTER TABLE messages ADD COLUMN reply_to INTEGER;
    ALTER TABLE messages ADD COLUMN chain_id INTEGER;
    ALTER TABLE messages ADD COLUMN chain_depth INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE messages ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX messages_thread ON messages (thread_id, id);
    CREATE TABLE record_threads (
        record_id TEXT PRIMARY KEY,
        message_id INTEGER NOT NULL
    ) WITHOUT ROWID;
    -- Where each peer stands in a chain: the deepest agent message it received
    -- since a person last wrote to it.
    CREATE TABLE chains (
        peer_id TEXT PRIMARY KEY,
        chain_id INTEGER NOT NULL,
        depth INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX chains_chain ON chains (chain_id);
    -- Messages the loop guard holds, with the recipients they will reach.
    CREATE TABLE held (
        message_id INTEGER PRIMARY KEY,
        chain_id INTEGER NOT NULL,
        recipients TEXT NOT NULL,
        held_at INTEGER NOT NULL
    );
    CREATE INDEX held_chain ON held (chain_id, message_id);
    "#,
        sqlite: r#"
    CREATE VIRTUAL TABLE messages_fts USING fts5(
        text, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
    );
    INSERT INTO messages_fts (rowid, text) SELECT id, text FROM messages;
    CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
    END;
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    "#,
        postgres: r#"
    CREATE INDEX messages_text ON messages USING gin (to_tsvector('simple', text));
    "#,
    },
    // 5: the full-text index is written once per committed batch by the
    // store's writer (see `store/fts.rs`), not by an insert trigger: FTS5
    // flushes at every savepoint, and each job of a batch runs in one. The
    // mark of what is indexed starts at the newest message (migration 4
    // indexed all of them); the delete trigger only touches indexed ids.
    Migration {
        both: "",
        sqlite: r#"
    DROP TRIGGER messages_fts_insert;
    DROP TRIGGER messages_fts_delete;
    INSERT OR REPLACE INTO kv (key, value)
        VALUES ('fts_indexed_upto', (SELECT coalesce(max(id), 0) FROM messages));
    CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
    WHEN old.id <= (SELECT CAST(value AS INTEGER) FROM kv WHERE key = 'fts_indexed_upto')
    BEGIN
        INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    END;
    "#,
        postgres: "",
    },
    // 6: listing peers by scope (`directory`, `repo`) reads only the peers of
    // that directory or repository, however many are registered.
    Migration {
        both: r#"
    CREATE INDEX peers_cwd ON peers (cwd) WHERE removed_at IS NULL;
    CREATE INDEX peers_repo ON peers (repo_key) WHERE removed_at IS NULL;
    "#,
        sqlite: "",
        postgres: "",
    },
    // 7: a task's assignee can say it is blocked, and why (the "needs you" lane).
    Migration {
        both: r#"
    ALTER TABLE tasks ADD COLUMN blocked_reason TEXT NOT NULL DEFAULT '';
    "#,
        sqlite: "",
        postgres: "",
    },
    // 8: scale with many registered peers. The default-name numbers in use
    // per namespace, as bitmaps of 63 numbers (see `domain/peers/slots.rs`),
    // so that registering finds the lowest free `claude-N` without reading
    // every name; filled here from the listed peers whose name is `claude-`
    // and a number from 1 to 2^32 - 1 without leading zeros (one peer per
    // number and namespace: names are unique there, so the sum of the bits is
    // their union). And the listing order of listed peers, overall, per
    // namespace and per namespace and directory or repository, so that a
    // page of `list_peers` reads only its own rows (`domain/peers/listing.rs`).
    Migration {
        both: r#"
    CREATE INDEX peers_listed ON peers (registered_at, id) WHERE removed_at IS NULL;
    CREATE INDEX peers_listed_ns ON peers (group_id, registered_at, id) WHERE removed_at IS NULL;
    CREATE INDEX peers_listed_cwd ON peers (group_id, cwd, registered_at, id)
        WHERE removed_at IS NULL;
    CREATE INDEX peers_listed_repo ON peers (group_id, repo_key, registered_at, id)
        WHERE removed_at IS NULL;
    CREATE TABLE name_slots (
        ns TEXT NOT NULL,
        block INTEGER NOT NULL,
        bits INTEGER NOT NULL,
        PRIMARY KEY (ns, block)
    ) WITHOUT ROWID;
    "#,
        sqlite: r#"
    INSERT INTO name_slots (ns, block, bits)
    SELECT ns, slot / 63, sum(1 << (slot % 63)) FROM (
        SELECT coalesce(group_id, '') AS ns, CAST(substr(name_key, 8) AS INTEGER) AS slot
        FROM peers
        WHERE removed_at IS NULL AND length(name_key) BETWEEN 8 AND 17
          AND name_key GLOB 'claude-[1-9]*' AND substr(name_key, 8) NOT GLOB '*[^0-9]*'
    ) WHERE slot <= 4294967295
    GROUP BY ns, slot / 63;
    "#,
        postgres: r#"
    INSERT INTO name_slots (ns, block, bits)
    SELECT ns, slot / 63, CAST(sum(CAST(1 AS BIGINT) << CAST(slot % 63 AS INTEGER)) AS BIGINT)
    FROM (
        SELECT coalesce(group_id, '') AS ns, CAST(substr(name_key, 8) AS BIGINT) AS slot
        FROM peers
        WHERE removed_at IS NULL AND length(name_key) BETWEEN 8 AND 17
          AND name_key ~ '^claude-[1-9][0-9]*$'
    ) s WHERE slot <= 4294967295
    GROUP BY ns, slot / 63;
    "#,
    },
    // 9: an approval or verification can be addressed to the person
    // (`operator`) as well as to a peer (`peer`, every earlier one).
    Migration {
        both: r#"
    ALTER TABLE approvals ADD COLUMN approver_kind TEXT NOT NULL DEFAULT 'peer';
    ALTER TABLE verifications ADD COLUMN verifier_kind TEXT NOT NULL DEFAULT 'peer';
    "#,
        sqlite: "",
        postgres: "",
    },
    // 10: several brokers on one database (`runtime/team`): the host of the
    // broker a peer registered with (its process runs there when `local`),
    // and the broker instance holding its stream now.
    Migration {
        both: r#"
    ALTER TABLE peers ADD COLUMN host TEXT;
    ALTER TABLE peers ADD COLUMN stream_broker TEXT;
    "#,
        sqlite: "",
        postgres: r#"
    CREATE TABLE brokers (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        seen_at BIGINT NOT NULL
    );
    CREATE TABLE team_events (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at BIGINT NOT NULL,
        frame TEXT NOT NULL
    );
    "#,
    },
    // 11: the permission relay's lane (`domain/permissions.rs`): each
    // pending request with the brokers holding its ways back (the
    // session's stream, its waiting `PermissionRequest` hook) and, once
    // given, the one answer.
    Migration {
        both: r#"
    CREATE TABLE permission_requests (
        id TEXT PRIMARY KEY,
        peer_id TEXT NOT NULL,
        peer_name TEXT NOT NULL,
        request_id TEXT NOT NULL,
        tool_name TEXT NOT NULL,
        description TEXT NOT NULL,
        input_preview TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        channel_broker TEXT,
        hook_broker TEXT,
        hook_key INTEGER,
        answer TEXT,
        answered_by TEXT,
        answered_at INTEGER
    );
    CREATE INDEX permission_requests_peer ON permission_requests (peer_id, created_at);
    CREATE INDEX permission_requests_created ON permission_requests (created_at);
    "#,
        sqlite: "",
        postgres: "",
    },
];

/// The advisory lock brokers take to migrate one PostgreSQL database: the
/// first migrates, the others wait and find nothing left to do.
const PG_MIGRATION_LOCK: i64 = 0x636c_7065_6572_0001;

fn too_new(current: i64, known: usize) -> crate::error::Error {
    crate::error::Error::Config(format!(
        "the database has schema version {current}, newer than this claude-peers ({known}); \
         upgrade claude-peers or use another database (--store / CLAUDE_PEERS_STORE)"
    ))
}

/// Bring a database (either engine) up to the newest schema.
pub fn migrate_store(conn: &mut super::sql::Connection) -> crate::error::Result<u32> {
    if let Some(c) = conn.as_sqlite_mut() {
        return migrate(c);
    }
    migrate_postgres(conn)
}

/// PostgreSQL: the steps of [`MIGRATIONS`] not yet applied, each in its
/// own transaction with its version row, all under one advisory lock so
/// brokers starting together migrate once.
fn migrate_postgres(conn: &super::sql::Connection) -> crate::error::Result<u32> {
    conn.execute_batch(&format!("SELECT pg_advisory_lock({PG_MIGRATION_LOCK})"))?;
    let out = (|| {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL);
             INSERT INTO schema_version (version)
                SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version);",
        )?;
        let current: i64 =
            conn.query_row("SELECT max(version) FROM schema_version", [], |r| r.get(0))?;
        if current as usize > MIGRATIONS.len() {
            return Err(too_new(current, MIGRATIONS.len()));
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            conn.execute_batch("BEGIN")?;
            let step = conn
                .execute_batch(&m.postgres_sql())
                .and_then(|()| {
                    conn.execute_batch(&format!("UPDATE schema_version SET version = {}", i + 1))
                })
                .and_then(|()| conn.execute_batch("COMMIT"));
            if let Err(e) = step {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e.into());
            }
        }
        Ok(MIGRATIONS.len() as u32)
    })();
    let unlock = conn.execute_batch(&format!("SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})"));
    let v = out?;
    unlock?;
    Ok(v)
}

/// Bring the database up to the newest schema. Each step runs in its own
/// transaction together with the version bump, so a crash leaves a whole step
/// applied or not at all.
pub fn migrate(conn: &mut Connection) -> crate::error::Result<u32> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current as usize > MIGRATIONS.len() {
        return Err(too_new(current.into(), MIGRATIONS.len()));
    }
    for (i, m) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(&m.sqlite_sql())?;
        tx.pragma_update(None, "user_version", (i + 1) as u32)?;
        tx.commit()?;
    }
    Ok(MIGRATIONS.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_from_empty_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut conn).unwrap(), MIGRATIONS.len() as u32);
        assert_eq!(migrate(&mut conn).unwrap(), MIGRATIONS.len() as u32);
        let v: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
    }

    /// A step's shared part must be one the renderer carries over: none of
    /// SQLite's own words may reach PostgreSQL (a new step that needs one
    /// writes it in `sqlite`, and PostgreSQL's form in `postgres`).
    #[test]
    fn no_sqlite_only_word_reaches_postgres() {
        const SQLITE_ONLY: &[&str] = &[
            "AUTOINCREMENT",
            "WITHOUT ROWID",
            "VIRTUAL",
            "INTEGER",
            "OR REPLACE",
            "OR IGNORE",
            "GLOB",
            "fts5",
            "PRAGMA",
            "char(",
            "TRIGGER",
        ];
        for (i, m) in MIGRATIONS.iter().enumerate() {
            let shared = ddl_to_postgres(m.both);
            let code: Vec<&str> = shared
                .lines()
                .map(|l| l.split("--").next().unwrap_or(""))
                .collect();
            for word in SQLITE_ONLY {
                assert!(
                    !code.iter().any(|l| l.contains(word)),
                    "step {} gives PostgreSQL {word:?}:\n{shared}",
                    i + 1
                );
            }
        }
    }

    #[test]
    fn refuses_a_newer_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        let err = migrate(&mut conn).unwrap_err().to_string();
        assert!(err.contains("newer than this claude-peers"), "{err}");
    }
}
