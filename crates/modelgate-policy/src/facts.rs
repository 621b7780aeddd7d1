//! What the gateway knows about one request when it asks for a decision.
//!
//! [`RequestFacts`] is plain data: the gateway fills it, the audit log
//! stores it, and replay rebuilds decisions from it. Nothing here holds a
//! secret: findings are kinds and counts, never the matched text.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use modelgate_types::{Deployment, IdentityKind, IdentityStatus, Isolation, Operation};

/// Everything a decision is made from, for one candidate upstream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestFacts {
    /// The calling identity.
    pub principal: PrincipalFacts,
    /// Roles the identity holds right now: standing or through a JIT grant.
    #[serde(default)]
    pub roles: Vec<ActiveRole>,
    /// Who acts for the identity, outermost first (from the `act` claim).
    /// The delegation depth is its length.
    #[serde(default)]
    pub delegation: Vec<String>,
    /// The API operation.
    pub action: Operation,
    /// Public model name the caller asked for.
    pub model: String,
    /// `max_tokens` the caller asked for, if it asked.
    #[serde(default)]
    pub max_tokens: Option<u64>,
    /// Data class of the request.
    pub data_class: DataClass,
    /// What screening found in the prompt.
    #[serde(default)]
    pub findings: FindingSummary,
    /// The upstream this evaluation is for.
    pub upstream: UpstreamFacts,
    /// When the request arrived.
    pub time: TimeFacts,
}

/// The calling identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalFacts {
    /// Identity id (the Cedar entity id of the principal).
    pub id: String,
    /// Identity name.
    pub name: String,
    /// Kind of workload.
    pub kind: IdentityKind,
    /// Lifecycle status; only `active` identities are ever allowed.
    #[serde(default)]
    pub status: IdentityStatus,
    /// Deployment environment of the identity (`prod`, `dev`, ...).
    pub environment: String,
    /// Owner (team or person) accountable for the identity.
    pub owner: String,
}

/// A role the principal holds for this request, and why.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveRole {
    /// Role name.
    pub name: String,
    /// Standing assignment or the JIT grant that activated it.
    #[serde(default)]
    pub source: RoleSource,
}

/// Where an active role comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RoleSource {
    /// Assigned to the identity until removed.
    #[default]
    Standing,
    /// Activated by a just-in-time grant, by grant id.
    Grant(String),
}

/// Sensitivity of the data in a request, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// May be published.
    Public,
    /// Internal to the organisation.
    Internal,
    /// Restricted to those who need it.
    Confidential,
    /// The most sensitive data (regulated, production secrets).
    Restricted,
}

impl DataClass {
    /// The spelling policies see (`public`, ..., `restricted`).
    pub fn as_str(self) -> &'static str {
        match self {
            DataClass::Public => "public",
            DataClass::Internal => "internal",
            DataClass::Confidential => "confidential",
            DataClass::Restricted => "restricted",
        }
    }

    /// Rank: `public` 0, `internal` 1, `confidential` 2, `restricted` 3.
    pub fn rank(self) -> i64 {
        self as i64
    }
}

impl fmt::Display for DataClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What screening found: kinds and counts, never matched text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingSummary {
    /// Count per finding kind (`aws_access_key`, `email`, ...).
    #[serde(default)]
    pub counts: BTreeMap<String, u32>,
    /// Whether any finding is a secret (credential, key, token).
    #[serde(default)]
    pub has_secret: bool,
    /// Whether any finding is personal data.
    #[serde(default)]
    pub has_pii: bool,
}

impl FindingSummary {
    /// Total number of findings.
    pub fn total(&self) -> u64 {
        self.counts.values().map(|&n| u64::from(n)).sum()
    }
}

/// The candidate upstream of this evaluation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamFacts {
    /// Upstream name from the config.
    pub name: String,
    /// Wire kind (`openai`, `anthropic`, `azure_openai`).
    pub kind: String,
    /// Hosted or self-hosted.
    pub deployment: Deployment,
    /// Where it processes data.
    pub region: String,
    /// The provider's stated prompt retention in days (0 = none).
    #[serde(default)]
    pub retention_days: u32,
    /// Tenant isolation.
    pub isolation: Isolation,
    /// Environment the upstream serves (`prod`, `dev`), if configured.
    #[serde(default)]
    pub environment: Option<String>,
}

/// When the request arrived (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeFacts {
    /// Unix seconds.
    pub unix: i64,
    /// Hour of day, 0–23, UTC.
    pub hour: u8,
    /// ISO weekday, 1 = Monday … 7 = Sunday, UTC.
    pub weekday: u8,
}

impl TimeFacts {
    /// Hour and weekday of a unix time, in UTC.
    pub fn from_unix(unix: i64) -> TimeFacts {
        const DAY: i64 = 86_400;
        let days = unix.div_euclid(DAY);
        let secs = unix.rem_euclid(DAY);
        // 1970-01-01 was a Thursday (ISO weekday 4).
        let weekday = (days + 3).rem_euclid(7) + 1;
        TimeFacts {
            unix,
            hour: u8::try_from(secs / 3600).unwrap_or(0),
            weekday: u8::try_from(weekday).unwrap_or(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_from_unix_gives_utc_hour_and_iso_weekday() {
        // 1970-01-01T00:00:00Z, a Thursday.
        assert_eq!(TimeFacts::from_unix(0).weekday, 4);
        assert_eq!(TimeFacts::from_unix(0).hour, 0);
        // 2026-11-26T07:05:42Z, a Thursday.
        let t = TimeFacts::from_unix(1_795_676_742);
        assert_eq!((t.hour, t.weekday), (7, 4));
        // 2026-11-29T23:59:59Z, a Sunday.
        let t = TimeFacts::from_unix(1_795_996_799);
        assert_eq!((t.hour, t.weekday), (23, 7));
        // Before the epoch: 1969-12-31T23:00:00Z, a Wednesday.
        let t = TimeFacts::from_unix(-3600);
        assert_eq!((t.hour, t.weekday), (23, 3));
    }

    #[test]
    fn operation_names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.as_str()), Some(op));
            let json = serde_json::to_string(&op).unwrap();
            assert_eq!(json, format!("\"{}\"", op.as_str()));
        }
        assert_eq!(Operation::from_name("models_list"), None);
    }

    #[test]
    fn data_class_ranks_follow_sensitivity() {
        assert!(DataClass::Public.rank() < DataClass::Internal.rank());
        assert!(DataClass::Internal.rank() < DataClass::Confidential.rank());
        assert!(DataClass::Confidential.rank() < DataClass::Restricted.rank());
        assert_eq!(DataClass::Restricted.rank(), 3);
    }
}
