//! Shared rate-limit counters: allotments stop at the ceiling, also when
//! several stores ("replicas") on one database take them at once; excess
//! charges count whatever the ceiling; old windows are pruned.

use std::sync::Arc;

use tokio::sync::Barrier;

use super::{open, temp_db};
use crate::{AllotmentAsk, RateKind, Store};

/// A window start (unix seconds, a multiple of 60), in milliseconds.
const T0: i64 = 1_800_000_000_000;
const W0: i64 = T0 / 1000;

fn ask(identity_id: &str, ceiling: u64, most: u64, now_ms: i64) -> AllotmentAsk<'_> {
    AllotmentAsk {
        identity_id,
        kind: RateKind::Tokens,
        ceiling,
        most,
        room_share: 1,
        now_ms,
    }
}

#[tokio::test]
async fn allotments_stop_at_the_ceiling_and_count_in_the_window() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let first = store
        .take_rate_allotment(&ask("idn_1", 100, 60, T0))
        .await
        .unwrap();
    assert_eq!((first.granted, first.window_start), (60, W0));
    let second = store
        .take_rate_allotment(&ask("idn_1", 100, 60, T0 + 1_000))
        .await
        .unwrap();
    assert_eq!((second.granted, second.current_used), (40, 100));
    let refused = store
        .take_rate_allotment(&ask("idn_1", 100, 60, T0 + 2_000))
        .await
        .unwrap();
    assert_eq!((refused.granted, refused.current_used), (0, 100));
    // Another identity, and the other kind, have counters of their own.
    let other = store
        .take_rate_allotment(&ask("idn_2", 100, 60, T0))
        .await
        .unwrap();
    assert_eq!(other.granted, 60);
    let requests = AllotmentAsk {
        kind: RateKind::Requests,
        ..ask("idn_1", 100, 60, T0)
    };
    assert_eq!(
        store.take_rate_allotment(&requests).await.unwrap().granted,
        60
    );
    // 30 s into the next window half of the previous 100 still weighs.
    let next = store
        .take_rate_allotment(&ask("idn_1", 100, 100, T0 + 90_000))
        .await
        .unwrap();
    assert_eq!(
        (next.granted, next.window_start, next.previous_used),
        (50, W0 + 60, 100)
    );
    let used = store
        .rate_window_used("idn_1", RateKind::Tokens, W0 + 60)
        .await
        .unwrap();
    assert_eq!(used, 50);
}

#[tokio::test]
async fn excess_charges_count_beyond_the_ceiling_and_old_windows_are_pruned() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .take_rate_allotment(&ask("idn_1", 100, 100, T0))
        .await
        .unwrap();
    store
        .charge_rate_window("idn_1", RateKind::Tokens, 30, T0 + 5_000)
        .await
        .unwrap();
    store
        .charge_rate_window("idn_1", RateKind::Tokens, 0, T0 + 5_000)
        .await
        .unwrap();
    let used = |w| store.rate_window_used("idn_1", RateKind::Tokens, w);
    assert_eq!(used(W0).await.unwrap(), 130);
    // A charge into a window without a row creates it.
    store
        .charge_rate_window("idn_1", RateKind::Tokens, 7, T0 + 125_000)
        .await
        .unwrap();
    assert_eq!(used(W0 + 120).await.unwrap(), 7);
    assert_eq!(store.prune_rate_windows(W0 + 60).await.unwrap(), 1);
    assert_eq!(used(W0).await.unwrap(), 0);
    assert_eq!(used(W0 + 120).await.unwrap(), 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_taking_at_once_never_get_more_than_the_ceiling() {
    const REPLICAS: usize = 3;
    const TAKERS: usize = 4;
    const CEILING: u64 = 200;
    let (_dir, path) = temp_db();
    // Several stores on one database, as replicas are.
    let mut stores: Vec<Store> = Vec::new();
    for _ in 0..REPLICAS {
        stores.push(open(&path).await);
    }
    let barrier = Arc::new(Barrier::new(REPLICAS * TAKERS));
    let mut tasks = Vec::new();
    for i in 0..REPLICAS * TAKERS {
        let (store, barrier) = (stores[i % REPLICAS].clone(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut taken = 0;
            loop {
                let grant = store
                    .take_rate_allotment(&ask("idn_1", CEILING, 3, T0 + 1_000))
                    .await
                    .unwrap();
                if grant.granted == 0 {
                    return taken;
                }
                taken += grant.granted;
            }
        }));
    }
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    assert_eq!(total, CEILING, "the takers together got {total}");
    let used = stores[0]
        .rate_window_used("idn_1", RateKind::Tokens, W0)
        .await
        .unwrap();
    assert_eq!(used, CEILING);
}
