//! Waiting for the state revision: on PostgreSQL a bump through one store
//! wakes a watch opened on another, also after the watch's connection was
//! killed; on SQLite the watch never fires (polling only).

use std::time::Duration;

use super::{identity, on_postgres, open, raw, scalar, temp_db};
use crate::Store;

/// Generous: the machine may be busy.
const WAKE: Duration = Duration::from_secs(30);

/// Bumps the revision through `store` by flipping an identity's status.
async fn bump(store: &Store, to: &str, at: i64) {
    assert!(store.set_identity_status("idn_w", to, at).await.unwrap());
}

/// The pid of the watch's listening connection, if one is up.
async fn listener_pid(store: &Store) -> String {
    scalar(
        store,
        &format!(
            "SELECT COALESCE(MAX(pid), 0) FROM pg_stat_activity
             WHERE application_name = '{}' AND datname = current_database()",
            crate::postgres::STATE_WATCH_APPLICATION_NAME
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bump_through_one_store_wakes_a_watch_on_another() {
    let (_dir, path) = temp_db();
    let writer = open(&path).await;
    writer
        .insert_identity(&identity("idn_w", "watched"))
        .await
        .unwrap();
    let reader = open(&path).await;
    let mut watch = reader.watch_state().await;
    bump(&writer, "disabled", 10).await;
    let woke = tokio::time::timeout(
        if on_postgres() {
            WAKE
        } else {
            Duration::from_millis(500)
        },
        watch.changed(),
    )
    .await;
    assert_eq!(
        woke.is_ok(),
        on_postgres(),
        "a watch wakes on PostgreSQL and never on SQLite"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_survives_its_connection_being_terminated() {
    if !on_postgres() {
        return;
    }
    let (_dir, path) = temp_db();
    let writer = open(&path).await;
    writer
        .insert_identity(&identity("idn_w", "watched"))
        .await
        .unwrap();
    let reader = open(&path).await;
    let mut watch = reader.watch_state().await;
    let first = listener_pid(&writer).await;
    assert_ne!(first, "0", "the watch listens on a connection of its own");

    raw(
        &writer,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = '{}' AND datname = current_database()",
            crate::postgres::STATE_WATCH_APPLICATION_NAME
        ),
    )
    .await;
    // Announced while nobody listens: lost, so the watch reports a change
    // once it is back.
    bump(&writer, "disabled", 10).await;
    tokio::time::timeout(WAKE, watch.changed())
        .await
        .expect("a change is reported after the reconnection");

    // Back on a new connection, and it hears later bumps.
    let deadline = tokio::time::Instant::now() + WAKE;
    loop {
        let pid = listener_pid(&writer).await;
        if pid != "0" && pid != first {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no new listener");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while tokio::time::timeout(Duration::from_millis(300), watch.changed())
        .await
        .is_ok()
    {}
    bump(&writer, "active", 20).await;
    tokio::time::timeout(WAKE, watch.changed())
        .await
        .expect("a bump after the reconnection wakes the watch");
}
