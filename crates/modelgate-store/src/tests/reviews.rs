//! Access reviews: insert, read, list, compare-and-swap updates.

use super::{open, temp_db};
use crate::{ReviewRecord, StoreError};

fn record(id: &str, opened_at: i64) -> ReviewRecord {
    ReviewRecord {
        id: id.to_owned(),
        opened_at,
        due_at: opened_at + 100,
        body: format!("{{\"id\":\"{id}\"}}"),
        version: 0,
    }
}

#[tokio::test]
async fn insert_read_list_and_duplicate() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    assert!(store.review("review-1").await.unwrap().is_none());
    store.insert_review(&record("review-1", 1)).await.unwrap();
    store.insert_review(&record("review-5", 5)).await.unwrap();
    let got = store.review("review-1").await.unwrap().unwrap();
    assert_eq!(got.version, 1);
    assert_eq!(got.due_at, 101);
    assert_eq!(got.body, "{\"id\":\"review-1\"}");
    assert!(matches!(
        store.insert_review(&record("review-1", 9)).await,
        Err(StoreError::Conflict(_))
    ));
    let all = store.list_reviews(0, 10).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["review-5", "review-1"]);
    assert_eq!(store.list_reviews(2, 10).await.unwrap().len(), 1);
    assert_eq!(store.list_reviews(0, 1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn update_is_compare_and_swap() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store.insert_review(&record("review-1", 1)).await.unwrap();
    let mut first = store.review("review-1").await.unwrap().unwrap();
    let mut second = first.clone();
    first.body = "{\"answer\":1}".to_owned();
    assert!(store.update_review(&first).await.unwrap());
    second.body = "{\"answer\":2}".to_owned();
    assert!(!store.update_review(&second).await.unwrap(), "stale write");
    let now = store.review("review-1").await.unwrap().unwrap();
    assert_eq!(now.body, "{\"answer\":1}");
    assert_eq!(now.version, 2);
    let mut ghost = record("review-9", 9);
    ghost.version = 1;
    assert!(!store.update_review(&ghost).await.unwrap());
}
