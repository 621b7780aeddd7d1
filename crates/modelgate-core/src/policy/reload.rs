//! Reloading policies on a running gateway (SIGHUP, admin API), recorded in
//! the audit log either way.

use std::collections::BTreeMap;

use crate::Core;
use crate::policy::PolicyLoad;

impl Core {
    /// Re-reads the policy directory. A set with any problem is rejected
    /// and the active one keeps enforcing; the error lists each problem as
    /// `file:line:col: message`. Both outcomes are audit records
    /// (`policy.load`, `policy.reject`) by `actor`.
    pub async fn reload_policies(&self, actor: &str) -> Result<PolicyLoad, String> {
        let result = self.policy.reload();
        let (action, outcome, detail) = match &result {
            Ok(load) => (
                "policy.load",
                "ok",
                BTreeMap::from([
                    ("files".to_owned(), load.files.to_string()),
                    ("policies".to_owned(), load.policies.to_string()),
                ]),
            ),
            Err(err) => (
                "policy.reject",
                "failed",
                BTreeMap::from([("problems".to_owned(), err.to_string())]),
            ),
        };
        match &result {
            Ok(load) => tracing::info!(
                files = load.files,
                policies = load.policies,
                "policies reloaded"
            ),
            Err(err) => {
                tracing::error!(error = %err, "policy reload rejected; the previous set stays active")
            }
        }
        if let Err(err) = self
            .audit
            .control(action, Some(actor), Some("policies"), outcome, detail)
            .await
        {
            tracing::error!(error = %err, "audit: policy reload not recorded");
        }
        result.map_err(|e| e.to_string())
    }

    /// The active policy set: ids, counts, and shadow differences so far.
    pub fn policy_summary(&self) -> serde_json::Value {
        let active = self.policy.active();
        serde_json::json!({
            "policies": active.len(),
            "files": active.files().iter().map(|f| f.name.display().to_string()).collect::<Vec<_>>(),
            "ids": active.policy_ids(),
            "shadow_differences": self.policy.shadow_differences(),
        })
    }
}
