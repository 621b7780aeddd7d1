//! Access reviews on the [`Store`]: each review is an opaque JSON document
//! (the posture logic owns its shape), with a version so that an answer is
//! a compare-and-swap.

use crate::{Store, StoreError};

/// A stored access review.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewRecord {
    /// Review id (`review-<opened_at>`).
    pub id: String,
    /// When it was opened, unix seconds.
    pub opened_at: i64,
    /// When answers are due, unix seconds.
    pub due_at: i64,
    /// The review document (JSON).
    pub body: String,
    /// Bumped by every update; pass the version read to
    /// [`Store::update_review`].
    pub version: i64,
}

impl Store {
    /// Inserts a review (its `version` is ignored and starts at 1).
    /// [`StoreError::Conflict`] if the id is taken.
    pub async fn insert_review(&self, r: &ReviewRecord) -> Result<(), StoreError> {
        on_backend!(self, b => b.insert_review(r).await)
    }

    /// The review with this id, if any.
    pub async fn review(&self, id: &str) -> Result<Option<ReviewRecord>, StoreError> {
        on_backend!(self, b => b.review(id).await)
    }

    /// Reviews opened at or after `since` (unix seconds), newest first, at
    /// most `limit`.
    pub async fn list_reviews(
        &self,
        since: i64,
        limit: i64,
    ) -> Result<Vec<ReviewRecord>, StoreError> {
        on_backend!(self, b => b.list_reviews(since, limit).await)
    }

    /// Replaces the body of review `r.id` if it is still at version
    /// `r.version`; `false` (nothing written) if it is unknown or was
    /// changed since it was read.
    pub async fn update_review(&self, r: &ReviewRecord) -> Result<bool, StoreError> {
        on_backend!(self, b => b.update_review(r).await)
    }
}
