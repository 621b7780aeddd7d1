//! The audit log's queries through the pool (search and its filters,
//! paging, replicas, lines, expired bodies and pruning, audit keys), on
//! either backend: the same answers in the same order.

use super::grant_races::all_at_once;
use super::{open, temp_db};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn search_filters_paging_and_order_agree_on_both_backends() {
    use crate::{AuditEntryRow, AuditKeyRecord, AuditQuery};
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let row = |replica: &str, seq: i64, identity: &str, model: &str, decision: &str, kind: &str| {
        AuditEntryRow {
            replica: replica.to_owned(),
            seq,
            time: 1_000 + seq,
            line: format!("{replica}-{seq}"),
            kind: Some(kind.to_owned()),
            identity: Some(identity.to_owned()),
            model: Some(model.to_owned()),
            decision: Some(decision.to_owned()),
            bodies_expire: (seq % 2 == 0).then_some(5_000 + seq),
            ..AuditEntryRow::default()
        }
    };
    let mut appender = store.audit_appender().unwrap();
    appender
        .append(&[
            row("b", 1, "svc-a", "gpt", "allow", "request"),
            row("b", 2, "svc-A", "gpt", "deny", "request"),
            row("a", 1, "svc-a", "claude", "allow", "control"),
            AuditEntryRow {
                replica: "a".into(),
                seq: 1,
                checkpoint: true,
                line: "cp".into(),
                ..AuditEntryRow::default()
            },
            row("B", 3, "svc-a", "gpt", "allow", "request"),
        ])
        .unwrap();
    let q = |f: fn(&mut AuditQuery)| {
        let mut q = AuditQuery {
            limit: 100,
            ..AuditQuery::default()
        };
        f(&mut q);
        q
    };
    let lines = |hits: Vec<crate::AuditHit>| hits.into_iter().map(|h| h.line).collect::<Vec<_>>();
    assert_eq!(
        lines(store.search_audit(&q(|_| {})).await.unwrap()),
        ["b-1", "b-2", "a-1", "B-3"]
    );
    assert_eq!(
        lines(
            store
                .search_audit(&q(|q| q.identity = Some("svc-a".into())))
                .await
                .unwrap()
        ),
        ["b-1", "a-1", "B-3"]
    );
    assert_eq!(
        lines(
            store
                .search_audit(&q(|q| q.model = Some("gpt".into())))
                .await
                .unwrap()
        ),
        ["b-1", "b-2", "B-3"]
    );
    assert_eq!(
        lines(
            store
                .search_audit(&q(|q| q.decision = Some("deny".into())))
                .await
                .unwrap()
        ),
        ["b-2"]
    );
    assert_eq!(
        lines(
            store
                .search_audit(&q(|q| q.kind = Some("control".into())))
                .await
                .unwrap()
        ),
        ["a-1"]
    );
    assert_eq!(
        lines(
            store
                .search_audit(&q(|q| {
                    q.since = Some(1_002);
                    q.until = Some(1_003);
                }))
                .await
                .unwrap()
        ),
        ["b-2"]
    );
    assert_eq!(
        lines(
            store
                .search_audit(&q(|q| {
                    q.identity = Some("svc-a".into());
                    q.model = Some("gpt".into());
                    q.decision = Some("allow".into());
                    q.kind = Some("request".into());
                    q.since = Some(1_000);
                    q.until = Some(2_000);
                }))
                .await
                .unwrap()
        ),
        ["b-1", "B-3"]
    );
    let first = store.search_audit(&q(|q| q.limit = 1)).await.unwrap();
    assert_eq!(lines(first.clone()), ["b-1"]);
    let mut next = q(|q| q.limit = 0);
    next.after = Some(first[0].id);
    assert_eq!(lines(store.search_audit(&next).await.unwrap()), ["b-2"]);
    assert_eq!(store.audit_replicas().await.unwrap(), ["B", "a", "b"]);
    let all_a = store.audit_lines("a", 0, -1).await.unwrap();
    assert_eq!(
        all_a.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(),
        ["a-1", "cp"]
    );
    assert_eq!(store.audit_lines("b", 0, 1).await.unwrap().len(), 1);
    let expired = store.audit_expired_bodies(5_002, 10).await.unwrap();
    assert_eq!(
        expired.iter().map(|x| x.1.as_str()).collect::<Vec<_>>(),
        ["b-2"]
    );
    store
        .replace_pruned_audit_line(expired[0].0, "b-2 pruned")
        .await
        .unwrap();
    assert!(
        store
            .audit_expired_bodies(9_999, -1)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        lines(
            store
                .search_audit(&q(|q| q.decision = Some("deny".into())))
                .await
                .unwrap()
        ),
        ["b-2 pruned"]
    );
    let key = |id: &str, active: bool| AuditKeyRecord {
        key_id: id.into(),
        purpose: "hmac".into(),
        public_key: None,
        sealed: vec![1, 2],
        created_at: 7,
        active,
    };
    assert!(store.insert_audit_key(&key("k1", true)).await.unwrap());
    assert!(!store.insert_audit_key(&key("k2", true)).await.unwrap());
    assert!(!store.insert_audit_key(&key("k3", false)).await.unwrap());
    let err = store
        .insert_audit_key(&AuditKeyRecord {
            purpose: "checkpoint".into(),
            ..key("k1", true)
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, crate::StoreError::Conflict(w) if w == "audit_keys.key_id"),
        "{err}"
    );
    let keys = store.audit_keys().await.unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys[0].active);
    assert_eq!(keys[0].sealed, [1, 2]);
    // reviews negative limit & conflict subject
    let r = crate::ReviewRecord {
        id: "r".into(),
        opened_at: 1,
        due_at: 2,
        body: "{}".into(),
        version: 0,
    };
    store.insert_review(&r).await.unwrap();
    let err = store.insert_review(&r).await.unwrap_err();
    assert!(
        matches!(&err, crate::StoreError::Conflict(w) if w == "reviews.id"),
        "{err}"
    );
    assert_eq!(store.list_reviews(0, -1).await.unwrap().len(), 1);
    // concurrent first starts agree on one key
    let results = all_at_once(&store, 6, |store, i| async move {
        store
            .insert_audit_key(&AuditKeyRecord {
                key_id: format!("c{i}"),
                purpose: "checkpoint".into(),
                public_key: None,
                sealed: vec![1],
                created_at: 8,
                active: true,
            })
            .await
    })
    .await;
    assert_eq!(
        results
            .into_iter()
            .map(Result::unwrap)
            .filter(|x| *x)
            .count(),
        1
    );
}
