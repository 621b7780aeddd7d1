use super::{api_key, identity, open, temp_db};
use crate::{GrantDecision, GrantRecord, RoleAssignmentRecord, Store, StoreError};

fn grant(id: &str, identity_id: &str, required: i64) -> GrantRecord {
    GrantRecord {
        id: id.to_owned(),
        identity_id: identity_id.to_owned(),
        role: "prod-reader".to_owned(),
        requested_by: "billing".to_owned(),
        reason: "incident 42".to_owned(),
        requested_at: 1_000,
        duration_secs: 600,
        pending_expires_at: 1_100,
        approvals_required: required,
        state: "pending".to_owned(),
        starts_at: None,
        expires_at: None,
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        approvals: Vec::new(),
    }
}

fn decision(by: &str, at: i64) -> GrantDecision<'_> {
    GrantDecision {
        by,
        at,
        reason: Some("done"),
    }
}

async fn with_identity() -> (tempfile::TempDir, Store) {
    let (dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    (dir, store)
}

#[tokio::test]
async fn role_assignment_upserts_removes_and_bumps() {
    let (_dir, store) = with_identity().await;
    let mut r = RoleAssignmentRecord {
        identity_id: "idn_1".to_owned(),
        role: "reader".to_owned(),
        assigned_at: 1_000,
        until: None,
        assigned_by: "alice".to_owned(),
    };
    store.assign_role(&r).await.unwrap();
    r.until = Some(2_000);
    r.assigned_by = "bob".to_owned();
    store.assign_role(&r).await.unwrap();
    assert_eq!(store.revision().await.unwrap(), 2);
    assert_eq!(
        store.role_assignments(Some("idn_1")).await.unwrap(),
        [r.clone()]
    );
    assert_eq!(store.role_assignments(None).await.unwrap().len(), 1);
    assert!(
        store
            .role_assignments(Some("idn_x"))
            .await
            .unwrap()
            .is_empty()
    );
    // `until` is exclusive for the active view.
    assert_eq!(store.active_access(1_999).await.unwrap().0.len(), 1);
    assert!(store.active_access(2_000).await.unwrap().0.is_empty());
    assert!(store.unassign_role("idn_1", "reader").await.unwrap());
    assert!(!store.unassign_role("idn_1", "reader").await.unwrap());
    assert_eq!(store.revision().await.unwrap(), 3);
    let err = store
        .assign_role(&RoleAssignmentRecord {
            identity_id: "idn_missing".to_owned(),
            ..r
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingReference(_)), "{err}");
    assert_eq!(store.revision().await.unwrap(), 3);
}

#[tokio::test]
async fn grant_needs_distinct_approvals_and_activates_at_the_last() {
    let (_dir, store) = with_identity().await;
    store
        .insert_grant(&grant("grt_1", "idn_1", 2))
        .await
        .unwrap();
    let after = store
        .approve_grant("grt_1", "alice", 1_010)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.state, "pending");
    assert_eq!(after.approvals.len(), 1);
    let err = store
        .approve_grant("grt_1", "alice", 1_011)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(w) if w == "grant approval"),
        "{err}"
    );
    let after = store
        .approve_grant("grt_1", "bob", 1_020)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.state, "approved");
    assert_eq!(after.starts_at, Some(1_020));
    assert_eq!(after.expires_at, Some(1_620));
    assert_eq!(after.decided_by.as_deref(), Some("bob"));
    assert_eq!(
        after
            .approvals
            .iter()
            .map(|a| a.approver.as_str())
            .collect::<Vec<_>>(),
        ["alice", "bob"]
    );
    // No longer pending: a third approval changes nothing.
    assert!(
        store
            .approve_grant("grt_1", "carol", 1_030)
            .await
            .unwrap()
            .is_none()
    );
    let (_, active) = store.active_access(1_619).await.unwrap();
    assert_eq!(active.len(), 1);
    assert!(store.active_access(1_620).await.unwrap().1.is_empty());
    assert_eq!(store.grant_by_id("grt_1").await.unwrap().unwrap(), after);
    assert_eq!(store.list_grants(Some("idn_1")).await.unwrap(), [after]);
}

#[tokio::test]
async fn lapsed_or_decided_grants_cannot_be_approved_or_denied() {
    let (_dir, store) = with_identity().await;
    store
        .insert_grant(&grant("grt_1", "idn_1", 1))
        .await
        .unwrap();
    // pending_expires_at is exclusive.
    assert!(
        store
            .approve_grant("grt_1", "alice", 1_100)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .deny_grant("grt_1", decision("alice", 1_100))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .revoke_grant("grt_1", decision("alice", 1_100))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .grant_by_id("grt_1")
            .await
            .unwrap()
            .unwrap()
            .approvals
            .is_empty()
    );
    store
        .insert_grant(&grant("grt_2", "idn_1", 1))
        .await
        .unwrap();
    let denied = store
        .deny_grant("grt_2", decision("alice", 1_050))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(denied.state, "denied");
    assert_eq!(denied.decision_reason.as_deref(), Some("done"));
    assert!(
        store
            .approve_grant("grt_2", "bob", 1_060)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .revoke_grant("grt_2", decision("bob", 1_060))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .approve_grant("grt_missing", "bob", 1_060)
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.grant_by_id("grt_missing").await.unwrap().is_none());
}

