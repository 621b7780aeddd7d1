//! Token signing keys: insert, list, rotate and retire. Every change bumps
//! the state revision so other replicas reload their keyrings.
//!
//! Every write to `signing_keys` (here and in `sealed`) takes the state
//! revision row lock FIRST: that serialises them as SQLite's one writer
//! does, so a rotation reads the active key as committed by the one before
//! it, and they all lock rows in one order (no deadlock).

use super::PgBackend;
use super::revision::bump_revision;
use crate::rows::{self, SIGNING_KEY_COLUMNS};
use crate::{SigningKeyRecord, StoreError};

async fn insert<'e, E>(executor: E, r: &SigningKeyRecord) -> Result<(), sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query(
        "INSERT INTO signing_keys \
         (kid, algorithm, public_key, sealed_private_key, created_at, state, verify_until) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.kid)
    .bind(&r.algorithm)
    .bind(&r.public_key)
    .bind(&r.sealed_private_key)
    .bind(r.created_at)
    .bind(&r.state)
    .bind(r.verify_until)
    .execute(executor)
    .await?;
    Ok(())
}

/// Locks the state revision row without bumping it (`SELECT ... FOR
/// UPDATE`), for a write that bumps it only if it changes something.
async fn lock_revision<'e, E>(executor: E) -> Result<(), sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query("SELECT revision FROM state_revision WHERE id = 1 FOR UPDATE")
        .execute(executor)
        .await?;
    Ok(())
}

impl PgBackend {
    pub(crate) async fn insert_signing_key(&self, r: &SigningKeyRecord) -> Result<(), StoreError> {
        const OP: &str = "insert signing key";
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // Revision row lock first (see the module docs); a failed insert
        // rolls the bump back.
        bump_revision(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        insert(&mut *tx, r)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        tx.commit().await.map_err(|e| StoreError::from_sqlx(OP, e))
    }

    pub(crate) async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        let sql = format!(
            "SELECT {SIGNING_KEY_COLUMNS} FROM signing_keys s \
             ORDER BY s.created_at, s.kid COLLATE \"C\""
        );
        sqlx::query(&sql)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx("list signing keys", e))?
            .iter()
            .map(|row| rows::signing_key(row, 0))
            .collect()
    }

    pub(crate) async fn rotate_signing_key(
        &self,
        new: &SigningKeyRecord,
        previous_verify_until: i64,
    ) -> Result<Option<String>, StoreError> {
        const OP: &str = "rotate signing key";
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // Revision row lock first: a concurrent rotation waits here until
        // the one before it commits, then demotes the key that one made
        // active (a row lock on the old active key alone would let it skip
        // that key and then clash with it on the one-active index).
        bump_revision(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let demoted: Option<(String,)> = sqlx::query_as(
            "UPDATE signing_keys SET state = 'previous', verify_until = $1 \
             WHERE state = 'active' RETURNING kid",
        )
        .bind(previous_verify_until)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        insert(&mut *tx, new)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok(demoted.map(|(kid,)| kid))
    }

    pub(crate) async fn retire_signing_keys(&self, now: i64) -> Result<Vec<String>, StoreError> {
        const OP: &str = "retire signing keys";
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // Revision row lock first, bumped only if a key moves.
        lock_revision(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let rows: Vec<(String,)> = sqlx::query_as(
            "UPDATE signing_keys SET state = 'retired' \
             WHERE state = 'previous' AND coalesce(verify_until, 0) <= $1 RETURNING kid",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        if !rows.is_empty() {
            bump_revision(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx(OP, e))?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let mut kids: Vec<String> = rows.into_iter().map(|(kid,)| kid).collect();
        kids.sort();
        Ok(kids)
    }
}
