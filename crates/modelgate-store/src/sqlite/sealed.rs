//! Re-sealed values: every replacement in one transaction, each row
//! changed only if it still holds the value read before.

use super::SqliteBackend;
use super::revision::bump_revision;
use crate::{SealedReplacement, SealedTable, StoreError};

const OP: &str = "replace sealed values";

impl SqliteBackend {
    pub(crate) async fn replace_sealed_values(
        &self,
        replacements: &[SealedReplacement],
    ) -> Result<usize, StoreError> {
        if replacements.is_empty() {
            return Ok(0);
        }
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        for r in replacements {
            let sql = match r.table {
                SealedTable::SigningKey => {
                    "UPDATE signing_keys SET sealed_private_key = ? \
                     WHERE kid = ? AND sealed_private_key = ?"
                }
                SealedTable::AuditKey => {
                    "UPDATE audit_keys SET sealed = ? WHERE key_id = ? AND sealed = ?"
                }
            };
            let done = sqlx::query(sql)
                .bind(&r.replacement)
                .bind(&r.key_id)
                .bind(&r.expected)
                .execute(&mut *tx)
                .await
                .map_err(|e| StoreError::from_sqlx(OP, e))?;
            if done.rows_affected() != 1 {
                // Dropping the transaction rolls it back.
                return Err(StoreError::Backend {
                    operation: OP,
                    message: format!(
                        "{} {} changed while it was being re-sealed (another writer); \
                         nothing was changed, run the command again",
                        r.table.as_str(),
                        r.key_id
                    ),
                });
            }
        }
        bump_revision(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok(replacements.len())
    }
}
