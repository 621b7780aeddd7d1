//! How fresh this replica's copy of the shared state is, as access token
//! and API key authentication see it: past a bound without a successful
//! sync it authenticates nobody (fail closed), because a revocation, a
//! disabled identity or a retired signing key may not have reached it.

use std::time::Duration;

use super::AccessTokens;
use crate::error::AuthError;

/// The staleness bound the gateway configures by default
/// (`tokens.max_staleness`).
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(10);

impl AccessTokens {
    /// Sets how long this replica may go without a successful
    /// [`AccessTokens::refresh`] before it stops authenticating: past the
    /// bound, [`AccessTokens::verify`] (and API key authentication through
    /// an `IdentityService` holding these tokens) fail with
    /// [`AuthError::StateStale`]. `None` (the default, for one-shot tools)
    /// means no bound.
    pub fn set_max_staleness(&self, bound: Option<Duration>) {
        self.inner.freshness.set_max(bound);
    }

    /// How long ago the state last synced successfully with the store.
    pub fn since_last_sync(&self) -> Duration {
        self.inner.freshness.since_sync()
    }

    /// Whether the last successful sync is older than the bound (see
    /// [`AccessTokens::set_max_staleness`]).
    pub fn is_stale(&self) -> bool {
        self.inner.freshness.is_stale()
    }

    /// [`AuthError::StateStale`] when [`AccessTokens::is_stale`].
    pub(crate) fn check_fresh(&self) -> Result<(), AuthError> {
        if self.is_stale() {
            return Err(AuthError::StateStale);
        }
        Ok(())
    }
}
