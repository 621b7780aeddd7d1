//! The access review as data: the review, its items and the owners'
//! answers, stored (as JSON) with the snapshot.

use serde::{Deserialize, Serialize};

use crate::entitlement::EntitlementKind;
use crate::time::UnixSeconds;

/// The owner's answer for one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Still needed.
    Keep,
    /// Take it away.
    Revoke,
}

/// Who answered what, when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewAnswer {
    /// Keep or revoke.
    pub decision: ReviewDecision,
    /// Who answered.
    pub reviewer: String,
    /// When.
    pub answered_at: UnixSeconds,
}

/// One entitlement of one identity under review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    /// `IDENTITY_ID:KIND:NAME`, unique in the review.
    pub id: String,
    /// Identity id.
    pub identity: String,
    /// Identity name.
    pub identity_name: String,
    /// The owner who must answer; `None` when the identity has none (then
    /// any reviewer may answer, and NHI1 reports the missing owner).
    pub owner: Option<String>,
    /// Role or model.
    pub kind: EntitlementKind,
    /// Role or model name.
    pub entitlement: String,
    /// Where the entitlement comes from.
    pub source: String,
    /// The answer, once given.
    pub answer: Option<ReviewAnswer>,
}

/// An access review.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    /// `review-<opened_at>`.
    pub id: String,
    /// When it was opened.
    pub opened_at: UnixSeconds,
    /// When answers are due.
    pub due_at: UnixSeconds,
    /// One item per entitlement of every identity not offboarded.
    pub items: Vec<ReviewItem>,
}
