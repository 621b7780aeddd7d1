//! Replica leases: one live holder per replica id, on either backend.

use std::sync::Arc;

use tokio::sync::Barrier;

use super::{open, temp_db};
use crate::{LeaseClaim, LeaseOutcome, Store};

fn claim<'a>(replica_id: &'a str, holder: &'a str, ttl_ms: i64) -> LeaseClaim<'a> {
    LeaseClaim {
        replica_id,
        holder,
        host: "host-a",
        pid: 42,
        ttl_ms,
        replaces: None,
    }
}

fn held_by(outcome: &LeaseOutcome) -> Option<&str> {
    match outcome {
        LeaseOutcome::Held { by, .. } => Some(by.holder.as_str()),
        LeaseOutcome::Acquired { .. } => None,
    }
}

#[tokio::test]
async fn a_live_claim_refuses_a_second_holder_and_names_the_first() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let first = store
        .claim_replica(claim("gw-1", "h1", 60_000))
        .await
        .unwrap();
    assert!(matches!(first, LeaseOutcome::Acquired { .. }), "{first:?}");
    let second = store
        .claim_replica(claim("gw-1", "h2", 60_000))
        .await
        .unwrap();
    let LeaseOutcome::Held { by, now_ms } = &second else {
        panic!("a live claim was taken over: {second:?}");
    };
    assert_eq!(
        (by.holder.as_str(), by.host.as_str(), by.pid),
        ("h1", "host-a", 42)
    );
    assert!(by.expires_at_ms > *now_ms, "{second:?}");
    // Another id is free; the holder may claim its own id again.
    let other = store
        .claim_replica(claim("gw-2", "h2", 60_000))
        .await
        .unwrap();
    assert!(matches!(other, LeaseOutcome::Acquired { .. }));
    let again = store
        .claim_replica(claim("gw-1", "h1", 60_000))
        .await
        .unwrap();
    assert!(matches!(again, LeaseOutcome::Acquired { .. }));
    // A caller that knows the holder is gone replaces it.
    let mut replace = claim("gw-1", "h3", 60_000);
    replace.replaces = Some("h1");
    let replaced = store.claim_replica(replace).await.unwrap();
    assert!(matches!(replaced, LeaseOutcome::Acquired { .. }));
    assert!(!store.renew_replica("gw-1", "h1", 60_000).await.unwrap());
    assert!(store.renew_replica("gw-1", "h3", 60_000).await.unwrap());
    let leases = store.replica_leases().await.unwrap();
    let ids: Vec<_> = leases
        .live()
        .map(|l| (l.replica_id.as_str(), l.holder.as_str()))
        .collect();
    assert_eq!(ids, [("gw-1", "h3"), ("gw-2", "h2")]);
    store.close().await;
}

#[tokio::test]
async fn a_lapsed_or_released_claim_is_free_and_its_old_holder_cannot_renew() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store.claim_replica(claim("gw-1", "h1", 1)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let leases = store.replica_leases().await.unwrap();
    assert_eq!(leases.leases.len(), 1);
    assert_eq!(leases.live().count(), 0, "{leases:?}");
    let taken = store
        .claim_replica(claim("gw-1", "h2", 60_000))
        .await
        .unwrap();
    assert!(matches!(taken, LeaseOutcome::Acquired { .. }), "{taken:?}");
    assert!(!store.renew_replica("gw-1", "h1", 60_000).await.unwrap());
    // A release by a non-holder does nothing; by the holder frees the id.
    store.release_replica("gw-1", "h1").await.unwrap();
    let held = store
        .claim_replica(claim("gw-1", "h3", 60_000))
        .await
        .unwrap();
    assert_eq!(held_by(&held), Some("h2"));
    store.release_replica("gw-1", "h2").await.unwrap();
    let free = store
        .claim_replica(claim("gw-1", "h3", 60_000))
        .await
        .unwrap();
    assert!(matches!(free, LeaseOutcome::Acquired { .. }), "{free:?}");
    // A claim taken over from a lapsed holder and handed back, as it was:
    // that holder renews it again.
    store.claim_replica(claim("gw-5", "h5", 1)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let left = store.replica_leases().await.unwrap().leases;
    let left = left
        .iter()
        .find(|l| l.replica_id == "gw-5")
        .unwrap()
        .clone();
    let sealer = store
        .claim_replica(claim("gw-5", "s1", 60_000))
        .await
        .unwrap();
    assert!(matches!(sealer, LeaseOutcome::Acquired { .. }));
    store.hand_back_replica("s1", &left).await.unwrap();
    // Not by a holder that no longer holds it.
    store.hand_back_replica("s1", &left).await.unwrap();
    assert!(store.renew_replica("gw-5", "h5", 60_000).await.unwrap());
    assert!(!store.renew_replica("gw-5", "s1", 60_000).await.unwrap());
    // A holder renews a claim that lapsed while nobody took it.
    store.claim_replica(claim("gw-9", "h9", 1)).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    assert!(store.renew_replica("gw-9", "h9", 60_000).await.unwrap());
    assert_eq!(store.replica_leases().await.unwrap().live().count(), 3);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_many_processes_claiming_one_id_at_once_exactly_one_gets_it() {
    const RACERS: usize = 8;
    let (_dir, path) = temp_db();
    // One store per racer, as separate processes would have.
    let mut stores: Vec<Store> = Vec::new();
    for _ in 0..RACERS {
        stores.push(open(&path).await);
    }
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = stores
        .iter()
        .enumerate()
        .map(|(i, store)| {
            let (store, barrier) = (store.clone(), barrier.clone());
            tokio::spawn(async move {
                let holder = format!("h{i}");
                barrier.wait().await;
                store
                    .claim_replica(claim("gw-1", &holder, 60_000))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), LeaseOutcome::Acquired { .. }) {
            won += 1;
        }
    }
    assert_eq!(won, 1, "one id, one live holder");
    for store in stores {
        store.close().await;
    }
}
