//! Access reviews on live state, shared by the CLI and the admin API:
//! open a review of every identity's roles and grants, record an owner's
//! answer and apply a revoke (unassign the standing role, revoke the
//! just-in-time grant, or take the admin role away) through the identity
//! service. Auditing is the
//! caller's (the CLI's chain or the admin trail), since it knows who acts.

use modelgate_identity::access::{AccessError, Requester};
use modelgate_identity::{IdentityError, IdentityService};
use modelgate_posture::snapshot::EntitlementKind;
use modelgate_posture::{PostureError, Review, ReviewDecision, ReviewItem};
use modelgate_store::{ReviewRecord, StoreError};

use modelgate_core::posture_context::PostureContext;

use crate::posture::snapshot::{PostureStateError, SnapshotOptions, build_snapshot, parse_review};

/// Attempts at saving an answer when another answer lands at the same time.
const SAVE_ATTEMPTS: usize = 3;

/// Why a review could not be opened or answered.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// Live state could not be read.
    #[error(transparent)]
    State(#[from] PostureStateError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No review with this id.
    #[error("no review {0}")]
    NotFound(String),
    /// A review was already opened this second.
    #[error("a review was already opened this second ({0}); try again")]
    AlreadyOpen(String),
    /// The answer is refused (unknown item, answered, not the owner).
    #[error(transparent)]
    Answer(#[from] PostureError),
    /// Applying the revoke failed; the answer is not recorded.
    #[error("revoking failed, the answer is not recorded: {0}")]
    Revoke(AccessError),
    /// Removing the admin role failed; the answer is not recorded. The
    /// cause is in the message, not also the `source()`.
    #[error("removing the admin role failed, the answer is not recorded: {0}")]
    Admin(IdentityError),
    /// Other answers kept landing first.
    #[error("review {0} kept changing while answering; try again")]
    Busy(String),
}

/// The cause is in the message, so it is not also the `source()` (a chain
/// printed in full would say it twice).
impl From<AccessError> for ReviewError {
    fn from(e: AccessError) -> Self {
        ReviewError::Revoke(e)
    }
}

/// What an answer did.
#[derive(Debug, Clone)]
pub struct Answered {
    /// The item, with its answer.
    pub item: ReviewItem,
    /// The change applied for a revoke, for people and the audit log
    /// (`role.unassign ROLE`, `grant.revoke GRANT_ID`, `admin.revoke`, or
    /// `admin.unchanged: ...` when the admin role changed since the review
    /// opened and is left alone), if any.
    pub applied: Option<String>,
}

/// Opens a review of every current role and grant, due at `due_at`.
pub async fn start_review(
    identity: &IdentityService,
    context: &PostureContext,
    now: i64,
    due_at: i64,
) -> Result<Review, ReviewError> {
    let snapshot = build_snapshot(
        identity,
        context,
        &Default::default(),
        SnapshotOptions { now, window: None },
    )
    .await?;
    let review = Review::start(&snapshot, now, due_at);
    let record = ReviewRecord {
        id: review.id.clone(),
        opened_at: review.opened_at,
        due_at: review.due_at,
        body: to_json(&review)?,
        version: 0,
    };
    match identity.store().insert_review(&record).await {
        Ok(()) => Ok(review),
        Err(StoreError::Conflict(_)) => Err(ReviewError::AlreadyOpen(review.id)),
        Err(e) => Err(e.into()),
    }
}

fn to_json(review: &Review) -> Result<String, ReviewError> {
    serde_json::to_string(review).map_err(|e| {
        ReviewError::Answer(PostureError::Parse {
            what: "review",
            message: e.to_string(),
        })
    })
}

/// Reads one review.
pub async fn load_review(
    identity: &IdentityService,
    id: &str,
) -> Result<(Review, ReviewRecord), ReviewError> {
    let record = identity
        .store()
        .review(id)
        .await?
        .ok_or_else(|| ReviewError::NotFound(id.to_owned()))?;
    Ok((parse_review(&record)?, record))
}

/// One answer to record.
#[derive(Debug, Clone)]
pub struct AnswerRequest<'a> {
    /// Review id.
    pub review: &'a str,
    /// Item id.
    pub item: &'a str,
    /// Who answers: must be the identity's owner.
    pub reviewer: &'a str,
    /// Keep or revoke.
    pub decision: ReviewDecision,
    /// Who removes access for a revoke (the owner, or an admin).
    pub revoker: Requester,
    /// Now, unix seconds.
    pub now: i64,
}

