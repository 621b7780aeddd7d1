//! The state revision: reading it, and bumping it inside the transaction
//! of a write that invalidates in-memory caches.

use rusqlite::Connection;

use super::SqliteBackend;
use super::connections::Op;
use crate::StoreError;

/// Bumps the single-row state revision inside the caller's transaction.
pub(super) fn bump(conn: &Connection) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE state_revision SET revision = revision + 1 WHERE id = 1")?
        .execute([])?;
    Ok(())
}

impl SqliteBackend {
    pub(crate) async fn revision(&self) -> Result<i64, StoreError> {
        const OP: &str = "read state revision";
        self.conns
            .run(OP, |conn| {
                conn.prepare_cached("SELECT revision FROM state_revision WHERE id = 1")
                    .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
                    .op(OP)
            })
            .await
    }
}
