//! Token signing keys: insert, list, rotate and retire. Every change bumps
//! the state revision so other replicas reload their keyrings.

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteBackend;
use super::connections::Op;
use super::revision::bump;
use crate::rows::{self, SIGNING_KEY_COLUMNS};
use crate::{SigningKeyRecord, StoreError};

fn insert(conn: &Connection, r: &SigningKeyRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO signing_keys \
         (kid, algorithm, public_key, sealed_private_key, created_at, state, verify_until) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        r.kid,
        r.algorithm,
        r.public_key,
        r.sealed_private_key,
        r.created_at,
        r.state,
        r.verify_until,
    ])?;
    Ok(())
}

impl SqliteBackend {
    pub(crate) async fn insert_signing_key(&self, r: &SigningKeyRecord) -> Result<(), StoreError> {
        const OP: &str = "insert signing key";
        let r = r.clone();
        self.conns
            .write(OP, move |tx| {
                insert(tx, &r).op(OP)?;
                bump(tx).op(OP)
            })
            .await
    }

    pub(crate) async fn list_signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        const OP: &str = "list signing keys";
        self.conns
            .run(OP, |conn| {
                let sql = format!(
                    "SELECT {SIGNING_KEY_COLUMNS} FROM signing_keys s ORDER BY s.created_at, s.kid"
                );
                let mut stmt = conn.prepare_cached(&sql).op(OP)?;
                let mut found = stmt.query([]).op(OP)?;
                let mut keys = Vec::new();
                while let Some(row) = found.next().op(OP)? {
                    keys.push(rows::signing_key(row, 0)?);
                }
                Ok(keys)
            })
            .await
    }

    pub(crate) async fn rotate_signing_key(
        &self,
        new: &SigningKeyRecord,
        previous_verify_until: i64,
    ) -> Result<Option<String>, StoreError> {
        const OP: &str = "rotate signing key";
        let new = new.clone();
        self.conns
            .write(OP, move |tx| {
                let demoted: Option<String> = tx
                    .prepare_cached("SELECT kid FROM signing_keys WHERE state = 'active'")
                    .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)).optional())
                    .op(OP)?;
                tx.prepare_cached(
                    "UPDATE signing_keys SET state = 'previous', verify_until = ? \
                     WHERE state = 'active'",
                )
                .and_then(|mut stmt| stmt.execute([previous_verify_until]))
                .op(OP)?;
                insert(tx, &new).op(OP)?;
                bump(tx).op(OP)?;
                Ok(demoted)
            })
            .await
    }

    pub(crate) async fn retire_signing_keys(&self, now: i64) -> Result<Vec<String>, StoreError> {
        const OP: &str = "retire signing keys";
        self.conns
            .write(OP, move |tx| {
                let mut kids = Vec::new();
                {
                    let mut stmt = tx
                        .prepare_cached(
                            "UPDATE signing_keys SET state = 'retired' \
                             WHERE state = 'previous' AND coalesce(verify_until, 0) <= ? \
                             RETURNING kid",
                        )
                        .op(OP)?;
                    let mut retired = stmt.query([now]).op(OP)?;
                    while let Some(row) = retired.next().op(OP)? {
                        kids.push(row.get::<_, String>(0).op(OP)?);
                    }
                }
                if !kids.is_empty() {
                    bump(tx).op(OP)?;
                }
                kids.sort();
                Ok(kids)
            })
            .await
    }
}
