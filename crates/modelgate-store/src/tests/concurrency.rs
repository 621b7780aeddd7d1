//! Concurrent writers: what SQLite gets from its one writer at a time,
//! PostgreSQL (READ COMMITTED, many writers) must keep through row locks
//! and conditional updates. Each test races real tasks on a multi-threaded
//! runtime against one store (one pool), on whichever backend runs.

use std::sync::Arc;

use tokio::sync::Barrier;

use super::{api_key, identity, open, temp_db};
use crate::{SigningKeyRecord, Store};

const RACERS: usize = 8;

/// Runs `RACERS` copies of `race(store, i)` released together; their
/// results in order of `i`.
async fn race<T, F, Fut>(store: &Store, race: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Store, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let barrier = barrier.clone();
            let run = race(store.clone(), i);
            tokio::spawn(async move {
                barrier.wait().await;
                run.await
            })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_of_one_api_key_have_exactly_one_winner() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    store
        .insert_api_key(&api_key("key_old", "idn_1", 0))
        .await
        .unwrap();
    let before = store.revision().await.unwrap();
    let results = race(&store, |store, i| async move {
        let successor = api_key(&format!("key_new_{i}"), "idn_1", 1 + i as u8);
        store
            .rotate_api_key("key_old", &successor, 1_600, 1_500)
            .await
    })
    .await;
    let winners: Vec<usize> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| match r {
            Ok(true) => Some(i),
            Ok(false) => None,
            Err(e) => panic!("rotation {i} failed instead of losing: {e}"),
        })
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = format!("key_new_{}", winners[0]);
    let old = store.api_key_by_id("key_old").await.unwrap().unwrap();
    assert_eq!(old.replaced_by.as_deref(), Some(winner.as_str()));
    assert_eq!(old.expires_at, 1_600);
    // The losers' successors were rolled back with their transactions.
    let ids: Vec<String> = store
        .list_api_keys(Some("idn_1"))
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.id)
        .collect();
    assert_eq!(ids, vec![winner, "key_old".to_owned()]);
    assert_eq!(store.revision().await.unwrap(), before + 1);
}

fn signing_key(kid: &str) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_owned(),
        algorithm: "EdDSA".to_owned(),
        public_key: vec![1; 32],
        sealed_private_key: vec![0xab; 60],
        created_at: 1_000,
        state: "active".to_owned(),
        verify_until: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_signing_key_rotations_form_one_chain() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store.insert_signing_key(&signing_key("k_0")).await.unwrap();
    let results = race(&store, |store, i| async move {
        store
            .rotate_signing_key(&signing_key(&format!("k_{}", i + 1)), 9_000)
            .await
    })
    .await;
    // Every rotation succeeds and demotes the key the one before it made
    // active: each key but the last is demoted exactly once.
    let mut demoted: Vec<String> = results
        .into_iter()
        .map(|r| r.unwrap().expect("every rotation demotes a key"))
        .collect();
    demoted.sort();
    let keys = store.list_signing_keys().await.unwrap();
    let active: Vec<&str> = keys
        .iter()
        .filter(|k| k.state == "active")
        .map(|k| k.kid.as_str())
        .collect();
    assert_eq!(active.len(), 1, "{keys:?}");
    let mut expected: Vec<String> = (0..=RACERS)
        .map(|i| format!("k_{i}"))
        .filter(|kid| kid != active[0])
        .collect();
    expected.sort();
    assert_eq!(demoted, expected);
    assert!(
        keys.iter()
            .filter(|k| k.kid != active[0])
            .all(|k| k.state == "previous" && k.verify_until == Some(9_000)),
        "{keys:?}"
    );
    assert_eq!(store.revision().await.unwrap(), 1 + RACERS as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_rotated_while_its_identity_is_offboarded_does_not_survive() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    for i in 0..RACERS {
        store
            .insert_identity(&identity(&format!("idn_{i}"), &format!("svc-{i}")))
            .await
            .unwrap();
        store
            .insert_api_key(&api_key(&format!("key_{i}"), &format!("idn_{i}"), i as u8))
            .await
            .unwrap();
    }
    // Each identity is offboarded while its key is rotated: whichever goes
    // first, no unrevoked key may be left (serially, either the rotation
    // fails on the revoked key, or offboarding revokes the successor too).
    let results = race(&store, |store, i| async move {
        let successor = api_key(&format!("key_{i}_next"), &format!("idn_{i}"), 100 + i as u8);
        let (key, who) = (format!("key_{i}"), format!("idn_{i}"));
        let (rotated, offboarded) = tokio::join!(
            store.rotate_api_key(&key, &successor, 1_600, 1_500),
            store.offboard_identity(&who, 1_500),
        );
        (rotated.unwrap(), offboarded.unwrap().is_some())
    })
    .await;
    assert!(results.iter().all(|(_, offboarded)| *offboarded));
    let live: Vec<String> = store
        .list_api_keys(None)
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.revoked_at.is_none())
        .map(|k| k.id)
        .collect();
    assert!(live.is_empty(), "keys left unrevoked: {live:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_use_batches_keep_the_latest_time() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    store
        .insert_api_key(&api_key("key_1", "idn_1", 1))
        .await
        .unwrap();
    // Batches racing in any order, each naming the key twice (out of
    // order) and the identity once without the key.
    race(&store, |store, i| async move {
        let at = 10_000 + i as i64;
        let uses = vec![
            (Some("key_1".to_owned()), "idn_1".to_owned(), at),
            (Some("key_1".to_owned()), "idn_1".to_owned(), at - 5),
            (None, "idn_1".to_owned(), at - 1),
        ];
        store.record_key_use(&uses).await.unwrap();
    })
    .await;
    let latest = 10_000 + RACERS as i64 - 1;
    let key = store.api_key_by_id("key_1").await.unwrap().unwrap();
    assert_eq!(key.last_used_at, Some(latest));
    let who = store.identity_by_id("idn_1").await.unwrap().unwrap();
    assert_eq!(who.last_used_at, Some(latest));
}
