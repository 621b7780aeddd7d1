//! The assessment's verdict: where a workload's model traffic should go.

use serde::Serialize;

/// Where the workload's model traffic should go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recommendation {
    /// A provider's API.
    Hosted,
    /// A model server the team runs.
    SelfHosted,
    /// Hosted for low-sensitivity data, self-hosted for sensitive data.
    Hybrid,
    /// No option the team can govern end to end.
    Refused,
}

impl Recommendation {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Recommendation::Hosted => "hosted",
            Recommendation::SelfHosted => "self_hosted",
            Recommendation::Hybrid => "hybrid",
            Recommendation::Refused => "refused",
        }
    }
}
