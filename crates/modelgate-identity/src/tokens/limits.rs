//! The size limits of access tokens: how large a token, its `scope`, an
//! actor subject and a delegation chain may be.

/// Largest token accepted, in bytes (checked before anything else).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Longest `scope` accepted when minting, in characters.
pub const MAX_SCOPE_CHARS: usize = 1024;
/// Longest actor subject accepted when minting, in characters.
pub const MAX_ACTOR_CHARS: usize = 255;
/// Most actors in a delegation chain.
pub const MAX_DELEGATION_DEPTH: usize = 8;
