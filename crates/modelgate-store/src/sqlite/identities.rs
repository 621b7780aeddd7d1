//! Identity queries.

use rusqlite::{Connection, params};

use super::SqliteBackend;
use super::connections::Op;
use crate::rows::{self, IDENTITY_COLUMNS};
use crate::{IdentityRecord, StoreError};

impl SqliteBackend {
    pub(crate) async fn insert_identity(&self, r: &IdentityRecord) -> Result<(), StoreError> {
        const OP: &str = "insert identity";
        let r = r.clone();
        self.conns
            .exclusive(OP, move |conn| insert_identity(conn, &r).op(OP))
            .await
    }

    pub(crate) async fn identity_by_name(
        &self,
        name: &str,
    ) -> Result<Option<IdentityRecord>, StoreError> {
        self.identity_where("i.name = ?", name).await
    }

    pub(crate) async fn identity_by_id(
        &self,
        id: &str,
    ) -> Result<Option<IdentityRecord>, StoreError> {
        self.identity_where("i.id = ?", id).await
    }

    async fn identity_where(
        &self,
        condition: &'static str,
        value: &str,
    ) -> Result<Option<IdentityRecord>, StoreError> {
        const OP: &str = "find identity";
        let value = value.to_owned();
        self.conns
            .run(OP, move |conn| {
                let sql = format!("SELECT {IDENTITY_COLUMNS} FROM identities i WHERE {condition}");
                let mut stmt = conn.prepare_cached(&sql).op(OP)?;
                let mut found = stmt.query([&value]).op(OP)?;
                found
                    .next()
                    .op(OP)?
                    .map(|row| rows::identity(row, 0))
                    .transpose()
            })
            .await
    }

    pub(crate) async fn list_identities(&self) -> Result<Vec<IdentityRecord>, StoreError> {
        const OP: &str = "list identities";
        self.conns
            .run(OP, |conn| {
                let sql = format!("SELECT {IDENTITY_COLUMNS} FROM identities i ORDER BY i.name");
                let mut stmt = conn.prepare_cached(&sql).op(OP)?;
                let mut found = stmt.query([]).op(OP)?;
                let mut identities = Vec::new();
                while let Some(row) = found.next().op(OP)? {
                    identities.push(rows::identity(row, 0)?);
                }
                Ok(identities)
            })
            .await
    }
}

/// Inserts an identity row on any connection or inside a transaction.
pub(super) fn insert_identity(conn: &Connection, r: &IdentityRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO identities \
         (id, name, kind, owner, environment, purpose, status, created_at, last_used_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        r.id,
        r.name,
        r.kind,
        r.owner,
        r.environment,
        r.purpose,
        r.status,
        r.created_at,
        r.last_used_at,
    ])?;
    Ok(())
}
