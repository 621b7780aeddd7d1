//! Access reviews: items per role and grant for the owner, keep or revoke,
//! overdue items become findings, and the model round-trips through JSON.

#![allow(clippy::unwrap_used)]

mod common;

use common::{NOW, days_ago};
use modelgate_posture::{
    FindingFamily, PostureError, PostureSettings, Review, ReviewDecision, findings,
};

#[test]
fn start_lists_current_entitlements_for_their_owners() {
    let review = Review::start(&common::clean(), NOW, NOW + 14 * common::DAY);
    let ids: Vec<&str> = review.items.iter().map(|i| i.id.as_str()).collect();
    // The expired JIT grant (claude-sonnet) is not under review.
    assert_eq!(
        ids,
        vec!["id_billing:role:ci-caller", "id_search:model:gpt-4o"]
    );
    assert_eq!(review.items[0].owner.as_deref(), Some("team-billing"));
    assert_eq!(review.items[1].owner.as_deref(), Some("team-search"));
    assert!(review.pending().count() == 2);
}

#[test]
fn only_the_owner_answers_and_only_once() {
    let mut review = Review::start(&common::clean(), NOW, NOW + 14 * common::DAY);
    let item = "id_billing:role:ci-caller";
    assert!(matches!(
        review.answer(item, "team-search", ReviewDecision::Keep, NOW),
        Err(PostureError::NotOwner { .. })
    ));
    assert!(matches!(
        review.answer(
            "id_billing:role:nope",
            "team-billing",
            ReviewDecision::Keep,
            NOW
        ),
        Err(PostureError::UnknownReviewItem { .. })
    ));
    let answered = review
        .answer(item, " team-billing ", ReviewDecision::Revoke, NOW + 60)
        .unwrap();
    assert_eq!(answered.answer.as_ref().unwrap().reviewer, "team-billing");
    assert!(matches!(
        review.answer(item, "team-billing", ReviewDecision::Keep, NOW + 61),
        Err(PostureError::AlreadyAnswered { .. })
    ));
    let revoked: Vec<&str> = review
        .revocations()
        .map(|i| i.entitlement.as_str())
        .collect();
    assert_eq!(revoked, vec!["ci-caller"]);
    assert_eq!(review.pending().count(), 1);
}

#[test]
fn unanswered_items_past_due_become_findings() {
    let mut s = common::clean();
    let mut review = Review::start(&s, days_ago(20), days_ago(6));
    assert_eq!(
        review.overdue_findings(days_ago(6)).len(),
        0,
        "due, not past due"
    );
    review
        .answer(
            "id_search:model:gpt-4o",
            "team-search",
            ReviewDecision::Keep,
            days_ago(10),
        )
        .unwrap();
    s.reviews.push(review);
    let f = findings(&s, &PostureSettings::default());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].family, FindingFamily::OverdueReviewItem);
    assert_eq!(
        f[0].id,
        format!(
            "nhi5.review_overdue:review-{}:id_billing:role:ci-caller",
            days_ago(20)
        )
    );
    assert!(f[0].title.contains("not reviewed by team-billing"));
    assert!(
        f[0].remediation
            .starts_with("modelgate review answer review-")
    );
}

#[test]
fn review_round_trips_through_json() {
    let mut review = Review::start(&common::clean(), NOW, NOW + 1);
    review
        .answer(
            "id_search:model:gpt-4o",
            "team-search",
            ReviewDecision::Revoke,
            NOW,
        )
        .unwrap();
    let json = serde_json::to_string(&review).unwrap();
    let back: Review = serde_json::from_str(&json).unwrap();
    assert_eq!(back, review);
    assert!(json.contains("\"decision\":\"revoke\""));
}
