//! The store's error type.
//!
//! Messages name the operation, the table or the constraint involved, never
//! a bound value: a value could be a secret (a key hash, say), and errors end
//! up in logs.

/// Why a store operation failed.
///
/// The `Display` form of every variant is safe to log: it never contains a
/// value that was bound to a query.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A row with the same unique value already exists. The message says
    /// which one (for example `identity name`), not the value.
    #[error("conflict: {0} already exists")]
    Conflict(String),
    /// The row refers to another row that does not exist (a foreign key).
    #[error("missing reference: {0}")]
    MissingReference(String),
    /// The database failed, could not be reached, or refused the operation.
    #[error("store backend error during {operation}: {message}")]
    Backend {
        /// What the store was doing (for example `insert identity`).
        operation: &'static str,
        /// What went wrong, free of bound values.
        message: String,
    },
    /// The schema could not be brought up to date, or the database's
    /// migration history does not match this binary.
    #[error("migration error: {0}")]
    Migration(String),
    /// An existing store's schema is behind this binary and the opening
    /// asked for a current one ([`crate::SchemaPolicy::RequireCurrent`]):
    /// `modelgate migrate` brings it up to date.
    #[error("{0}")]
    SchemaBehind(String),
    /// A stored row does not fit the record type (for example a key hash
    /// that is not 32 bytes long).
    #[error("corrupt row: {0}")]
    CorruptRow(String),
}

impl StoreError {
    /// Maps a sqlx error (the PostgreSQL backend's driver) to a store error
    /// without copying any bound value.
    pub(crate) fn from_sqlx(operation: &'static str, err: sqlx::Error) -> StoreError {
        match err {
            sqlx::Error::Database(db) => {
                let message = db.message().to_owned();
                if db.is_unique_violation() {
                    // PostgreSQL names the constraint (its message and
                    // detail may quote the value).
                    StoreError::Conflict(match db.constraint() {
                        Some(constraint) => constraint_subject(constraint),
                        None => conflict_subject(&message),
                    })
                } else if db.is_foreign_key_violation() {
                    StoreError::MissingReference(format!("{operation}: referenced row not found"))
                } else if db.code().is_some_and(|code| code.starts_with("22")) {
                    // PostgreSQL's data exceptions (class 22) quote the
                    // value that did not fit: keep only the code.
                    let code = db.code().unwrap_or_default().into_owned();
                    StoreError::Backend {
                        operation,
                        message: format!("data exception (SQLSTATE {code})"),
                    }
                } else {
                    // PostgreSQL's messages outside class 22 name
                    // constraints, columns and objects, not values
                    // (PostgreSQL puts values in the detail, not read here).
                    StoreError::Backend { operation, message }
                }
            }
            sqlx::Error::PoolTimedOut => StoreError::Backend {
                operation,
                message: "timed out waiting for a database connection".to_owned(),
            },
            sqlx::Error::PoolClosed => StoreError::Backend {
                operation,
                message: "the store has been closed".to_owned(),
            },
            sqlx::Error::Io(io) => StoreError::Backend {
                operation,
                message: format!("I/O error: {}", io.kind()),
            },
            sqlx::Error::ColumnDecode { index, .. } => StoreError::CorruptRow(format!(
                "{operation}: column {index} has an unexpected type or value"
            )),
            sqlx::Error::ColumnNotFound(column) => {
                StoreError::CorruptRow(format!("{operation}: column {column} not found"))
            }
            sqlx::Error::RowNotFound => StoreError::Backend {
                operation,
                message: "row not found".to_owned(),
            },
            other => StoreError::Backend {
                operation,
                message: generic_message(&other),
            },
        }
    }
}

