//! Refusing a replayed federated token: an issuer's `jti` is accepted once
//! while the token lives, on every replica (the seen ids are kept in the
//! store, per issuer, until the token's `exp` plus the longest leeway an
//! issuer may be configured with).

use modelgate_store::{Store, StoreError};
use serde_json::Value;

use super::FederatedSubject;
use super::issuer::MAX_LEEWAY;

/// Longest `jti` recorded; a longer one is refused.
pub const MAX_SUBJECT_JTI_CHARS: usize = 255;

/// What the replay check found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Replay {
    /// The token has no `jti` (the issuer sets none): not checked.
    NoJti,
    /// First use of this issuer's `jti`; now recorded.
    Fresh,
    /// This issuer's `jti` was used before, and its record is current.
    Replayed,
    /// The `jti` is not a string of 1 to [`MAX_SUBJECT_JTI_CHARS`]
    /// characters.
    Malformed,
}

/// Checks and records the `jti` of a verified federated token at `now`.
pub(crate) async fn check_replay(
    store: &Store,
    subject: &FederatedSubject,
    now: i64,
) -> Result<Replay, StoreError> {
    let jti = match subject.claims.get("jti") {
        None => return Ok(Replay::NoJti),
        Some(Value::String(jti))
            if !jti.is_empty() && jti.chars().count() <= MAX_SUBJECT_JTI_CHARS =>
        {
            jti
        }
        Some(_) => return Ok(Replay::Malformed),
    };
    let leeway = i64::try_from(MAX_LEEWAY.as_secs()).unwrap_or(i64::MAX);
    let until = subject.expires_at.saturating_add(leeway);
    Ok(
        if store
            .note_subject_token(&subject.issuer, jti, until, now)
            .await?
        {
            Replay::Fresh
        } else {
            Replay::Replayed
        },
    )
}
