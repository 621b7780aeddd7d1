//! The schema's history: the embedded migrations, and what opening a store
//! may do with them. Backend-free: each backend reads and writes its own
//! `schema_migrations` table and asks this module what to apply.

use crate::StoreError;

/// What opening a store may do to its schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaPolicy {
    /// Apply every pending migration (`modelgate migrate`, tests).
    Migrate,
    /// Migrate a new, empty store; refuse an existing store whose schema
    /// is behind this binary ([`crate::StoreError::SchemaBehind`], naming
    /// `modelgate migrate`) or ahead of it ([`crate::StoreError::Migration`]), so
    /// that an upgrade changes the schema only when an operator says so,
    /// after a backup.
    RequireCurrent,
}

/// Whether releases that do not know a migration may serve on a store it
/// was applied to: what makes a rolling upgrade possible.
///
/// A release's `modelgate migrate` runs while the previous release still
/// serves. An *expand* migration only adds what the previous release
/// ignores and does not need to write (a table, a nullable column, an
/// index), so the previous release keeps serving on the expanded schema; a
/// *contract* migration removes or changes what an older release reads or
/// must write, and ships only in a release after every replica runs one
/// that no longer needs it. The author of a migration promises which it
/// is; the history records it, and an older binary reads that promise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Older releases may keep serving on the migrated store.
    Expand,
    /// Older releases must not open the migrated store.
    Contract,
}

/// One embedded migration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Migration {
    /// Ordering key; strictly increasing, never reused.
    pub version: i64,
    /// Short name, from the file name.
    pub name: &'static str,
    /// The SQL to run (several statements allowed).
    pub sql: &'static str,
    /// Whether older releases may serve on the migrated store.
    pub phase: Phase,
}

/// A migration recorded in a store's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Applied {
    /// The migration's version.
    pub version: i64,
    /// Its name when it was applied.
    pub name: String,
    /// [`checksum`] of its SQL when it was applied.
    pub checksum: String,
    /// Whether the migration was an [`Phase::Expand`] one, so that a
    /// release that does not know it may still serve.
    pub older_may_serve: bool,
}

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

/// A migration's name as operators see it: `0003_admin_roles`.
pub(crate) fn label(version: i64, name: &str) -> String {
    format!("{version:04}_{name}")
}

/// The migrations to apply to a store whose history is `applied` (sorted by
/// version), or why the store must not be opened: an applied migration this
/// binary does not know (a newer release wrote it) or whose SQL changed, a
/// known migration missing below an applied one, or (under
/// [`SchemaPolicy::RequireCurrent`]) an existing store that is behind.
pub(crate) fn plan<'m>(
    migrations: &'m [Migration],
    applied: &[Applied],
    policy: SchemaPolicy,
) -> Result<Vec<&'m Migration>, StoreError> {
    if migrations.windows(2).any(|w| w[0].version >= w[1].version) {
        return Err(StoreError::Migration(
            "embedded migrations are not in strictly increasing order".to_owned(),
        ));
    }
    for recorded in applied {
        let Some(known) = migrations.iter().find(|m| m.version == recorded.version) else {
            refuse_unless_expand(recorded)?;
            continue;
        };
        if checksum(known.sql) != recorded.checksum {
            return Err(StoreError::Migration(format!(
                "migration {} was changed after it was applied (checksum mismatch); \
                 refusing to start",
                label(known.version, known.name)
            )));
        }
    }
    let highest = applied
        .iter()
        .filter(|a| migrations.iter().any(|m| m.version == a.version))
        .map(|a| a.version)
        .max();
    let pending: Vec<&Migration> = migrations
        .iter()
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
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
    Ok(pending)
}

/// Checks, for a read-only opening, that `applied` holds exactly
/// `migrations`: a store behind or ahead of this binary is an error naming
/// the difference.
pub(crate) fn check_exact(migrations: &[Migration], applied: &[Applied]) -> Result<(), StoreError> {
    for unknown in applied
        .iter()
        .filter(|a| !migrations.iter().any(|m| m.version == a.version))
    {
        refuse_unless_expand(unknown)?;
    }
    if let Some(missing) = migrations
        .iter()
        .find(|m| !applied.iter().any(|a| a.version == m.version))
    {
        return Err(StoreError::SchemaBehind(format!(
            "the store's schema is behind this binary: {} not applied; back the store up, \
             then run `modelgate migrate`",
            label(missing.version, missing.name)
        )));
    }
    Ok(())
}

/// A migration this binary does not know (a newer release applied it):
/// an expand one is served on, with a warning; any other refuses the
/// store.
fn refuse_unless_expand(recorded: &Applied) -> Result<(), StoreError> {
    let name = label(recorded.version, &recorded.name);
    if recorded.older_may_serve {
        tracing::warn!(
            migration = %name,
            "the store has a migration from a newer release; it is an expand migration, so \
             this release serves on it (upgrade this replica soon)"
        );
        return Ok(());
    }
    Err(StoreError::Migration(format!(
        "the database has migration {name} which this binary does not know (written by a \
         newer modelgate?) and which older releases may not serve on; refusing to start: run \
         the release that migrated it"
    )))
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
}