#[tokio::test]
async fn revoke_ends_an_active_grant_but_not_an_expired_one() {
    let (_dir, store) = with_identity().await;
    store
        .insert_grant(&grant("grt_1", "idn_1", 1))
        .await
        .unwrap();
    store
        .insert_grant(&grant("grt_2", "idn_1", 1))
        .await
        .unwrap();
    store
        .approve_grant("grt_1", "alice", 1_000)
        .await
        .unwrap()
        .unwrap();
    store
        .approve_grant("grt_2", "alice", 1_000)
        .await
        .unwrap()
        .unwrap();
    let rev = store.revision().await.unwrap();
    let revoked = store
        .revoke_grant("grt_1", decision("bob", 1_300))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(revoked.state, "revoked");
    assert_eq!(store.revision().await.unwrap(), rev + 1);
    // grt_2 expired at 1_600: revoking it then is a no-op, no bump.
    assert!(
        store
            .revoke_grant("grt_2", decision("bob", 1_600))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.revision().await.unwrap(), rev + 1);
    let (_, active) = store.active_access(1_300).await.unwrap();
    assert_eq!(
        active.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(),
        ["grt_2"]
    );
}

#[tokio::test]
async fn grant_for_unknown_identity_is_refused() {
    let (_dir, store) = with_identity().await;
    let err = store
        .insert_grant(&grant("grt_1", "idn_x", 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingReference(_)), "{err}");
    store
        .insert_grant(&grant("grt_1", "idn_1", 1))
        .await
        .unwrap();
    let err = store
        .insert_grant(&grant("grt_1", "idn_1", 1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(w) if w == "grant id"),
        "{err}"
    );
}

#[tokio::test]
async fn offboarding_revokes_grants_and_removes_roles_in_one_transaction() {
    let (_dir, store) = with_identity().await;
    store
        .insert_api_key(&api_key("key_1", "idn_1", 1))
        .await
        .unwrap();
    store
        .assign_role(&RoleAssignmentRecord {
            identity_id: "idn_1".to_owned(),
            role: "reader".to_owned(),
            assigned_at: 1_000,
            until: None,
            assigned_by: "alice".to_owned(),
        })
        .await
        .unwrap();
    store
        .insert_grant(&grant("grt_active", "idn_1", 1))
        .await
        .unwrap();
    store
        .approve_grant("grt_active", "alice", 1_000)
        .await
        .unwrap()
        .unwrap();
    store
        .insert_grant(&grant("grt_pending", "idn_1", 1))
        .await
        .unwrap();
    store
        .insert_grant(&grant("grt_denied", "idn_1", 1))
        .await
        .unwrap();
    store
        .deny_grant("grt_denied", decision("alice", 1_001))
        .await
        .unwrap()
        .unwrap();
    let summary = store
        .offboard_identity("idn_1", 1_050)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.keys_revoked, 1);
    assert_eq!(summary.grants_revoked, 2);
    assert_eq!(summary.roles_removed, 1);
    let (roles, active) = store.active_access(1_050).await.unwrap();
    assert!(roles.is_empty() && active.is_empty());
    let states: Vec<(String, String)> = store
        .list_grants(None)
        .await
        .unwrap()
        .into_iter()
        .map(|g| (g.id, g.state))
        .collect();
    assert!(states.contains(&("grt_denied".to_owned(), "denied".to_owned())));
    assert!(states.contains(&("grt_active".to_owned(), "revoked".to_owned())));
    assert!(states.contains(&("grt_pending".to_owned(), "revoked".to_owned())));
}

#[tokio::test]
async fn offboarding_rolls_back_grants_when_the_transaction_fails() {
    let (_dir, store) = with_identity().await;
    store
        .insert_grant(&grant("grt_1", "idn_1", 1))
        .await
        .unwrap();
    store
        .approve_grant("grt_1", "alice", 1_000)
        .await
        .unwrap()
        .unwrap();
    let fail_revision = if super::on_postgres() {
        "CREATE FUNCTION fail_revision() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'injected failure'; END $$; \
         CREATE TRIGGER fail_revision BEFORE UPDATE ON state_revision \
         FOR EACH ROW EXECUTE FUNCTION fail_revision();"
    } else {
        "CREATE TRIGGER fail_revision BEFORE UPDATE ON state_revision \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    };
    super::raw(&store, fail_revision).await;
    assert!(store.offboard_identity("idn_1", 1_050).await.is_err());
    let g = store.grant_by_id("grt_1").await.unwrap().unwrap();
    assert_eq!(g.state, "approved");
    let i = store.identity_by_id("idn_1").await.unwrap().unwrap();
    assert_eq!(i.status, "active");
}