/// Records an answer; for a revoke, first removes the access (if removing
/// fails, nothing is recorded).
pub async fn answer_review(
    identity: &IdentityService,
    request: AnswerRequest<'_>,
) -> Result<Answered, ReviewError> {
    let mut applied: Option<Option<String>> = None;
    for _ in 0..SAVE_ATTEMPTS {
        let (mut review, mut record) = load_review(identity, request.review).await?;
        let item = review
            .answer(
                request.item,
                request.reviewer,
                request.decision,
                request.now,
            )?
            .clone();
        if applied.is_none() {
            applied = Some(match request.decision {
                ReviewDecision::Keep => None,
                ReviewDecision::Revoke => {
                    Some(revoke(identity, &item, &review.id, &request).await?)
                }
            });
        }
        record.body = to_json(&review)?;
        if identity.store().update_review(&record).await? {
            return Ok(Answered {
                item,
                applied: applied.flatten(),
            });
        }
    }
    Err(ReviewError::Busy(request.review.to_owned()))
}

/// Removes the admin role an item stands for, only if the identity still
/// holds that role (`item.entitlement` is the scope's label, `global` or
/// `owner:O`). Already gone: the answer still stands. Changed since the
/// review opened (a role of another scope granted since): the answer still
/// stands for the role reviewed, which is gone, and the role now held is
/// left alone (it is not what the owner reviewed): `applied` says so.
async fn revoke_admin(
    identity: &IdentityService,
    item: &ReviewItem,
) -> Result<String, ReviewError> {
    let held = identity
        .held_admin_scope(&item.identity)
        .await
        .map_err(ReviewError::Admin)?;
    match held {
        None => Ok("admin.revoke".to_owned()),
        Some(scope) if scope.label() == item.entitlement => {
            identity
                .revoke_admin(&item.identity_name)
                .await
                .map_err(ReviewError::Admin)?;
            Ok("admin.revoke".to_owned())
        }
        Some(scope) => Ok(format!(
            "admin.unchanged: the role changed since the review opened (now admin:{}, reviewed admin:{}); not revoked",
            scope.label(),
            item.entitlement
        )),
    }
}

/// Removes the access an item stands for.
async fn revoke(
    identity: &IdentityService,
    item: &ReviewItem,
    review_id: &str,
    request: &AnswerRequest<'_>,
) -> Result<String, ReviewError> {
    if item.kind == EntitlementKind::Admin {
        return revoke_admin(identity, item).await;
    }
    if item.kind != EntitlementKind::Role {
        return Err(ReviewError::Answer(PostureError::Parse {
            what: "review item",
            message: "only roles and grants can be revoked from a review".to_owned(),
        }));
    }
    if let Some(grant_id) = item.source.strip_prefix("jit:") {
        let reason = format!("access review {review_id}");
        identity
            .revoke_grant(grant_id, &request.revoker, Some(&reason), request.now)
            .await?;
        return Ok(format!("grant.revoke {grant_id}"));
    }
    match identity
        .unassign_role(
            &item.identity_name,
            &item.entitlement,
            request.revoker.name(),
            request.now,
        )
        .await
    {
        // Already gone: the answer still stands.
        Ok(_) | Err(AccessError::NotAssigned { .. }) => {
            Ok(format!("role.unassign {}", item.entitlement))
        }
        Err(e) => Err(e.into()),
    }
}
