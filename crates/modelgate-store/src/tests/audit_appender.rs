//! The audit writer's dedicated connection against a real database file.

use super::{open, temp_db};
use crate::{AuditEntryRow, AuditQuery, StoreError};

fn record(replica: &str, seq: i64, line: &str) -> AuditEntryRow {
    AuditEntryRow {
        replica: replica.to_owned(),
        seq,
        time: 1_000 + seq,
        line: line.to_owned(),
        kind: Some("request".to_owned()),
        identity: Some("svc-a".to_owned()),
        decision: Some("allow".to_owned()),
        ..AuditEntryRow::default()
    }
}

fn checkpoint(replica: &str, seq: i64) -> AuditEntryRow {
    AuditEntryRow {
        replica: replica.to_owned(),
        seq,
        checkpoint: true,
        line: format!("checkpoint {seq}"),
        ..AuditEntryRow::default()
    }
}

#[tokio::test]
async fn appended_rows_are_visible_to_the_pool_and_survive_reopening() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let mut appender = store.audit_appender().unwrap();
    appender
        .append(&[
            record("r1", 1, "one"),
            record("r1", 2, "two"),
            checkpoint("r1", 2),
        ])
        .unwrap();
    appender.append(&[record("r2", 1, "other chain")]).unwrap();
    assert_eq!(appender.tail("r1").unwrap().as_deref(), Some("two"));
    assert_eq!(appender.tail("nobody").unwrap(), None);

    // The pool sees what the appender committed, search columns included.
    let hits = store
        .search_audit(&AuditQuery {
            identity: Some("svc-a".into()),
            limit: 10,
            ..AuditQuery::default()
        })
        .await
        .unwrap();
    let lines: Vec<_> = hits.iter().map(|h| h.line.as_str()).collect();
    assert_eq!(lines, ["one", "two", "other chain"]);
    drop(appender);
    store.close().await;

    let store = open(&path).await;
    let mut appender = store.audit_appender().unwrap();
    assert_eq!(appender.tail("r1").unwrap().as_deref(), Some("two"));
    assert_eq!(appender.tail("r2").unwrap().as_deref(), Some("other chain"));
}

#[tokio::test]
async fn a_taken_seq_fails_the_whole_batch_without_the_line_in_the_error() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let mut appender = store.audit_appender().unwrap();
    appender.append(&[record("r1", 1, "first")]).unwrap();
    let err = appender
        .append(&[record("r1", 2, "fine"), record("r1", 1, "canary-line-77")])
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert!(!err.to_string().contains("canary-line-77"), "{err}");
    // Nothing of the failed batch was kept, and the connection still works.
    assert_eq!(appender.tail("r1").unwrap().as_deref(), Some("first"));
    appender.append(&[record("r1", 2, "second")]).unwrap();
    assert_eq!(appender.tail("r1").unwrap().as_deref(), Some("second"));
}

#[tokio::test]
async fn discard_after_removes_later_records_and_their_checkpoints_only() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let mut appender = store.audit_appender().unwrap();
    let rows: Vec<_> = (1..=5).map(|s| record("r1", s, &format!("l{s}"))).collect();
    appender.append(&rows).unwrap();
    appender
        .append(&[checkpoint("r1", 5), record("r2", 9, "kept")])
        .unwrap();
    assert_eq!(appender.discard_after("r1", 3).unwrap(), 3);
    assert_eq!(appender.tail("r1").unwrap().as_deref(), Some("l3"));
    assert_eq!(appender.tail("r2").unwrap().as_deref(), Some("kept"));
    assert_eq!(appender.discard_after("r1", 3).unwrap(), 0);
}

#[tokio::test]
async fn the_appender_and_the_pool_write_the_same_file_concurrently() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let mut appender = store.audit_appender().unwrap();
    let writer = std::thread::spawn(move || {
        for seq in 1..=200 {
            appender.append(&[record("r1", seq, "x")]).unwrap();
        }
        appender
    });
    for i in 0..50 {
        store
            .insert_identity(&super::identity(&format!("id-{i}"), &format!("svc-{i}")))
            .await
            .unwrap();
    }
    let mut appender = writer.join().unwrap();
    assert_eq!(appender.tail("r1").unwrap().as_deref(), Some("x"));
    let all = store.audit_lines("r1", 0, 1_000).await.unwrap();
    assert_eq!(all.len(), 200);
}

#[tokio::test]
async fn opening_fails_cleanly_when_the_file_is_gone() {
    let (dir, path) = temp_db();
    let store = open(&path).await;
    store.close().await;
    drop(dir);
    let err = store.audit_appender().unwrap_err();
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
}

#[tokio::test]
async fn the_unsigned_tail_starts_at_the_record_the_last_checkpoint_covers() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let mut appender = store.audit_appender().unwrap();
    assert!(appender.unsigned_tail("r1").unwrap().is_empty());
    appender
        .append(&[record("r1", 1, "one"), record("r1", 2, "two")])
        .unwrap();
    // No checkpoint: every line.
    assert_eq!(appender.unsigned_tail("r1").unwrap(), ["one", "two"]);
    appender
        .append(&[
            checkpoint("r1", 2),
            record("r2", 1, "other chain"),
            record("r1", 3, "three"),
            checkpoint("r1", 3),
            checkpoint("r1", 3),
            record("r1", 4, "four"),
        ])
        .unwrap();
    assert_eq!(
        appender.unsigned_tail("r1").unwrap(),
        ["three", "checkpoint 3", "checkpoint 3", "four"]
    );
    // The covered record gone: from the checkpoint on.
    appender.discard_after("r2", 0).unwrap();
    assert_eq!(appender.unsigned_tail("r2").unwrap(), Vec::<String>::new());
    appender.append(&[checkpoint("r2", 0)]).unwrap();
    assert_eq!(appender.unsigned_tail("r2").unwrap(), ["checkpoint 0"]);
}
