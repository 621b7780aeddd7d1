//! The shared limiter over a SQLite store standing in for the shared
//! database (the store's API is the same on both backends), on a clock the
//! tests pass in.

use std::sync::Arc;

use modelgate_store::{RateKind, Store};

use super::*;

/// A window start, in milliseconds, and the window in seconds.
const T0: i64 = 1_800_000_000_000;
const W0: i64 = T0 / 1000;

fn requests(n: u32) -> Limits {
    Limits {
        requests: Some(n),
        tokens: None,
    }
}

fn tokens(n: u64) -> Limits {
    Limits {
        requests: None,
        tokens: Some(n),
    }
}

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(&dir.path().join("m.db")).await.unwrap();
    (dir, store)
}

async fn used(store: &Store, kind: RateKind, window: i64) -> u64 {
    store.rate_window_used("idn_1", kind, window).await.unwrap()
}

fn refused_on(result: Result<(), Refused>) -> &'static str {
    match result {
        Err(Refused::Exceeded(e)) => {
            assert!((1..=120).contains(&e.retry_after), "{e:?}");
            e.limit
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn requests_spend_an_allotment_without_the_store_until_it_is_empty() {
    let (_dir, store) = store().await;
    let limiter = SharedRateLimiter::new(store.clone());
    // 100 a minute: allotments of 100 / 20 = 5.
    limiter.admit("idn_1", requests(100), T0).await.unwrap();
    assert_eq!(used(&store, RateKind::Requests, W0).await, 5);
    for i in 1..5 {
        limiter.admit("idn_1", requests(100), T0 + i).await.unwrap();
    }
    assert_eq!(used(&store, RateKind::Requests, W0).await, 5);
    limiter
        .admit("idn_1", requests(100), T0 + 10)
        .await
        .unwrap();
    assert_eq!(used(&store, RateKind::Requests, W0).await, 10);
}

#[tokio::test]
async fn replicas_together_admit_no_more_than_the_ceiling() {
    let (dir, store) = store().await;
    let other = Store::open_sqlite(&dir.path().join("m.db")).await.unwrap();
    let replicas = [
        SharedRateLimiter::new(store.clone()),
        SharedRateLimiter::new(other),
    ];
    let mut admitted = 0;
    for i in 0..300 {
        let replica = &replicas[i % 2];
        if replica
            .admit("idn_1", requests(100), T0 + i as i64)
            .await
            .is_ok()
        {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 100);
    assert_eq!(used(&store, RateKind::Requests, W0).await, 100);
    // Both refuse now, the second from its kept refusal.
    for replica in &replicas {
        let refused = replica.admit("idn_1", requests(100), T0 + 400).await;
        assert_eq!(refused_on(refused), "requests");
    }
}

#[tokio::test]
async fn allotments_shrink_as_the_limit_nears() {
    let (_dir, store) = store().await;
    let limiter = SharedRateLimiter::new(store.clone());
    // Other replicas took 90 of 100: room 10, an eighth of it is 1.
    store
        .charge_rate_window("idn_1", RateKind::Requests, 90, T0)
        .await
        .unwrap();
    limiter.admit("idn_1", requests(100), T0).await.unwrap();
    assert_eq!(used(&store, RateKind::Requests, W0).await, 91);
}

#[tokio::test]
async fn a_new_window_drops_the_old_allotment() {
    let (_dir, store) = store().await;
    let limiter = SharedRateLimiter::new(store.clone());
    limiter.admit("idn_1", requests(100), T0).await.unwrap();
    limiter
        .admit("idn_1", requests(100), T0 + 60_000)
        .await
        .unwrap();
    assert_eq!(used(&store, RateKind::Requests, W0).await, 5);
    assert_eq!(used(&store, RateKind::Requests, W0 + 60).await, 5);
    // Tokens a call used after the window moved are not taken from the
    // old allotment.
    limiter.admit("idn_1", tokens(1000), T0).await.unwrap();
    assert_eq!(limiter.spend_tokens("idn_1", 10, T0 + 60_000), 10);
}

#[tokio::test]
async fn tokens_come_from_the_allotment_and_the_excess_is_charged() {
    let (_dir, store) = store().await;
    let limiter = SharedRateLimiter::new(store.clone());
    // 1000 a minute: allotments of 50.
    limiter.admit("idn_1", tokens(1000), T0).await.unwrap();
    assert_eq!(used(&store, RateKind::Tokens, W0).await, 50);
    assert_eq!(limiter.spend_tokens("idn_1", 30, T0 + 1), 0);
    let excess = limiter.spend_tokens("idn_1", 40, T0 + 2);
    assert_eq!(excess, 20);
    limiter
        .charge_excess("idn_1", excess, T0 + 2)
        .await
        .unwrap();
    assert_eq!(used(&store, RateKind::Tokens, W0).await, 70);
    // The allotment is spent: the next call takes another.
    limiter.admit("idn_1", tokens(1000), T0 + 3).await.unwrap();
    assert_eq!(used(&store, RateKind::Tokens, W0).await, 120);
    // A big call overspends; the next call is refused.
    let excess = limiter.spend_tokens("idn_1", 2000, T0 + 4);
    limiter
        .charge_excess("idn_1", excess, T0 + 4)
        .await
        .unwrap();
    let refused = limiter.admit("idn_1", tokens(1000), T0 + 5).await;
    assert_eq!(refused_on(refused), "tokens");
}

#[tokio::test]
async fn a_refusal_is_kept_until_its_retry_after() {
    let (_dir, store) = store().await;
    let limiter = SharedRateLimiter::new(store.clone());
    limiter.admit("idn_1", requests(2), T0).await.unwrap();
    limiter.admit("idn_1", requests(2), T0 + 1).await.unwrap();
    let Err(Refused::Exceeded(refused)) = limiter.admit("idn_1", requests(2), T0 + 2).await else {
        panic!("the third request passed");
    };
    // The store has room again, but the refusal stands without asking it.
    store.prune_rate_windows(W0 + 60).await.unwrap();
    let again = limiter.admit("idn_1", requests(2), T0 + 500).await;
    assert_eq!(refused_on(again), "requests");
    let later = T0 + 2 + refused.retry_after as i64 * 1000;
    limiter.admit("idn_1", requests(2), later).await.unwrap();
    // A different ceiling (a role changed) does not keep the refusal.
    let (_dir2, store2) = self::store().await;
    let limiter = SharedRateLimiter::new(store2);
    limiter.admit("idn_1", requests(1), T0).await.unwrap();
    assert!(limiter.admit("idn_1", requests(1), T0 + 1).await.is_err());
    limiter.admit("idn_1", requests(5), T0 + 2).await.unwrap();
}

#[tokio::test]
async fn an_unreachable_store_refuses_only_when_an_allotment_is_needed() {
    let (_dir, store) = store().await;
    let limiter = SharedRateLimiter::new(store.clone());
    limiter.admit("idn_1", requests(100), T0).await.unwrap();
    store.close().await;
    for i in 1..5 {
        limiter.admit("idn_1", requests(100), T0 + i).await.unwrap();
    }
    let refused = limiter.admit("idn_1", requests(100), T0 + 5).await;
    assert!(
        matches!(refused, Err(Refused::Unavailable(_))),
        "{refused:?}"
    );
    let refused = limiter.admit("idn_2", tokens(100), T0 + 5).await;
    assert!(
        matches!(refused, Err(Refused::Unavailable(_))),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_calls_of_one_identity_take_one_allotment() {
    let (_dir, store) = store().await;
    let limiter = Arc::new(SharedRateLimiter::new(store.clone()));
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (limiter, barrier) = (limiter.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                limiter.admit("idn_1", tokens(1000), T0).await
            })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    // One store call took one allotment of 50; the others waited for it.
    assert_eq!(used(&store, RateKind::Tokens, W0).await, 50);
}
