//! Identity queries.

use super::SqliteBackend;
use crate::rows::{self, IDENTITY_COLUMNS};
use crate::{IdentityRecord, StoreError};

impl SqliteBackend {
    pub(crate) async fn insert_identity(&self, r: &IdentityRecord) -> Result<(), StoreError> {
        insert_identity(&self.pool, r)
            .await
            .map_err(|e| StoreError::from_sqlx("insert identity", e))
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
        condition: &str,
        value: &str,
    ) -> Result<Option<IdentityRecord>, StoreError> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM identities i WHERE {condition}");
        let row = sqlx::query(&sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("find identity", e))?;
        row.map(|row| rows::identity(&row, 0)).transpose()
    }

    pub(crate) async fn list_identities(&self) -> Result<Vec<IdentityRecord>, StoreError> {
        let sql = format!("SELECT {IDENTITY_COLUMNS} FROM identities i ORDER BY i.name");
        sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("list identities", e))?
            .iter()
            .map(|row| rows::identity(row, 0))
            .collect()
    }
}

/// Inserts an identity row on any connection or transaction.
pub(super) async fn insert_identity<'e, E>(
    executor: E,
    r: &IdentityRecord,
) -> Result<(), sqlx::Error>
where
    E: sqlx::SqliteExecutor<'e>,
{
    sqlx::query(
        "INSERT INTO identities \
         (id, name, kind, owner, environment, purpose, status, created_at, last_used_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&r.id)
    .bind(&r.name)
    .bind(&r.kind)
    .bind(&r.owner)
    .bind(&r.environment)
    .bind(&r.purpose)
    .bind(&r.status)
    .bind(r.created_at)
    .bind(r.last_used_at)
    .execute(executor)
    .await?;
    Ok(())
}
