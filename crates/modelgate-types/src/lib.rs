//! modelgate's shared vocabulary.
//!
//! Owns the words every other crate speaks: what an identity is
//! ([`IdentityKind`], [`IdentityStatus`]), what an upstream is
//! ([`UpstreamKind`], [`Deployment`], [`Isolation`]), what a caller asks for
//! ([`Operation`], in a [`Dialect`]), what a call consumed ([`Usage`]), the
//! one clock ([`clock`]) and the one way durations are written in
//! configuration ([`duration`]). Each is defined here once; the crates that
//! use them import them instead of declaring their own.
//!
//! It does no I/O and depends on no other modelgate crate: everything else
//! may depend on it.

pub mod clock;
pub mod duration;
mod identity;
mod operation;
mod upstream;
pub mod usage;

pub use identity::{IdentityKind, IdentityStatus, ParseEnumError};
pub use operation::{Dialect, Operation};
pub use upstream::{Deployment, Isolation, UpstreamKind};
pub use usage::Usage;
