//! Values sealed with the key-encryption key (the private halves of token
//! signing keys, the audit keys), replaced in one transaction when they are
//! re-sealed under a new KEK (`modelgate kek rotate`).

use crate::{Store, StoreError};

/// The table a sealed value lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SealedTable {
    /// `signing_keys.sealed_private_key`, by kid.
    SigningKey,
    /// `audit_keys.sealed`, by key id.
    AuditKey,
}

impl SealedTable {
    /// `signing_key` or `audit_key`.
    pub fn as_str(self) -> &'static str {
        match self {
            SealedTable::SigningKey => "signing_key",
            SealedTable::AuditKey => "audit_key",
        }
    }
}

/// One sealed value to replace: the row, the value it must still hold, and
/// its new value. `Debug` shows the row only.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedReplacement {
    /// Which table.
    pub table: SealedTable,
    /// The row's key id (a signing key's kid, an audit key's id).
    pub key_id: String,
    /// The sealed value read before re-sealing; the row is replaced only
    /// if it still holds it.
    pub expected: Vec<u8>,
    /// The value sealed under the current KEK.
    pub replacement: Vec<u8>,
}

impl std::fmt::Debug for SealedReplacement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealedReplacement")
            .field("table", &self.table)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Replaces every value in `replacements`, all or none, in one
    /// transaction that also bumps the state revision (replicas reload their
    /// keys at their next sync). Fails, changing nothing, when a row is gone
    /// or no longer holds its `expected` value (another writer changed it
    /// meanwhile: read again and retry). Returns how many rows changed.
    pub async fn replace_sealed_values(
        &self,
        replacements: &[SealedReplacement],
    ) -> Result<usize, StoreError> {
        on_backend!(self, b => b.replace_sealed_values(replacements).await)
    }
}
