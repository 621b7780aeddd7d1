//! The state revision: reading it, and bumping it inside the transaction
//! of a write that invalidates in-memory caches.

use super::PgBackend;
use crate::StoreError;

/// Bumps the single-row state revision inside the caller's transaction.
/// The row lock it takes also orders concurrent cache-invalidating writes.
pub(super) async fn bump_revision<'e, E>(executor: E) -> Result<(), sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query("UPDATE state_revision SET revision = revision + 1 WHERE id = 1")
        .execute(executor)
        .await?;
    Ok(())
}

impl PgBackend {
    pub(crate) async fn revision(&self) -> Result<i64, StoreError> {
        let row: (i64,) = sqlx::query_as("SELECT revision FROM state_revision WHERE id = 1")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("read state revision", e))?;
        Ok(row.0)
    }
}
