//! Issued access tokens, family revocation and seen subject-token ids.

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteBackend;
use super::connections::Op;
use super::revision::bump;
use crate::{FamilyRevocation, IssuedTokenRecord, StoreError};

/// Inserts a revocation (or extends its expiry); whether a row changed.
fn revoke_one(
    conn: &Connection,
    jti: &str,
    identity_id: &str,
    expires_at: i64,
    at: i64,
) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO revoked_tokens (jti, identity_id, expires_at, revoked_at) \
             VALUES (?, ?, ?, ?) ON CONFLICT (jti) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE excluded.expires_at > revoked_tokens.expires_at",
        )?
        .execute(params![jti, identity_id, expires_at, at])?;
    Ok(changed > 0)
}

impl SqliteBackend {
    pub(crate) async fn record_issued_token(
        &self,
        r: &IssuedTokenRecord,
    ) -> Result<(), StoreError> {
        const OP: &str = "record issued token";
        let r = r.clone();
        self.conns
            .exclusive(OP, move |conn| {
                conn.prepare_cached(
                    "INSERT INTO issued_tokens (jti, identity_id, family, issued_at, expires_at) \
                     VALUES (?, ?, ?, ?, ?)",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        r.jti,
                        r.identity_id,
                        r.family,
                        r.issued_at,
                        r.expires_at
                    ])
                })
                .op(OP)?;
                Ok(())
            })
            .await
    }

    pub(crate) async fn issued_token(
        &self,
        jti: &str,
    ) -> Result<Option<IssuedTokenRecord>, StoreError> {
        const OP: &str = "read issued token";
        let jti = jti.to_owned();
        self.conns
            .run(OP, move |conn| {
                conn.prepare_cached(
                    "SELECT jti, identity_id, family, issued_at, expires_at FROM issued_tokens \
                     WHERE jti = ?",
                )
                .and_then(|mut stmt| {
                    stmt.query_row([&jti], |row| {
                        Ok(IssuedTokenRecord {
                            jti: row.get(0)?,
                            identity_id: row.get(1)?,
                            family: row.get(2)?,
                            issued_at: row.get(3)?,
                            expires_at: row.get(4)?,
                        })
                    })
                    .optional()
                })
                .op(OP)
            })
            .await
    }

    pub(crate) async fn revoke_token_family(
        &self,
        token: &IssuedTokenRecord,
        at: i64,
    ) -> Result<FamilyRevocation, StoreError> {
        const OP: &str = "revoke token family";
        let token = token.clone();
        self.conns
            .write(OP, move |tx| {
                let (members, latest): (i64, Option<i64>) = tx
                    .prepare_cached(
                        "SELECT COUNT(*) FILTER (WHERE expires_at > ?), MAX(expires_at) \
                         FROM issued_tokens WHERE family = ? AND identity_id = ?",
                    )
                    .and_then(|mut stmt| {
                        stmt.query_row(params![at, token.family, token.identity_id], |row| {
                            Ok((row.get(0)?, row.get(1)?))
                        })
                    })
                    .op(OP)?;
                let expires_at = latest.unwrap_or(token.expires_at).max(token.expires_at);
                let mut fresh =
                    revoke_one(tx, &token.jti, &token.identity_id, token.expires_at, at).op(OP)?;
                fresh |=
                    revoke_one(tx, &token.family, &token.identity_id, expires_at, at).op(OP)?;
                if fresh {
                    bump(tx).op(OP)?;
                }
                Ok(FamilyRevocation {
                    family: token.family,
                    members: u64::try_from(members).unwrap_or(0),
                    expires_at,
                    fresh,
                })
            })
            .await
    }

    pub(crate) async fn note_subject_token(
        &self,
        issuer: &str,
        jti: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        const OP: &str = "note subject token";
        let issuer = issuer.to_owned();
        let jti = jti.to_owned();
        self.conns
            .write(OP, move |tx| {
                tx.prepare_cached(
                    "DELETE FROM seen_subject_tokens \
                     WHERE issuer = ? AND jti = ? AND expires_at <= ?",
                )
                .and_then(|mut stmt| stmt.execute(params![issuer, jti, now]))
                .op(OP)?;
                let inserted = tx
                    .prepare_cached(
                        "INSERT INTO seen_subject_tokens (issuer, jti, expires_at) \
                         VALUES (?, ?, ?) ON CONFLICT (issuer, jti) DO NOTHING",
                    )
                    .and_then(|mut stmt| stmt.execute(params![issuer, jti, expires_at]))
                    .op(OP)?;
                Ok(inserted > 0)
            })
            .await
    }

    pub(crate) async fn prune_issued_tokens(&self, now: i64) -> Result<u64, StoreError> {
        const OP: &str = "prune issued tokens";
        self.conns
            .exclusive(OP, move |conn| {
                let tokens = conn
                    .prepare_cached("DELETE FROM issued_tokens WHERE expires_at <= ?")
                    .and_then(|mut stmt| stmt.execute([now]))
                    .op(OP)?;
                let seen = conn
                    .prepare_cached("DELETE FROM seen_subject_tokens WHERE expires_at <= ?")
                    .and_then(|mut stmt| stmt.execute([now]))
                    .op(OP)?;
                Ok(u64::try_from(tokens + seen).unwrap_or(u64::MAX))
            })
            .await
    }
}
