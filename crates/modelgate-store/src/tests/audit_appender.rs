//! The audit writer's dedicated connection against a real database file.

use super::{on_postgres, open, raw, temp_db};
use crate::{AuditAppender, AuditEntryRow, AuditQuery, Backend, Store, StoreError};

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
    // SQLite's own mechanics: a file that disappears under the store.
    let (dir, path) = temp_db();
    let store = crate::Store::open_sqlite(&path).await.unwrap();
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

/// Runs `work` on a thread of its own, as the audit writer does (the
/// appender blocks; it is not called from an async task).
fn on_writer_thread<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| scope.spawn(work).join().unwrap())
}

/// A line about as long as a real request record (~600 bytes).
fn long_line(seq: i64) -> String {
    format!(
        "{{\"seq\":{seq},\"kind\":\"request\",\"pad\":\"{}\"}}",
        "x".repeat(560)
    )
}

#[tokio::test]
async fn a_thousand_rows_in_one_append_come_back_in_order() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let rows: Vec<_> = (1..=1_000)
        .map(|s| record("r1", s, &long_line(s)))
        .collect();
    let mut appender = store.audit_appender().unwrap();
    let (tail, unsigned) = on_writer_thread(|| {
        appender.append(&rows).unwrap();
        (
            appender.tail("r1").unwrap(),
            appender.unsigned_tail("r1").unwrap(),
        )
    });
    assert_eq!(tail, Some(long_line(1_000)));
    let expected: Vec<_> = rows.iter().map(|r| r.line.clone()).collect();
    assert_eq!(unsigned, expected);
    // The pool reads them in id order: the batch's order.
    let stored = store.audit_lines("r1", 0, 2_000).await.unwrap();
    let lines: Vec<_> = stored.into_iter().map(|(_, line)| line).collect();
    assert_eq!(lines, expected);
}

#[tokio::test]
async fn a_failure_on_the_server_in_the_middle_of_a_batch_leaves_nothing() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    // A trigger that refuses row 500 of the batch, after 499 went in.
    let (install, remove) = if on_postgres() {
        (
            "CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN IF NEW.line = 'boom' THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$; \
             CREATE TRIGGER refuse_boom BEFORE INSERT ON audit_entries \
             FOR EACH ROW EXECUTE FUNCTION refuse_boom();",
            "DROP TRIGGER refuse_boom ON audit_entries;",
        )
    } else {
        (
            "CREATE TRIGGER refuse_boom BEFORE INSERT ON audit_entries \
             WHEN NEW.line = 'boom' BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            "DROP TRIGGER refuse_boom;",
        )
    };
    raw(&store, install).await;
    let mut appender = store.audit_appender().unwrap();
    let batch: Vec<_> = (1..=1_000)
        .map(|s| record("r1", s, if s == 500 { "boom" } else { "fine" }))
        .collect();
    let err = on_writer_thread(|| appender.append(&batch).unwrap_err());
    assert!(matches!(err, StoreError::Backend { .. }), "{err:?}");
    assert!(store.audit_lines("r1", 0, 2_000).await.unwrap().is_empty());

    // The connection is still usable, and the same batch goes in whole.
    raw(&store, remove).await;
    let tail = on_writer_thread(|| {
        appender.append(&batch[..499]).unwrap();
        appender.tail("r1").unwrap()
    });
    assert_eq!(tail.as_deref(), Some("fine"));
    assert_eq!(store.audit_lines("r1", 0, 2_000).await.unwrap().len(), 499);
}

#[tokio::test]
async fn the_appender_closes_on_the_writer_thread() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let mut appender = store.audit_appender().unwrap();
    on_writer_thread(move || {
        appender.append(&[record("r1", 1, "one")]).unwrap();
        drop(appender);
    });
    let mut appender = store.audit_appender().unwrap();
    let tail = on_writer_thread(|| appender.tail("r1").unwrap());
    assert_eq!(tail.as_deref(), Some("one"));
}

/// The server process id of the audit connection (PostgreSQL).
async fn audit_backend_pid(store: &Store) -> Option<String> {
    let Backend::Postgres(b) = &store.backend else {
        unreachable!("postgres only")
    };
    let sql = format!(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
         AND application_name = '{}'",
        crate::postgres::AUDIT_APPLICATION_NAME
    );
    b.scalar_text(&sql).await.ok()
}

#[tokio::test]
async fn the_appender_survives_a_terminated_backend_by_failing_one_call() {
    if !on_postgres() {
        return; // a server connection: PostgreSQL only
    }
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let mut appender: AuditAppender = store.audit_appender().unwrap();
    on_writer_thread(|| appender.append(&[record("r1", 1, "one")]).unwrap());
    let pid = audit_backend_pid(&store).await.unwrap();
    let Backend::Postgres(b) = &store.backend else {
        unreachable!("postgres only")
    };
    let terminated = b
        .scalar_text(&format!("SELECT pg_terminate_backend({pid})"))
        .await
        .unwrap();
    assert_eq!(terminated, "true");
    while audit_backend_pid(&store).await.is_some() {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }

    let (first, second) = on_writer_thread(|| {
        let first = appender.append(&[record("r1", 2, "two")]);
        let second = appender.append(&[record("r1", 2, "two")]);
        (first, second)
    });
    let err = first.unwrap_err();
    assert!(err.to_string().contains("connection was lost"), "{err}");
    second.unwrap();
    let reopened = audit_backend_pid(&store).await.unwrap();
    assert_ne!(reopened, pid);
    let tail = on_writer_thread(|| appender.tail("r1").unwrap());
    assert_eq!(tail.as_deref(), Some("two"));
}

#[tokio::test]
async fn a_line_comes_back_byte_for_byte_whatever_it_holds() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let mut appender = store.audit_appender().unwrap();
    // Escapes JSON writes, and the characters PostgreSQL's COPY text format
    // escapes itself: a line is hashed as written, so one changed byte
    // would break the chain.
    let line = "{\"p\":\"a\\\"b\\\\c\\n\",\"raw\":\"tab\there\\r\nnl\\N é\"}";
    appender.append(&[record("r1", 1, line)]).unwrap();
    assert_eq!(appender.tail("r1").unwrap().as_deref(), Some(line));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_waits_for_a_batch_in_flight_so_the_cursor_never_passes_it() {
    // PostgreSQL runs batches of several replicas at once; SQLite's one
    // writer commits ids in order by itself.
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let Backend::Postgres(pg) = &store.backend else {
        return;
    };
    // A batch in flight: its id drawn (the lowest), not yet committed.
    let mut in_flight = pg.pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock_shared($1)")
        .bind(crate::postgres::AUDIT_ORDER_LOCK)
        .execute(&mut *in_flight)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO audit_entries (replica, seq, checkpoint, time, line, kind) \
         VALUES ('r1', 1, false, 1, 'early', 'request')",
    )
    .execute(&mut *in_flight)
    .await
    .unwrap();
    // Another replica's batch, drawn later, commits first.
    let mut appender = store.audit_appender().unwrap();
    tokio::task::block_in_place(|| appender.append(&[record("r2", 1, "later")])).unwrap();

    let reader = store.clone();
    let search = tokio::spawn(async move {
        reader
            .search_audit(&AuditQuery {
                limit: 10,
                ..AuditQuery::default()
            })
            .await
            .unwrap()
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !search.is_finished(),
        "the search did not wait for the batch in flight"
    );
    in_flight.commit().await.unwrap();
    let page = search.await.unwrap();
    let lines: Vec<_> = page.iter().map(|h| h.line.as_str()).collect();
    assert_eq!(lines, ["early", "later"]);
    store.close().await;
}
