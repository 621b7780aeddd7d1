use super::{api_key, identity, open, temp_db};
use crate::StoreError;

#[tokio::test]
async fn duplicate_identity_name_conflicts() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    let err = store
        .insert_identity(&identity("idn_2", "billing"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict(ref what) if what == "identity name"),
        "{err}"
    );
    assert_eq!(store.list_identities().await.unwrap().len(), 1);
}

#[tokio::test]
async fn identity_lookups() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let rec = identity("idn_1", "billing");
    store.insert_identity(&rec).await.unwrap();
    store
        .insert_identity(&identity("idn_0", "alpha"))
        .await
        .unwrap();
    assert_eq!(
        store.identity_by_name("billing").await.unwrap(),
        Some(rec.clone())
    );
    assert_eq!(store.identity_by_id("idn_1").await.unwrap(), Some(rec));
    assert_eq!(store.identity_by_name("nope").await.unwrap(), None);
    let names: Vec<_> = store
        .list_identities()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(names, ["alpha", "billing"]);
}

#[tokio::test]
async fn key_lookup_by_hash_joins_the_identity() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    let key = api_key("key_1", "idn_1", 7);
    store.insert_api_key(&key).await.unwrap();
    let (found, who) = store.api_key_by_hash(&[7; 32]).await.unwrap().unwrap();
    assert_eq!(found, key);
    assert_eq!(who.name, "billing");
    assert!(store.api_key_by_hash(&[8; 32]).await.unwrap().is_none());
    assert_eq!(store.api_key_by_id("key_1").await.unwrap(), Some(key));
    assert!(store.api_key_by_id("key_x").await.unwrap().is_none());
}

#[tokio::test]
async fn key_constraints() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    store
        .insert_api_key(&api_key("key_1", "idn_1", 7))
        .await
        .unwrap();
    let err = store
        .insert_api_key(&api_key("key_2", "idn_1", 7))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let err = store
        .insert_api_key(&api_key("key_3", "idn_missing", 9))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingReference(_)), "{err}");
}

#[tokio::test]
async fn errors_and_debug_never_show_the_hash() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    let key = api_key("key_1", "idn_1", 0xab);
    store.insert_api_key(&key).await.unwrap();
    let err = store
        .insert_api_key(&api_key("key_2", "idn_1", 0xab))
        .await
        .unwrap_err();
    for text in [format!("{err}"), format!("{err:?}"), format!("{key:?}")] {
        assert!(!text.to_lowercase().contains("abab"), "{text}");
        assert!(!text.contains("171, 171"), "{text}");
    }
}

#[tokio::test]
async fn revoke_once() {
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
    assert!(store.revoke_api_key("key_1", 1_500).await.unwrap());
    assert!(!store.revoke_api_key("key_1", 1_600).await.unwrap());
    assert!(!store.revoke_api_key("key_unknown", 1_600).await.unwrap());
    let key = store.api_key_by_id("key_1").await.unwrap().unwrap();
    assert_eq!(key.revoked_at, Some(1_500));
}

#[tokio::test]
async fn record_key_use_batch_keeps_the_latest() {
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
    store
        .insert_api_key(&api_key("key_2", "idn_1", 2))
        .await
        .unwrap();
    store.record_key_use(&[]).await.unwrap();
    let uses = vec![
        (Some("key_1".to_owned()), "idn_1".to_owned(), 1_200),
        (Some("key_2".to_owned()), "idn_1".to_owned(), 1_100),
        (Some("key_gone".to_owned()), "idn_gone".to_owned(), 1_300),
    ];
    store.record_key_use(&uses).await.unwrap();
    // An older use does not move the time back.
    store
        .record_key_use(&[(Some("key_1".to_owned()), "idn_1".to_owned(), 1_050)])
        .await
        .unwrap();
    let k1 = store.api_key_by_id("key_1").await.unwrap().unwrap();
    let k2 = store.api_key_by_id("key_2").await.unwrap().unwrap();
    let who = store.identity_by_id("idn_1").await.unwrap().unwrap();
    assert_eq!(k1.last_used_at, Some(1_200));
    assert_eq!(k2.last_used_at, Some(1_100));
    assert_eq!(who.last_used_at, Some(1_200));
}

#[tokio::test]
async fn list_keys_filters_by_identity() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    store
        .insert_identity(&identity("idn_2", "search"))
        .await
        .unwrap();
    store
        .insert_api_key(&api_key("key_1", "idn_1", 1))
        .await
        .unwrap();
    store
        .insert_api_key(&api_key("key_2", "idn_2", 2))
        .await
        .unwrap();
    store
        .insert_api_key(&api_key("key_3", "idn_1", 3))
        .await
        .unwrap();
    let ids = |v: Vec<crate::ApiKeyRecord>| v.into_iter().map(|k| k.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_api_keys(None).await.unwrap()),
        ["key_1", "key_2", "key_3"]
    );
    assert_eq!(
        ids(store.list_api_keys(Some("idn_1")).await.unwrap()),
        ["key_1", "key_3"]
    );
    assert!(
        store
            .list_api_keys(Some("idn_none"))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn data_survives_reopen() {
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
    store.close().await;
    assert!(store.ping().await.is_err());
    let store = open(&path).await;
    assert!(store.identity_by_name("billing").await.unwrap().is_some());
    assert!(store.api_key_by_hash(&[1; 32]).await.unwrap().is_some());
    // No Debug form of the store or its backend holds the password.
    if let Ok(password) = std::env::var("MODELGATE_TEST_PG_PASSWORD") {
        let shown = match &store.backend {
            crate::Backend::Sqlite(b) => format!("{store:?} {b:?}"),
            crate::Backend::Postgres(b) => format!("{store:?} {b:?}"),
        };
        assert!(!shown.contains(&password), "{shown}");
    }
    let name = if super::on_postgres() {
        "postgres"
    } else {
        "sqlite"
    };
    assert_eq!(store.backend_name(), name);
    assert!(format!("{store:?}").contains(name));
}

#[tokio::test]
async fn connections_use_the_configured_pragmas() {
    let (_dir, path) = temp_db();
    let store = crate::Store::open_sqlite(&path).await.unwrap();
    let crate::Backend::Sqlite(b) = &store.backend else {
        unreachable!("opened as sqlite")
    };
    for (pragma, want) in [
        ("SELECT journal_mode FROM pragma_journal_mode", "wal"),
        ("SELECT foreign_keys FROM pragma_foreign_keys", "1"),
        ("SELECT timeout FROM pragma_busy_timeout", "5000"),
        ("SELECT synchronous FROM pragma_synchronous", "2"),
    ] {
        assert_eq!(b.pragma(pragma).await.unwrap(), want, "{pragma}");
    }
}
