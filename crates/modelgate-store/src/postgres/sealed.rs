//! Re-sealed values: every replacement in one transaction, each row
//! changed only if it still holds the value read before.

use super::PgBackend;
use super::revision::bump_revision;
use crate::{SealedReplacement, SealedTable, StoreError};

const OP: &str = "replace sealed values";

impl PgBackend {
    pub(crate) async fn replace_sealed_values(
        &self,
        replacements: &[SealedReplacement],
    ) -> Result<usize, StoreError> {
        if replacements.is_empty() {
            return Ok(0);
        }
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        // The state revision row lock first, as every signing key write
        // takes it (`signing_keys`): a rotation cannot hold a key row this
        // waits for while waiting for this. A failure rolls the bump back.
        bump_revision(&mut *tx)
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        for r in replacements {
            let sql = match r.table {
                SealedTable::SigningKey => {
                    "UPDATE signing_keys SET sealed_private_key = $1 \
                     WHERE kid = $2 AND sealed_private_key = $3"
                }
                SealedTable::AuditKey => {
                    "UPDATE audit_keys SET sealed = $1 WHERE key_id = $2 AND sealed = $3"
                }
            };
            // Conditional UPDATE: the expected value is compared on the row
            // as locked, so a concurrent re-seal makes this one fail.
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
        tx.commit()
            .await
            .map_err(|e| StoreError::from_sqlx(OP, e))?;
        Ok(replacements.len())
    }
}
