//! What opening a store may do to its schema.

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
