//! Posture on live state, shared by the CLI and the admin API: the
//! snapshot of identities, credentials, entitlements, issuers, upstreams
//! and usage ([`snapshot`], [`usage`]), and access reviews ([`review`]).

mod leaks;
pub mod review;
pub mod snapshot;
mod usage;
