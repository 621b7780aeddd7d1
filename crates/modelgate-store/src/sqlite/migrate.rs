//! A small embedded migrator for SQLite.
//!
//! Migrations are SQL files compiled into the binary. Each run takes the
//! write lock (`BEGIN IMMEDIATE`), checks the recorded history against the
//! embedded list and applies what is missing, all in one transaction, so two
//! processes opening the same file cannot both apply a migration.

use rusqlite::{Connection, TransactionBehavior, params};

use crate::StoreError;
pub(crate) use crate::schema::Migration;
use crate::schema::{self, Applied, Phase, SchemaPolicy, checksum, label};

/// The SQLite migrations, in order.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "identities_and_api_keys",
        sql: include_str!("../../migrations/sqlite/0001_identities_and_api_keys.sql"),
        phase: Phase::Contract,
    },
    Migration {
        version: 2,
        name: "tokens_and_lifecycle",
        sql: include_str!("../../migrations/sqlite/0002_tokens_and_lifecycle.sql"),
        phase: Phase::Contract,
    },
    Migration {
        version: 3,
        name: "admin_roles",
        sql: include_str!("../../migrations/sqlite/0003_admin_roles.sql"),
        phase: Phase::Contract,
    },
    Migration {
        version: 4,
        name: "roles_and_grants",
        sql: include_str!("../../migrations/sqlite/0004_roles_and_grants.sql"),
        phase: Phase::Contract,
    },
    Migration {
        version: 5,
        name: "audit",
        sql: include_str!("../../migrations/sqlite/0005_audit.sql"),
        phase: Phase::Contract,
    },
    Migration {
        version: 6,
        name: "reviews",
        sql: include_str!("../../migrations/sqlite/0006_reviews.sql"),
        phase: Phase::Contract,
    },
    Migration {
        version: 7,
        name: "issued_tokens",
        sql: include_str!("../../migrations/sqlite/0007_issued_tokens.sql"),
        phase: Phase::Contract,
    },
    Migration {
        version: 8,
        name: "replicas",
        sql: include_str!("../../migrations/sqlite/0008_replicas.sql"),
        phase: Phase::Expand,
    },
];

const CREATE_HISTORY: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version         INTEGER NOT NULL PRIMARY KEY,
    name            TEXT    NOT NULL,
    checksum        TEXT    NOT NULL,
    applied_at      INTEGER NOT NULL,
    older_may_serve INTEGER NOT NULL DEFAULT 0 CHECK (older_may_serve IN (0, 1))
) STRICT";

/// Adds the expand/contract column to a history written before it
/// existed (release 0.1 stores); older binaries never read it.
const ADD_PHASE_COLUMN: &str = "ALTER TABLE schema_migrations ADD COLUMN \
     older_may_serve INTEGER NOT NULL DEFAULT 0 CHECK (older_may_serve IN (0, 1))";

fn migration_error(operation: &'static str, err: rusqlite::Error) -> StoreError {
    match StoreError::from_rusqlite(operation, err) {
        StoreError::Backend { operation, message } => {
            StoreError::Migration(format!("{operation}: {message}"))
        }
        other => StoreError::Migration(other.to_string()),
    }
}

/// Brings the database up to date with `migrations` as `policy` allows
/// (see [`schema::plan`]). Returns how many were applied.
pub(crate) fn run(
    conn: &mut Connection,
    migrations: &[Migration],
    now: i64,
    policy: SchemaPolicy,
) -> Result<usize, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| migration_error("begin migration", e))?;
    tx.execute_batch(CREATE_HISTORY)
        .map_err(|e| migration_error("create schema_migrations", e))?;
    let applied = read_history(&tx)?;
    let pending = schema::plan(migrations, &applied, policy)?;
    if !pending.is_empty() && !has_phase_column(&tx)? {
        tx.execute_batch(ADD_PHASE_COLUMN)
            .map_err(|e| migration_error("extend schema_migrations", e))?;
    }
    for migration in &pending {
        tx.execute_batch(migration.sql).map_err(|e| {
            StoreError::Migration(format!(
                "applying {}: {}",
                label(migration.version, migration.name),
                StoreError::from_rusqlite("migrate", e)
            ))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations \
             (version, name, checksum, applied_at, older_may_serve) VALUES (?, ?, ?, ?, ?)",
            params![
                migration.version,
                migration.name,
                checksum(migration.sql),
                now,
                migration.phase == Phase::Expand,
            ],
        )
        .map_err(|e| migration_error("record migration", e))?;
        tracing::info!(
            migration = %label(migration.version, migration.name),
            "applied store migration"
        );
    }
    tx.commit()
        .map_err(|e| migration_error("commit migration", e))?;
    Ok(pending.len())
}

/// Whether the history has the `older_may_serve` column.
fn has_phase_column(conn: &Connection) -> Result<bool, StoreError> {
    let count: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM pragma_table_info('schema_migrations') \
             WHERE name = 'older_may_serve'",
            [],
            |row| row.get(0),
        )
        .map_err(|e| migration_error("read schema_migrations", e))?;
    Ok(count > 0)
}

/// The recorded history, oldest first (`older_may_serve` false where the
/// history predates the column).
fn read_history(conn: &Connection) -> Result<Vec<Applied>, StoreError> {
    let sql = if has_phase_column(conn)? {
        "SELECT version, name, checksum, older_may_serve FROM schema_migrations ORDER BY version"
    } else {
        "SELECT version, name, checksum, 0 FROM schema_migrations ORDER BY version"
    };
    let read = |e| migration_error("read schema_migrations", e);
    let mut stmt = conn.prepare(sql).map_err(read)?;
    let rows = stmt
        .query_map([], |row| {
            Ok(Applied {
                version: row.get(0)?,
                name: row.get(1)?,
                checksum: row.get(2)?,
                older_may_serve: row.get::<_, i64>(3)? == 1,
            })
        })
        .map_err(read)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(read)
}

/// Checks, without writing, that the database holds exactly
/// `migrations` (for a read-only opening).
pub(crate) fn check(conn: &Connection, migrations: &[Migration]) -> Result<(), StoreError> {
    let applied = read_history(conn)?;
    schema::check_exact(migrations, &applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_migrations_are_ordered_and_named() {
        assert!(MIGRATIONS.windows(2).all(|w| w[0].version < w[1].version));
        assert!(MIGRATIONS.iter().all(|m| !m.name.is_empty()));
    }
}
