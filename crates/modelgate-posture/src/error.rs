//! Errors of this crate.

/// What can go wrong loading inputs, answering reviews or rendering.
#[derive(Debug, thiserror::Error)]
pub enum PostureError {
    /// A snapshot, settings or requirements document did not parse.
    #[error("invalid {what}: {message}")]
    Parse {
        /// Which document.
        what: &'static str,
        /// The parser's message (it never contains secret values: these
        /// documents hold none).
        message: String,
    },
    /// The review has no item with this id.
    #[error("review {review} has no item {item}")]
    UnknownReviewItem {
        /// Review id.
        review: String,
        /// Item id.
        item: String,
    },
    /// The item was already answered.
    #[error("review item {item} was already answered")]
    AlreadyAnswered {
        /// Item id.
        item: String,
    },
    /// Only the identity's owner may answer its items.
    #[error("{reviewer} is not the owner of the identity under review item {item}")]
    NotOwner {
        /// Item id.
        item: String,
        /// Who tried.
        reviewer: String,
    },
    /// The review is closed.
    #[error("review {review} is closed")]
    ReviewClosed {
        /// Review id.
        review: String,
    },
    /// Writing CSV failed.
    #[error("csv: {0}")]
    Csv(String),
}
