//! Pruning: bodies whose retention period is over are dropped from the
//! store's lines; the commitment stays, so the chain and every checkpoint
//! still verify.

use modelgate_audit::prune_line;
use modelgate_store::{Store, StoreError};

/// Prunes the bodies of every line that expired before `now_ms`; returns
/// how many lines were pruned.
pub async fn prune_expired_bodies(store: &Store, now_ms: i64) -> Result<u64, StoreError> {
    let mut pruned = 0;
    loop {
        let batch = store.audit_expired_bodies(now_ms, 500).await?;
        if batch.is_empty() {
            return Ok(pruned);
        }
        for (id, line) in batch {
            let replacement = match prune_line(line.as_bytes()) {
                Ok(Some(bytes)) => String::from_utf8_lossy(&bytes).into_owned(),
                // Nothing to drop: clear the expiry so it is not found again.
                Ok(None) => line,
                Err(err) => {
                    tracing::warn!(entry = id, error = %err, "audit: not pruning a line that does not check out");
                    line
                }
            };
            store.replace_pruned_audit_line(id, &replacement).await?;
            pruned += 1;
        }
    }
}
