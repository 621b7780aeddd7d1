//! Replay: recorded requests against a candidate policy set
//! (`modelgate policy replay --policies DIR --since T`).

use serde::{Deserialize, Serialize};

use crate::compiled::CompiledPolicies;
use crate::decision::Decision;
use crate::facts::RequestFacts;

/// The part of a recorded decision that replay compares.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedDecision {
    /// Whether the request was allowed.
    pub allowed: bool,
    /// The policies that decided it.
    #[serde(default)]
    pub policy_ids: Vec<String>,
}

impl From<&Decision> for RecordedDecision {
    fn from(decision: &Decision) -> Self {
        RecordedDecision {
            allowed: decision.allowed,
            policy_ids: decision.policy_ids.clone(),
        }
    }
}

/// A recorded request whose decision the candidate set would change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionChange<K> {
    /// The record's id, as the caller gave it.
    pub record: K,
    /// What was decided when the request was made.
    pub recorded: RecordedDecision,
    /// What the candidate set decides.
    pub candidate: Decision,
}

/// Evaluates every record against `candidate` and returns those whose
/// allow/deny would change, in input order. A change of deciding policy
/// alone is not listed.
pub fn replay<K, I>(candidate: &CompiledPolicies, records: I) -> Vec<DecisionChange<K>>
where
    I: IntoIterator<Item = (K, RequestFacts, RecordedDecision)>,
{
    records
        .into_iter()
        .filter_map(|(record, facts, recorded)| {
            let decision = candidate.decide(&facts);
            (decision.allowed != recorded.allowed).then_some(DecisionChange {
                record,
                recorded,
                candidate: decision,
            })
        })
        .collect()
}
