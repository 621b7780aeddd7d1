//! The embedded migrator for PostgreSQL.
//!
//! One transaction per run, serialised across processes by a transaction
//! advisory lock: replicas starting together against a new database apply
//! each migration once, and the others see the history it wrote. DDL is
//! transactional in PostgreSQL, so a failed migration leaves nothing behind.

use sqlx::PgPool;

use crate::StoreError;
use crate::schema::{self, Applied, Migration, Phase, SchemaPolicy, checksum, label};

/// The PostgreSQL migrations, in order. Version 1 is the whole schema of
/// SQLite migrations 0001-0007; the two histories are numbered apart.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../migrations/postgres/0001_initial.sql"),
        phase: Phase::Contract,
    },
    Migration {
        version: 2,
        name: "replicas",
        sql: include_str!("../../migrations/postgres/0002_replicas.sql"),
        phase: Phase::Expand,
    },
];

/// The advisory lock key migrations hold (`modelgate` in ASCII, as a
/// number), so that no other use of advisory locks collides with it.
const MIGRATION_LOCK: i64 = 0x6d6f_6465_6c67_6174;

const CREATE_HISTORY: &str = "CREATE TABLE schema_migrations (
    version    BIGINT NOT NULL PRIMARY KEY,
    name       TEXT   NOT NULL,
    checksum   TEXT   NOT NULL,
    applied_at BIGINT NOT NULL,
    older_may_serve BOOLEAN NOT NULL DEFAULT false
)";

fn migration_error(operation: &'static str, err: sqlx::Error) -> StoreError {
    match StoreError::from_sqlx(operation, err) {
        StoreError::Backend { operation, message } => {
            StoreError::Migration(format!("{operation}: {message}"))
        }
        other => StoreError::Migration(other.to_string()),
    }
}

/// Brings the database up to date with `migrations` as `policy` allows
/// (see [`schema::plan`]). Returns how many were applied.
pub(crate) async fn run(
    pool: &PgPool,
    migrations: &[Migration],
    now: i64,
    policy: SchemaPolicy,
) -> Result<usize, StoreError> {
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| migration_error("begin migration", e))?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(MIGRATION_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(|e| migration_error("lock migrations", e))?;
    // No DDL unless something is to be applied: a serving role on a
    // current store needs no CREATE privilege, and starts log no notice.
    let has_history = history_exists(&mut *tx).await?;
    let applied = if has_history {
        read_history(&mut *tx).await?
    } else {
        Vec::new()
    };
    let pending = schema::plan(migrations, &applied, policy)?;
    if !pending.is_empty() && !has_history {
        sqlx::raw_sql(CREATE_HISTORY)
            .execute(&mut *tx)
            .await
            .map_err(|e| migration_error("create schema_migrations", e))?;
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
            "INSERT INTO schema_migrations \
             (version, name, checksum, applied_at, older_may_serve) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(migration.version)
        .bind(migration.name)
        .bind(checksum(migration.sql))
        .bind(now)
        .bind(migration.phase == Phase::Expand)
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

/// The recorded history, oldest first; empty when there is none yet.
async fn read_history<'e, E>(executor: E) -> Result<Vec<Applied>, StoreError>
where
    E: sqlx::PgExecutor<'e>,
{
    let rows: Vec<(i64, String, String, bool)> = sqlx::query_as(
        "SELECT version, name, checksum, older_may_serve FROM schema_migrations ORDER BY version",
    )
    .fetch_all(executor)
    .await
    .map_err(|e| migration_error("read schema_migrations", e))?;
    Ok(rows
        .into_iter()
        .map(|(version, name, checksum, older_may_serve)| Applied {
            version,
            name,
            checksum,
            older_may_serve,
        })
        .collect())
}

/// Whether the history table exists (in the connection's search path).
async fn history_exists<'e, E>(executor: E) -> Result<bool, StoreError>
where
    E: sqlx::PgExecutor<'e>,
{
    let exists: (bool,) = sqlx::query_as("SELECT to_regclass('schema_migrations') IS NOT NULL")
        .fetch_one(executor)
        .await
        .map_err(|e| migration_error("read schema_migrations", e))?;
    Ok(exists.0)
}

/// Checks, without writing, that the database holds exactly `migrations`.
pub(crate) async fn check(pool: &PgPool, migrations: &[Migration]) -> Result<(), StoreError> {
    let applied = if history_exists(pool).await? {
        read_history(pool).await?
    } else {
        Vec::new()
    };
    schema::check_exact(migrations, &applied)
}
