//! Identity kinds and lifecycle statuses, with their stored spellings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// What sort of workload an identity stands for. Ordered as declared (for
/// maps keyed by kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    /// A long-running application or service.
    Service,
    /// A CI/CD pipeline job.
    CiJob,
    /// An autonomous or semi-autonomous agent.
    Agent,
    /// A retrieval layer (RAG, search) calling models.
    Retrieval,
    /// Tool-calling middleware.
    Tool,
}

/// Where an identity is in its lifecycle.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum IdentityStatus {
    /// May authenticate and receive credentials.
    #[default]
    Active,
    /// Temporarily blocked: its credentials are refused.
    Disabled,
    /// Retired for good: its credentials are refused.
    Offboarded,
}

/// A string that names no known kind or status. Holds the valid spellings,
/// not the input.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what}; expected one of: {expected}")]
pub struct ParseEnumError {
    what: &'static str,
    expected: &'static str,
}

impl ParseEnumError {
    /// An error for a value of `what` that is none of `expected`.
    pub fn new(what: &'static str, expected: &'static str) -> ParseEnumError {
        ParseEnumError { what, expected }
    }
}

impl IdentityKind {
    /// Every kind, in display order.
    pub const ALL: [IdentityKind; 5] = [
        IdentityKind::Service,
        IdentityKind::CiJob,
        IdentityKind::Agent,
        IdentityKind::Retrieval,
        IdentityKind::Tool,
    ];

    /// The stored and displayed spelling (`service`, `ci_job`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Service => "service",
            IdentityKind::CiJob => "ci_job",
            IdentityKind::Agent => "agent",
            IdentityKind::Retrieval => "retrieval",
            IdentityKind::Tool => "tool",
        }
    }
}

impl IdentityStatus {
    /// The stored and displayed spelling (`active`, `disabled`, `offboarded`).
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityStatus::Active => "active",
            IdentityStatus::Disabled => "disabled",
            IdentityStatus::Offboarded => "offboarded",
        }
    }
}

impl fmt::Display for IdentityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for IdentityStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IdentityKind {
    type Err = ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdentityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(ParseEnumError {
                what: "identity kind",
                expected: "service, ci_job, agent, retrieval, tool",
            })
    }
}

impl FromStr for IdentityStatus {
    type Err = ParseEnumError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            IdentityStatus::Active,
            IdentityStatus::Disabled,
            IdentityStatus::Offboarded,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or(ParseEnumError {
            what: "identity status",
            expected: "active, disabled, offboarded",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_text() {
        for kind in IdentityKind::ALL {
            assert_eq!(kind.to_string().parse::<IdentityKind>(), Ok(kind));
        }
        assert_eq!("ci_job".parse(), Ok(IdentityKind::CiJob));
        assert!("CiJob".parse::<IdentityKind>().is_err());
        assert!("offboarded".parse::<IdentityStatus>().is_ok());
        let err = "mgk_secret".parse::<IdentityKind>().unwrap_err();
        assert!(!err.to_string().contains("mgk_secret"));
    }
}
