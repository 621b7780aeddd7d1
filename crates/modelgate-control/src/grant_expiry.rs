//! Grants stop at their expiry by themselves (entitlements are computed
//! from time); this records each expiry in the audit log, so the NHI
//! lifecycle evidence shows when access ended, not only when it began.

use std::collections::BTreeMap;

use modelgate_identity::access::{Grant, GrantFilter, GrantState};

use crate::Control;

/// When `grant` ran out: its expiry if it was approved, its pending
/// deadline if it never was.
fn ran_out_at(grant: &Grant) -> i64 {
    match grant.recorded_state {
        GrantState::Approved => grant.expires_at.unwrap_or(grant.pending_expires_at),
        _ => grant.pending_expires_at,
    }
}

impl Control {
    /// Records `grant.expire` for every grant that ran out in
    /// `(since, now]`. Returns how many were recorded.
    pub async fn record_grant_expiries(&self, since: i64, now: i64) -> Option<usize> {
        let filter = GrantFilter {
            identity: None,
            state: Some(GrantState::Expired),
        };
        let grants = match self.core.identity.list_grants(&filter, now).await {
            Ok(grants) => grants,
            Err(e) => {
                tracing::warn!(error = %e, "could not list expired grants");
                return None;
            }
        };
        let mut recorded = 0;
        let mut complete = true;
        for grant in grants.iter().filter(|g| {
            let at = ran_out_at(g);
            at > since && at <= now
        }) {
            let was = if grant.recorded_state == GrantState::Approved {
                "approved"
            } else {
                "pending"
            };
            let detail = BTreeMap::from([
                ("identity".to_owned(), grant.identity_name.clone()),
                ("role".to_owned(), grant.role.clone()),
                ("was".to_owned(), was.to_owned()),
                ("at".to_owned(), ran_out_at(grant).to_string()),
            ]);
            match self
                .core
                .audit
                .control("grant.expire", None, Some(&grant.id), "expired", detail)
                .await
            {
                Ok(_) => recorded += 1,
                Err(e) => {
                    complete = false;
                    tracing::error!(error = %e, "audit: grant expiry not recorded");
                }
            }
        }
        complete.then_some(recorded)
    }
}
