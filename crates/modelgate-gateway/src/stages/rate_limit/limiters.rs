//! Which limiter a gateway counts with: in its own process when its store
//! is SQLite (one gateway per file), shared through the store when it is
//! PostgreSQL (any number of replicas); and where a call's tokens are
//! charged when it ends.

use std::sync::Arc;

use modelgate_store::Store;

use super::limiter::{Limits, RateLimiter};
use super::shared::{Refused, SharedRateLimiter};

/// The gateway's rate limiter.
#[derive(Debug)]
pub enum Limiter {
    /// Counters in this process.
    InProcess(RateLimiter),
    /// Allotments from counters in the store, shared by every replica.
    Shared(SharedRateLimiter),
}

impl Limiter {
    /// The limiter for a gateway on `store`.
    pub fn for_store(store: &Store) -> Limiter {
        match store.backend_name() {
            "postgres" => Limiter::Shared(SharedRateLimiter::new(store.clone())),
            _ => Limiter::InProcess(RateLimiter::default()),
        }
    }

    /// Admits one call of `identity` under `limits` at `now_ms` (unix ms),
    /// counting it, or says why not.
    pub async fn admit(&self, identity: &str, limits: Limits, now_ms: i64) -> Result<(), Refused> {
        match self {
            Limiter::InProcess(limiter) => limiter
                .admit(identity, limits, now_ms)
                .map_err(Refused::Exceeded),
            Limiter::Shared(limiter) => limiter.admit(identity, limits, now_ms).await,
        }
    }
}

/// Where an admitted call's tokens are charged when it ends.
#[derive(Debug)]
pub struct TokenCharge {
    limiter: Arc<Limiter>,
    identity: String,
}

impl TokenCharge {
    /// Charges to `identity` on `limiter`.
    pub fn new(limiter: Arc<Limiter>, identity: String) -> TokenCharge {
        TokenCharge { limiter, identity }
    }

    /// Charges the `tokens` the call used at `now_ms`. Shared: from the
    /// replica's allotment, and what it cannot cover to the store, in the
    /// background (the call has ended; a failure is logged).
    pub fn charge(self, tokens: u64, now_ms: i64) {
        if tokens == 0 {
            return;
        }
        let excess = match &*self.limiter {
            Limiter::InProcess(limiter) => {
                limiter.charge_tokens(&self.identity, tokens, now_ms);
                return;
            }
            Limiter::Shared(limiter) => limiter.spend_tokens(&self.identity, tokens, now_ms),
        };
        if excess == 0 {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                excess,
                "tokens beyond the allotment not charged: no runtime"
            );
            return;
        };
        let Limiter::Shared(limiter) = &*self.limiter else {
            return;
        };
        let charged = limiter.charge_excess(&self.identity, excess, now_ms);
        runtime.spawn(async move {
            if let Err(error) = charged.await {
                tracing::warn!(
                    identity = %self.identity,
                    excess,
                    %error,
                    "tokens beyond the allotment not charged to the shared rate window"
                );
            }
        });
    }
}
