//! Issued access tokens, family revocation and seen subject-token ids.

use super::PgBackend;
use super::revision::bump_revision;
use crate::{FamilyRevocation, IssuedTokenRecord, StoreError};

/// Inserts a revocation (or extends its expiry); whether a row changed.
///
/// `INSERT ... ON CONFLICT DO UPDATE ... WHERE` is atomic at READ
/// COMMITTED: a concurrent revocation of the same jti waits for ours,
/// then re-checks the `WHERE` on the committed row, so of two callers
/// writing the same expiry exactly one sees a change.
async fn revoke_one<'e, E>(
    executor: E,
    jti: &str,
    identity_id: &str,
    expires_at: i64,
    at: i64,
) -> Result<bool, sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    let done = sqlx::query(
        "INSERT INTO revoked_tokens (jti, identity_id, expires_at, revoked_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at \
         WHERE excluded.expires_at > revoked_tokens.expires_at",
    )
    .bind(jti)
    .bind(identity_id)
    .bind(expires_at)
    .bind(at)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() > 0)
}

impl PgBackend {
    pub(crate) async fn record_issued_token(
        &self,
        r: &IssuedTokenRecord,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO issued_tokens (jti, identity_id, family, issued_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&r.jti)
        .bind(&r.identity_id)
        .bind(&r.family)
        .bind(r.issued_at)
        .bind(r.expires_at)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("record issued token", e))?;
        Ok(())
    }

    pub(crate) async fn issued_token(
        &self,
        jti: &str,
    ) -> Result<Option<IssuedTokenRecord>, StoreError> {
        let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT jti, identity_id, family, issued_at, expires_at FROM issued_tokens \
             WHERE jti = $1",
        )
        .bind(jti)
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx("read issued token", e))?;
        Ok(row.map(
            |(jti, identity_id, family, issued_at, expires_at)| IssuedTokenRecord {
                jti,
                identity_id,
                family,
                issued_at,
                expires_at,
            },
        ))
    }

    /// Concurrency: the two writes are `INSERT ... ON CONFLICT DO UPDATE
    /// ... WHERE` (see [`revoke_one`]), so concurrent revocations of one
    /// family agree: each row keeps the latest expiry written, and `fresh`
    /// (with its revision bump) is true only for a caller whose upsert
    /// changed a row. The read of the family writes nothing another writer
    /// reads, so running it beside a concurrent `record_issued_token` is the
    /// same as running it first, as SQLite's serial order could.
    pub(crate) async fn revoke_token_family(
        &self,
        token: &IssuedTokenRecord,
        at: i64,
    ) -> Result<FamilyRevocation, StoreError> {
        const OP: &str = "revoke token family";
        let err = |e| StoreError::from_sqlx(OP, e);
        let mut tx = self.pool.begin().await.map_err(err)?;
        let (members, latest): (i64, Option<i64>) = sqlx::query_as(
            "SELECT COUNT(*) FILTER (WHERE expires_at > $1), MAX(expires_at) \
             FROM issued_tokens WHERE family = $2 AND identity_id = $3",
        )
        .bind(at)
        .bind(&token.family)
        .bind(&token.identity_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(err)?;
        let expires_at = latest.unwrap_or(token.expires_at).max(token.expires_at);
        let mut fresh = revoke_one(
            &mut *tx,
            &token.jti,
            &token.identity_id,
            token.expires_at,
            at,
        )
        .await
        .map_err(err)?;
        fresh |= revoke_one(&mut *tx, &token.family, &token.identity_id, expires_at, at)
            .await
            .map_err(err)?;
        if fresh {
            bump_revision(&mut *tx).await.map_err(err)?;
        }
        tx.commit().await.map_err(err)?;
        Ok(FamilyRevocation {
            family: token.family.clone(),
            members: u64::try_from(members).unwrap_or(0),
            expires_at,
            fresh,
        })
    }

    /// One statement, `INSERT ... ON CONFLICT DO UPDATE ... WHERE`: a new
    /// id is inserted, an expired record (`expires_at <= now`) is replaced
    /// (what SQLite's delete-then-insert did), a live one is left alone.
    /// PostgreSQL makes the upsert atomic: concurrent callers with the same
    /// (issuer, jti) queue on the row and re-check the `WHERE` on the
    /// committed row, so exactly one of them is admitted.
    pub(crate) async fn note_subject_token(
        &self,
        issuer: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "note subject token";
        let done = sqlx::query(
            "INSERT INTO seen_subject_tokens (issuer, jti, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (issuer, jti) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE seen_subject_tokens.expires_at <= $4",
        )
        .bind(issuer)
        .bind(jti)
        .bind(expires_at)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn prune_issued_tokens(&self, now: i64) -> Result<u64, StoreError> {
        const OP: &str = "prune issued tokens";
        let tokens = sqlx::query("DELETE FROM issued_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        let seen = sqlx::query("DELETE FROM seen_subject_tokens WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok(tokens.rows_affected() + seen.rows_affected())
    }
}
