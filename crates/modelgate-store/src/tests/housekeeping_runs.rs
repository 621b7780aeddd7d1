//! Housekeeping claims: one winner per task and interval across stores
//! (replicas), and on PostgreSQL none while another holds the task's lock.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Barrier;

use super::{on_postgres, open, temp_db};
use crate::HousekeepingClaim;

const TASK: &str = "test.task";
const INTERVAL: Duration = Duration::from_secs(60);
const RACERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_have_one_winner_per_interval() {
    let (_dir, path) = temp_db();
    // Two stores on one database: two replicas, each with its own pool.
    let stores = [open(&path).await, open(&path).await];
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let store = stores[i % 2].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let replica = format!("r{i}");
                store
                    .claim_housekeeping(TASK, INTERVAL, &replica, 1_000)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut claims: Vec<HousekeepingClaim> = Vec::new();
    for task in tasks {
        claims.extend(task.await.unwrap());
    }
    assert_eq!(claims.len(), 1, "exactly one claimer wins");
    assert_eq!(claims[0].previous_run_at(), None);
    for claim in claims {
        claim.release().await;
    }
    let (at, by) = stores[0]
        .housekeeping_last_run(TASK)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(at, 1_000);
    assert!(by.starts_with('r'));

    let early = stores[1]
        .claim_housekeeping(TASK, INTERVAL, "late", 1_059)
        .await
        .unwrap();
    assert!(early.is_none(), "within the interval nobody runs it again");
    let next = stores[1]
        .claim_housekeeping(TASK, INTERVAL, "late", 1_060)
        .await
        .unwrap()
        .expect("after the interval another replica runs it");
    assert_eq!(next.previous_run_at(), Some(1_000));
    next.release().await;
    assert_eq!(
        stores[0].housekeeping_last_run(TASK).await.unwrap(),
        Some((1_060, "late".to_owned()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_lock_refuses_others_even_when_the_interval_passed() {
    if !on_postgres() {
        return;
    }
    let (_dir, path) = temp_db();
    let (a, b) = (open(&path).await, open(&path).await);
    let held = a
        .claim_housekeeping(TASK, INTERVAL, "a", 1_000)
        .await
        .unwrap()
        .expect("first claim");
    let refused = b
        .claim_housekeeping(TASK, INTERVAL, "b", 9_000)
        .await
        .unwrap();
    assert!(refused.is_none(), "the run in progress holds the task");
    held.release().await;
    let won = b
        .claim_housekeeping(TASK, INTERVAL, "b", 9_000)
        .await
        .unwrap()
        .expect("released, and the interval passed");
    assert_eq!(won.previous_run_at(), Some(1_000));

    // A claim dropped without release (a run that panicked, say) closes
    // its connection, which releases the lock.
    drop(won);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let again = a
            .claim_housekeeping(TASK, INTERVAL, "a", 20_000)
            .await
            .unwrap();
        if let Some(again) = again {
            again.release().await;
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "lock never released"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
