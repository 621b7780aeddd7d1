//! Races the backends must settle the way one serial order would: SQLite
//! by serialising writers, PostgreSQL by row locks and atomic upserts.

use std::sync::Arc;

use tokio::sync::Barrier;

use super::{identity, open, temp_db};
use crate::{GrantRecord, Store};

/// Rounds per test: a race lost once in a while still shows.
const ROUNDS: usize = 12;

fn grant(id: &str) -> GrantRecord {
    GrantRecord {
        id: id.to_owned(),
        identity_id: "idn_1".to_owned(),
        role: "prod-reader".to_owned(),
        requested_by: "billing".to_owned(),
        reason: "incident 42".to_owned(),
        requested_at: 1_000,
        duration_secs: 600,
        pending_expires_at: 1_100,
        approvals_required: 2,
        state: "pending".to_owned(),
        starts_at: None,
        expires_at: None,
        decided_by: None,
        decided_at: None,
        decision_reason: None,
        approvals: Vec::new(),
    }
}

/// Runs `calls` at once (released together by a barrier, on a
/// multi-threaded runtime) and returns their results in order.
pub(super) async fn all_at_once<T, F, Fut>(store: &Store, calls: usize, call: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Store, usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(calls));
    let tasks: Vec<_> = (0..calls)
        .map(|i| {
            let barrier = barrier.clone();
            let fut = call(store.clone(), i);
            tokio::spawn(async move {
                barrier.wait().await;
                fut.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(calls);
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_approvals_of_a_two_approver_grant_approve_it_once() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    for round in 0..ROUNDS {
        let id = format!("grt_{round}");
        store.insert_grant(&grant(&id)).await.unwrap();
        let before = store.revision().await.unwrap();
        let approvers = ["alice", "bob"];
        let results = all_at_once(&store, 2, |store, i| {
            let id = id.clone();
            async move { store.approve_grant(&id, approvers[i], 1_010).await }
        })
        .await;
        let states: Vec<String> = results
            .into_iter()
            .map(|r| {
                r.unwrap()
                    .expect("both approvals see a pending grant")
                    .state
            })
            .collect();
        // One approval came first and left it pending; the other saw both
        // approvals and approved it.
        assert_eq!(
            states.iter().filter(|s| *s == "approved").count(),
            1,
            "round {round}: {states:?}"
        );
        assert_eq!(states.iter().filter(|s| *s == "pending").count(), 1);
        let after = store.grant_by_id(&id).await.unwrap().unwrap();
        assert_eq!(after.state, "approved", "round {round}");
        assert_eq!(after.starts_at, Some(1_010));
        assert_eq!(after.expires_at, Some(1_610));
        let mut who: Vec<&str> = after
            .approvals
            .iter()
            .map(|a| a.approver.as_str())
            .collect();
        who.sort_unstable();
        assert_eq!(who, approvers, "round {round}");
        assert!(approvers.contains(&after.decided_by.as_deref().unwrap_or("")));
        assert_eq!(store.revision().await.unwrap(), before + 2);
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_notes_of_one_subject_token_admit_exactly_one() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    for round in 0..ROUNDS {
        let jti = format!("j{round}");
        // A fresh id, then the same id again once its record has expired:
        // each time exactly one of the concurrent exchanges is admitted.
        for (until, now) in [(2_000, 1_000), (4_000, 2_000)] {
            let admitted = all_at_once(&store, 6, |store, _| {
                let jti = jti.clone();
                async move {
                    store
                        .note_subject_token("https://idp", &jti, until, now)
                        .await
                }
            })
            .await;
            let admitted = admitted.into_iter().map(Result::unwrap);
            assert_eq!(admitted.filter(|a| *a).count(), 1, "round {round} at {now}");
        }
        assert!(
            !store
                .note_subject_token("https://idp", &jti, 4_000, 3_999)
                .await
                .unwrap()
        );
    }
    store.close().await;
}