impl StoreError {
    /// Maps a rusqlite error (the SQLite backend's driver) the same
    /// way, without copying any bound value: SQLite's own messages name
    /// constraints and columns, and the other kinds get a fixed description.
    pub(crate) fn from_rusqlite(operation: &'static str, err: rusqlite::Error) -> StoreError {
        use rusqlite::ffi;
        match err {
            rusqlite::Error::SqliteFailure(code, message) => {
                let message = message.unwrap_or_else(|| code.to_string());
                match code.extended_code {
                    ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                        StoreError::Conflict(conflict_subject(&message))
                    }
                    ffi::SQLITE_CONSTRAINT_FOREIGNKEY => StoreError::MissingReference(format!(
                        "{operation}: referenced row not found"
                    )),
                    _ => StoreError::Backend { operation, message },
                }
            }
            rusqlite::Error::InvalidColumnType(index, ..)
            | rusqlite::Error::FromSqlConversionFailure(index, ..) => StoreError::CorruptRow(
                format!("{operation}: column {index} has an unexpected type or value"),
            ),
            rusqlite::Error::QueryReturnedNoRows => StoreError::Backend {
                operation,
                message: "row not found".to_owned(),
            },
            _ => StoreError::Backend {
                operation,
                message: "database error".to_owned(),
            },
        }
    }
}

/// Turns `UNIQUE constraint failed: identities.name` into `identity name`.
fn conflict_subject(message: &str) -> String {
    let subject = message
        .rsplit(": ")
        .next()
        .unwrap_or(message)
        .split(',')
        .next()
        .unwrap_or("")
        .trim();
    match subject {
        "identities.name" => "identity name".to_owned(),
        "identities.id" => "identity id".to_owned(),
        "api_keys.id" => "api key id".to_owned(),
        "api_keys.key_hash" => "api key hash".to_owned(),
        "signing_keys.kid" => "signing key id".to_owned(),
        "signing_keys.state" => "active signing key".to_owned(),
        "revoked_tokens.jti" => "revoked token id".to_owned(),
        "grants.id" => "grant id".to_owned(),
        "grant_approvals.grant_id" => "grant approval".to_owned(),
        other if !other.is_empty() => other.to_owned(),
        _ => "row".to_owned(),
    }
}

/// What a PostgreSQL unique constraint or index protects, as
/// [`conflict_subject`] says it for SQLite (the names are the schema's, in
/// `migrations/postgres`).
fn constraint_subject(constraint: &str) -> String {
    match constraint {
        "identities_name" => "identity name",
        "identities_pkey" => "identity id",
        "api_keys_pkey" => "api key id",
        "api_keys_key_hash" => "api key hash",
        "signing_keys_pkey" => "signing key id",
        "signing_keys_one_active" => "active signing key",
        "revoked_tokens_pkey" => "revoked token id",
        "grants_pkey" => "grant id",
        "grant_approvals_pkey" => "grant approval",
        // SQLite's own words for these (it names the column).
        "reviews_pkey" => "reviews.id",
        "issued_tokens_pkey" => "issued_tokens.jti",
        "audit_keys_pkey" => "audit_keys.key_id",
        "audit_entries_record" => "audit_entries.replica",
        other => other,
    }
    .to_owned()
}

/// A description of an sqlx error kind that carries no query data.
fn generic_message(err: &sqlx::Error) -> String {
    match err {
        sqlx::Error::Configuration(_) => "invalid configuration".to_owned(),
        sqlx::Error::Tls(_) => "TLS error".to_owned(),
        sqlx::Error::Protocol(_) => "protocol error".to_owned(),
        sqlx::Error::TypeNotFound { .. } => "type not found".to_owned(),
        sqlx::Error::ColumnIndexOutOfBounds { .. } => "column index out of bounds".to_owned(),
        sqlx::Error::Decode(_) => "could not decode a value".to_owned(),
        sqlx::Error::Encode(_) => "could not encode a value".to_owned(),
        sqlx::Error::AnyDriverError(_) => "driver error".to_owned(),
        sqlx::Error::WorkerCrashed => "database worker crashed".to_owned(),
        _ => "database error".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflict_subject_names_the_column_not_the_value() {
        assert_eq!(
            conflict_subject("UNIQUE constraint failed: identities.name"),
            "identity name"
        );
        assert_eq!(
            conflict_subject("UNIQUE constraint failed: api_keys.key_hash"),
            "api key hash"
        );
        assert_eq!(conflict_subject(""), "row");
        assert_eq!(constraint_subject("identities_name"), "identity name");
        assert_eq!(
            constraint_subject("signing_keys_one_active"),
            "active signing key"
        );
    }
}
