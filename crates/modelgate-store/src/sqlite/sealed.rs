//! Re-sealed values: every replacement in one transaction, each row
//! changed only if it still holds the value read before.

use rusqlite::params;

use super::SqliteBackend;
use super::connections::Op;
use super::revision::bump;
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
        let replacements = replacements.to_vec();
        self.conns
            .write(OP, move |tx| {
                for r in &replacements {
                    let sql = match r.table {
                        SealedTable::SigningKey => {
                            "UPDATE signing_keys SET sealed_private_key = ? \
                             WHERE kid = ? AND sealed_private_key = ?"
                        }
                        SealedTable::AuditKey => {
                            "UPDATE audit_keys SET sealed = ? WHERE key_id = ? AND sealed = ?"
                        }
                    };
                    let changed = tx
                        .prepare_cached(sql)
                        .and_then(|mut stmt| {
                            stmt.execute(params![r.replacement, r.key_id, r.expected])
                        })
                        .op(OP)?;
                    if changed != 1 {
                        // Returning an error rolls the transaction back.
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
                bump(tx).op(OP)?;
                Ok(replacements.len())
            })
            .await
    }
}
