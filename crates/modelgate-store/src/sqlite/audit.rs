//! Audit entries and audit keys in SQLite.

use rusqlite::{Connection, params};

use super::SqliteBackend;
use super::connections::Op;
use crate::StoreError;
use crate::audit::{AuditHit, AuditKeyRecord, AuditQuery, CHAIN_HEADS_SQL, ChainHead};

/// Runs a query whose rows are `(id, line)`, in the order it returns them.
fn id_lines(
    conn: &Connection,
    operation: &'static str,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).op(operation)?;
    let mut found = stmt.query(params).op(operation)?;
    let mut lines = Vec::new();
    while let Some(row) = found.next().op(operation)? {
        lines.push((row.get(0).op(operation)?, row.get(1).op(operation)?));
    }
    Ok(lines)
}

impl SqliteBackend {
    pub(crate) async fn audit_chain_heads(&self) -> Result<Vec<ChainHead>, StoreError> {
        const OP: &str = "list audit chains";
        self.conns
            .run(OP, |conn| {
                let mut stmt = conn.prepare_cached(CHAIN_HEADS_SQL).op(OP)?;
                let heads = stmt
                    .query_map([], |row| {
                        Ok(ChainHead {
                            replica: row.get(0)?,
                            last_seq: row.get(1)?,
                            signed: row.get::<_, i64>(2)? == 1,
                        })
                    })
                    .op(OP)?
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .op(OP)?;
                Ok(heads)
            })
            .await
    }

    pub(crate) async fn audit_replicas(&self) -> Result<Vec<String>, StoreError> {
        const OP: &str = "list audit replicas";
        self.conns
            .run(OP, |conn| {
                let mut stmt = conn
                    .prepare_cached("SELECT DISTINCT replica FROM audit_entries ORDER BY replica")
                    .op(OP)?;
                let mut found = stmt.query([]).op(OP)?;
                let mut replicas = Vec::new();
                while let Some(row) = found.next().op(OP)? {
                    replicas.push(row.get(0).op(OP)?);
                }
                Ok(replicas)
            })
            .await
    }

    pub(crate) async fn audit_lines(
        &self,
        replica: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        const OP: &str = "read audit lines";
        let replica = replica.to_owned();
        self.conns
            .run(OP, move |conn| {
                id_lines(
                    conn,
                    OP,
                    "SELECT id, line FROM audit_entries WHERE replica = ? AND id > ? \
                     ORDER BY id LIMIT ?",
                    params![replica, after, limit],
                )
            })
            .await
    }

    pub(crate) async fn search_audit(&self, q: &AuditQuery) -> Result<Vec<AuditHit>, StoreError> {
        const OP: &str = "search audit";
        let q = q.clone();
        let rows = self
            .conns
            .run(OP, move |conn| {
                id_lines(
                    conn,
                    OP,
                    "SELECT id, line FROM audit_entries WHERE checkpoint = 0 \
                     AND (?1 IS NULL OR identity = ?1) AND (?2 IS NULL OR model = ?2) \
                     AND (?3 IS NULL OR decision = ?3) AND (?4 IS NULL OR kind = ?4) \
                     AND (?5 IS NULL OR time >= ?5) AND (?6 IS NULL OR time < ?6) \
                     AND id > ?7 ORDER BY id LIMIT ?8",
                    params![
                        q.identity,
                        q.model,
                        q.decision,
                        q.kind,
                        q.since,
                        q.until,
                        q.after.unwrap_or(0),
                        q.limit.clamp(1, crate::AUDIT_PAGE_MAX),
                    ],
                )
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(id, line)| AuditHit { id, line })
            .collect())
    }

    pub(crate) async fn audit_expired_bodies(
        &self,
        now_ms: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        const OP: &str = "find expired audit bodies";
        self.conns
            .run(OP, move |conn| {
                id_lines(
                    conn,
                    OP,
                    "SELECT id, line FROM audit_entries WHERE bodies_expire IS NOT NULL \
                     AND bodies_expire <= ? ORDER BY id LIMIT ?",
                    [now_ms, limit],
                )
            })
            .await
    }

    pub(crate) async fn replace_pruned_audit_line(
        &self,
        id: i64,
        line: &str,
    ) -> Result<(), StoreError> {
        const OP: &str = "prune audit bodies";
        let line = line.to_owned();
        self.conns
            .exclusive(OP, move |conn| {
                conn.prepare_cached(
                    "UPDATE audit_entries SET line = ?, bodies_expire = NULL WHERE id = ?",
                )
                .and_then(|mut stmt| stmt.execute(params![line, id]))
                .op(OP)?;
                Ok(())
            })
            .await
    }

    pub(crate) async fn audit_keys(&self) -> Result<Vec<AuditKeyRecord>, StoreError> {
        const OP: &str = "list audit keys";
        self.conns
            .run(OP, |conn| {
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT key_id, purpose, public_key, sealed, created_at, active \
                         FROM audit_keys ORDER BY created_at, key_id",
                    )
                    .op(OP)?;
                let mut found = stmt.query([]).op(OP)?;
                let mut keys = Vec::new();
                while let Some(r) = found.next().op(OP)? {
                    keys.push(AuditKeyRecord {
                        key_id: r.get("key_id").op(OP)?,
                        purpose: r.get("purpose").op(OP)?,
                        public_key: r.get("public_key").op(OP)?,
                        sealed: r.get("sealed").op(OP)?,
                        created_at: r.get("created_at").op(OP)?,
                        active: r.get::<_, i64>("active").op(OP)? == 1,
                    });
                }
                Ok(keys)
            })
            .await
    }

    pub(crate) async fn insert_audit_key(&self, k: &AuditKeyRecord) -> Result<bool, StoreError> {
        const OP: &str = "insert audit key";
        let k = k.clone();
        self.conns
            .exclusive(OP, move |conn| {
                let inserted = conn
                    .prepare_cached(
                        "INSERT INTO audit_keys \
                         (key_id, purpose, public_key, sealed, created_at, active) \
                         SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS \
                         (SELECT 1 FROM audit_keys WHERE purpose = ? AND active = 1)",
                    )
                    .and_then(|mut stmt| {
                        stmt.execute(params![
                            k.key_id,
                            k.purpose,
                            k.public_key,
                            k.sealed,
                            k.created_at,
                            i64::from(k.active),
                            k.purpose,
                        ])
                    })
                    .op(OP)?;
                Ok(inserted == 1)
            })
            .await
    }
}
