//! `modelgate migrate`: the one command that changes an existing store's
//! schema. Every other command (and `serve`) migrates only a new store and
//! refuses one whose schema is behind or ahead of the binary, so an upgrade
//! touches the schema only when an operator says so, after a backup.

use anyhow::{Context, Result, bail};
use modelgate_config::Config;
use modelgate_store::{SchemaPolicy, SqliteOptions, Store, StoreError};

/// Migrates the configured store (or, with `check`, only says whether its
/// schema is current: non-zero when it is not).
pub async fn migrate_command(config: &Config, check: bool) -> Result<()> {
    let path = &config.store.path;
    let shown = path.display();
    let before = if path.exists() {
        Some(match Store::open_sqlite_read_only(path).await {
            Ok(store) => {
                store.close().await;
                Ok(())
            }
            Err(e) => Err(e),
        })
    } else {
        None
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
            Some(Err(e)) => bail!("{shown}: {e}"),
        };
    }
    if let Some(Err(e)) = &before
        && !matches!(e, StoreError::SchemaBehind(_))
    {
        // Ahead of this binary, or a history that does not match: nothing
        // this binary may apply.
        bail!("{shown}: {e}");
    }
    let store = Store::open_sqlite_as(path, &SqliteOptions::default(), SchemaPolicy::Migrate)
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
