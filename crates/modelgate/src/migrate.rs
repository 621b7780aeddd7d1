//! `modelgate migrate`: the one command that changes an existing store's
//! schema. Every other command (and `serve`) migrates only a new store and
//! refuses one whose schema is behind or ahead of the binary, so an upgrade
//! touches the schema only when an operator says so, after a backup.

use anyhow::{Context, Result, bail};
use modelgate_config::Config;
use modelgate_store::{SchemaPolicy, StoreError};

use crate::setup::{open_store_as, open_store_read_only};

/// Migrates the configured store (or, with `check`, only says whether its
/// schema is current: non-zero when it is not). The store is named by its
/// file, or for PostgreSQL by host and database only.
pub async fn migrate_command(config: &Config, check: bool) -> Result<()> {
    let shown = config.store.describe();
    let before = match open_store_read_only(config).await {
        Ok(None) => None,
        Ok(Some(store)) => {
            store.close().await;
            Some(Ok(()))
        }
        Err(e) => Some(Err(e)),
    };
    if check {
        return match before {
            None => {
                println!("{shown}: no store yet; the first start creates it at this schema");
                Ok(())
            }
            Some(Ok(())) => {
                println!("{shown}: schema current");
                Ok(())
            }
            Some(Err(e)) => bail!("{shown}: {e:#}"),
        };
    }
    if let Some(Err(e)) = &before
        && !matches!(e.downcast_ref(), Some(StoreError::SchemaBehind(_)))
    {
        // Ahead of this binary, a history that does not match, or a store
        // that cannot be reached: nothing this binary may apply.
        bail!("{shown}: {e:#}");
    }
    let store = open_store_as(config, SchemaPolicy::Migrate)
        .await
        .with_context(|| format!("cannot migrate store {shown}"))?;
    store.close().await;
    match before {
        None => println!("{shown}: created at this binary's schema"),
        Some(Ok(())) => println!("{shown}: schema already current; nothing to do"),
        Some(Err(_)) => println!("{shown}: migrated to this binary's schema"),
    }
    Ok(())
}
