//! Access reviews: every identity's roles and grants put to its owner, who
//! keeps or revokes each; items unanswered past the due date are findings.
//!
//! The model is serde-serialisable so the caller can store it as JSON and
//! audit the review and each answer; applying a revoke is the caller's job
//! ([`Review::revocations`]).

mod model;

pub use model::{Review, ReviewAnswer, ReviewDecision, ReviewItem};

use crate::error::PostureError;
use crate::finding::{Evidence, Finding, FindingFamily, Severity};
use crate::snapshot::{IdentityStatus, PostureSnapshot, UnixSeconds};
use crate::time::iso_date;

impl Review {
    /// Opens a review of every current role and grant of every identity
    /// that is not offboarded (expired just-in-time grants are left out).
    pub fn start(snapshot: &PostureSnapshot, now: UnixSeconds, due: UnixSeconds) -> Review {
        let mut items = Vec::new();
        for identity in snapshot
            .identities
            .iter()
            .filter(|i| i.status != IdentityStatus::Offboarded)
        {
            for e in snapshot
                .entitlements_of(&identity.id)
                .filter(|e| e.expires_at.is_none_or(|t| t > now))
            {
                items.push(ReviewItem {
                    id: format!("{}:{}:{}", identity.id, e.kind.as_str(), e.name),
                    identity: identity.id.clone(),
                    identity_name: identity.name.clone(),
                    owner: identity.owner().map(str::to_owned),
                    kind: e.kind,
                    entitlement: e.name.clone(),
                    source: e.source.clone(),
                    answer: None,
                });
            }
        }
        items.sort_by(|a, b| a.id.cmp(&b.id));
        items.dedup_by(|a, b| a.id == b.id);
        Review {
            id: format!("review-{now}"),
            opened_at: now,
            due_at: due,
            items,
        }
    }

    /// Records the owner's answer for one item. Refused for an unknown
    /// item, an answered one, or a reviewer who is not the owner.
    pub fn answer(
        &mut self,
        item_id: &str,
        reviewer: &str,
        decision: ReviewDecision,
        at: UnixSeconds,
    ) -> Result<&ReviewItem, PostureError> {
        let review = self.id.clone();
        let item = self
            .items
            .iter_mut()
            .find(|i| i.id == item_id)
            .ok_or_else(|| PostureError::UnknownReviewItem {
                review,
                item: item_id.to_owned(),
            })?;
        if item.answer.is_some() {
            return Err(PostureError::AlreadyAnswered {
                item: item.id.clone(),
            });
        }
        if let Some(owner) = &item.owner
            && owner != reviewer.trim()
        {
            return Err(PostureError::NotOwner {
                item: item.id.clone(),
                reviewer: reviewer.to_owned(),
            });
        }
        item.answer = Some(ReviewAnswer {
            decision,
            reviewer: reviewer.trim().to_owned(),
            answered_at: at,
        });
        Ok(item)
    }

    /// Items not answered yet.
    pub fn pending(&self) -> impl Iterator<Item = &ReviewItem> {
        self.items.iter().filter(|i| i.answer.is_none())
    }

    /// Items answered "revoke": the entitlements the caller must remove.
    pub fn revocations(&self) -> impl Iterator<Item = &ReviewItem> {
        self.items.iter().filter(|i| {
            i.answer
                .as_ref()
                .is_some_and(|a| a.decision == ReviewDecision::Revoke)
        })
    }

    /// A finding per item still unanswered after the due date.
    pub fn overdue_findings(&self, now: UnixSeconds) -> Vec<Finding> {
        if now <= self.due_at {
            return Vec::new();
        }
        self.pending()
            .map(|item| {
                let by = item.owner.as_deref().map_or_else(
                    || "(identity has no owner)".to_owned(),
                    |o| format!("by {o}"),
                );
                Finding::new(
                    FindingFamily::OverdueReviewItem,
                    &format!("{}:{}", self.id, item.id),
                    Severity::Medium,
                    format!(
                        "{} {} of {} not reviewed {by} (due {})",
                        item.kind.as_str(),
                        item.entitlement,
                        item.identity_name,
                        iso_date(self.due_at)
                    ),
                    Evidence {
                        identities: vec![item.identity.clone()],
                        facts: vec![format!("review {} item {}", self.id, item.id)],
                        ..Evidence::default()
                    },
                    format!(
                        "modelgate review answer {} {} --keep|--revoke --by {}",
                        self.id,
                        item.id,
                        item.owner
                            .as_deref()
                            .map_or_else(|| "REVIEWER".to_owned(), crate::finding::shell_word)
                    ),
                )
            })
            .collect()
    }
}
