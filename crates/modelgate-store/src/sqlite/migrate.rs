//! A small embedded migrator for SQLite.
//!
//! Migrations are SQL files compiled into the binary. Each run takes the
//! write lock (`BEGIN IMMEDIATE`), checks the recorded history against the
//! embedded list and applies what is missing, all in one transaction, so two
//! processes opening the same file cannot both apply a migration.

use sqlx::SqlitePool;

use crate::StoreError;
use crate::schema::SchemaPolicy;

/// One embedded migration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Migration {
    /// Ordering key; strictly increasing, never reused.
    pub version: i64,
    /// Short name, from the file name.
    pub name: &'static str,
    /// The SQL to run (several statements allowed).
    pub sql: &'static str,
}

/// The SQLite migrations, in order.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "identities_and_api_keys",
        sql: include_str!("../../migrations/sqlite/0001_identities_and_api_keys.sql"),
    },
    Migration {
        version: 2,
        name: "tokens_and_lifecycle",
        sql: include_str!("../../migrations/sqlite/0002_tokens_and_lifecycle.sql"),
    },
    Migration {
        version: 3,
        name: "admin_roles",
        sql: include_str!("../../migrations/sqlite/0003_admin_roles.sql"),
    },
    Migration {
        version: 4,
        name: "roles_and_grants",
        sql: include_str!("../../migrations/sqlite/0004_roles_and_grants.sql"),
    },
    Migration {
        version: 5,
        name: "audit",
        sql: include_str!("../../migrations/sqlite/0005_audit.sql"),
    },
    Migration {
        version: 6,
        name: "reviews",
        sql: include_str!("../../migrations/sqlite/0006_reviews.sql"),
    },
    Migration {
        version: 7,
        name: "issued_tokens",
        sql: include_str!("../../migrations/sqlite/0007_issued_tokens.sql"),
    },
];

const CREATE_HISTORY: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL,
    checksum   TEXT    NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT";

/// Checksum of a migration's SQL: FNV-1a (64 bit) over the text with line
/// endings normalised, as 16 hex digits. It detects edits to an applied
/// migration; it is not meant to resist a deliberate collision.
pub(crate) fn checksum(sql: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in sql.bytes().filter(|b| *b != b'\r') {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

fn label(version: i64, name: &str) -> String {
    format!("{version:04}_{name}")
}

fn migration_error(operation: &'static str, err: sqlx::Error) -> StoreError {
    match StoreError::from_sqlx(operation, err) {
        StoreError::Backend { operation, message } => {
            StoreError::Migration(format!("{operation}: {message}"))
        }
        other => StoreError::Migration(other.to_string()),
    }
}

/// Brings the database up to date with `migrations`. Returns how many were
/// applied. Refuses (with [`StoreError::Migration`]) when an applied
/// migration's checksum changed, when the database has a migration this
/// binary does not know, or when a known migration is missing below one
/// that is applied.
pub(crate) async fn run(
    pool: &SqlitePool,
    migrations: &[Migration],
    now: i64,
    policy: SchemaPolicy,
) -> Result<usize, StoreError> {
    if migrations.windows(2).any(|w| w[0].version >= w[1].version) {
        return Err(StoreError::Migration(
            "embedded migrations are not in strictly increasing order".to_owned(),
        ));
    }
    let mut tx = pool
        .begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| migration_error("begin migration", e))?;
    sqlx::raw_sql(CREATE_HISTORY)
        .execute(&mut *tx)
        .await
        .map_err(|e| migration_error("create schema_migrations", e))?;
    let applied: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| migration_error("read schema_migrations", e))?;

    for (version, name, recorded) in &applied {
        let Some(known) = migrations.iter().find(|m| m.version == *version) else {
            return Err(StoreError::Migration(format!(
                "the database has migration {} which this binary does not know \
                 (was it written by a newer modelgate?); refusing to start: run the release \
                 that migrated it",
                label(*version, name)
            )));
        };
        if checksum(known.sql) != *recorded {
            return Err(StoreError::Migration(format!(
                "migration {} was changed after it was applied (checksum mismatch); \
                 refusing to start",
                label(known.version, known.name)
            )));
        }
    }

    let highest = applied.last().map(|(v, _, _)| *v);
    let pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| !applied.iter().any(|(v, _, _)| *v == m.version))
        .collect();
    if let (Some(highest), Some(first)) = (highest, pending.first())
        && first.version < highest
    {
        return Err(StoreError::Migration(format!(
            "migration {} was never applied but later migrations were; refusing to start",
            label(first.version, first.name)
        )));
    }

    if policy == SchemaPolicy::RequireCurrent
        && !applied.is_empty()
        && let Some(first) = pending.first()
    {
        return Err(StoreError::SchemaBehind(format!(
            "the store's schema is behind this binary: {} migration{} from {} not applied; \
             back the store up, then run `modelgate migrate`",
            pending.len(),
            if pending.len() == 1 { "" } else { "s" },
            label(first.version, first.name)
        )));
    }

    for migration in &pending {
        sqlx::raw_sql(migration.sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                StoreError::Migration(format!(
                    "applying {}: {}",
                    label(migration.version, migration.name),
                    StoreError::from_sqlx("migrate", e)
                ))
            })?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) \
             VALUES (?, ?, ?, ?)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(checksum(migration.sql))
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|e| migration_error("record migration", e))?;
        tracing::info!(
            migration = %label(migration.version, migration.name),
            "applied store migration"
        );
    }
    tx.commit()
        .await
        .map_err(|e| migration_error("commit migration", e))?;
    Ok(pending.len())
}

/// Checks, without writing, that the database holds exactly
/// `migrations` (for a read-only opening): a store behind or ahead of this
/// binary is an error naming the difference.
pub(crate) async fn check(pool: &SqlitePool, migrations: &[Migration]) -> Result<(), StoreError> {
    let applied: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, name FROM schema_migrations ORDER BY version")
            .fetch_all(pool)
            .await
            .map_err(|e| migration_error("read schema_migrations", e))?;
    if let Some((version, name)) = applied
        .iter()
        .find(|(v, _)| !migrations.iter().any(|m| m.version == *v))
    {
        return Err(StoreError::Migration(format!(
            "the database has migration {} which this binary does not know (written by a \
             newer modelgate?)",
            label(*version, name)
        )));
    }
    if let Some(missing) = migrations
        .iter()
        .find(|m| !applied.iter().any(|(v, _)| *v == m.version))
    {
        return Err(StoreError::SchemaBehind(format!(
            "the store's schema is behind this binary: {} not applied; back the store up, \
             then run `modelgate migrate`",
            label(missing.version, missing.name)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_ignores_carriage_returns_only() {
        assert_eq!(checksum("a\nb"), checksum("a\r\nb"));
        assert_ne!(checksum("a\nb"), checksum("a\nc"));
        assert_eq!(checksum("").len(), 16);
    }

    #[test]
    fn embedded_migrations_are_ordered_and_named() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        assert!(MIGRATIONS.iter().all(|m| !m.name.is_empty()));
    }
}
