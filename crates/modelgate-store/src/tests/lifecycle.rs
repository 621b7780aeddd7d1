use super::{api_key, identity, on_postgres, open, raw, scalar, temp_db};
use crate::{Backend, Store, StoreError};

/// Makes every later revision bump fail, to prove that the writes before it
/// in the same transaction are rolled back.
async fn break_revision(store: &Store) {
    let sql = if on_postgres() {
        "CREATE FUNCTION fail_revision() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'injected failure'; END $$; \
         CREATE TRIGGER fail_revision BEFORE UPDATE ON state_revision \
         FOR EACH ROW EXECUTE FUNCTION fail_revision();"
    } else {
        "CREATE TRIGGER fail_revision BEFORE UPDATE ON state_revision \
         BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
    };
    raw(store, sql).await;
}

/// Undoes [`break_revision`].
async fn mend_revision(store: &Store) {
    let sql = if on_postgres() {
        "DROP TRIGGER fail_revision ON state_revision; DROP FUNCTION fail_revision();"
    } else {
        "DROP TRIGGER fail_revision"
    };
    raw(store, sql).await;
}

#[tokio::test]
async fn revision_starts_at_zero_and_survives_reopen() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    assert_eq!(store.revision().await.unwrap(), 0);
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    assert!(
        store
            .revoke_token("jti_1", "idn_1", 2_000, 1_000)
            .await
            .unwrap()
    );
    assert_eq!(store.revision().await.unwrap(), 1);
    store.close().await;
    let store = open(&path).await;
    assert_eq!(store.revision().await.unwrap(), 1);
    assert_eq!(
        scalar(&store, "SELECT count(*) FROM state_revision").await,
        "1"
    );
}

#[tokio::test]
async fn revoked_tokens_listing_and_pruning() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    assert!(
        store
            .revoke_token("a", "idn_1", 1_100, 1_000)
            .await
            .unwrap()
    );
    assert!(
        store
            .revoke_token("b", "idn_1", 1_500, 1_001)
            .await
            .unwrap()
    );
    // A second revocation keeps the first record and does not bump.
    assert!(
        !store
            .revoke_token("a", "idn_1", 9_999, 1_050)
            .await
            .unwrap()
    );
    assert_eq!(store.revision().await.unwrap(), 2);
    let live = store.active_revoked_tokens(1_000).await.unwrap();
    assert_eq!(live.len(), 2);
    assert_eq!(live[0].jti, "a");
    assert_eq!(live[0].expires_at, 1_100);
    assert_eq!(live[0].revoked_at, 1_000);
    assert_eq!(live[0].identity_id, "idn_1");
    // exp is exclusive: at 1_100 token `a` is expired.
    let live = store.active_revoked_tokens(1_100).await.unwrap();
    assert_eq!(
        live.iter().map(|r| r.jti.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    assert_eq!(store.prune_revoked_tokens(1_100).await.unwrap(), 1);
    assert_eq!(store.prune_revoked_tokens(1_100).await.unwrap(), 0);
    assert_eq!(store.active_revoked_tokens(0).await.unwrap().len(), 1);
    // Unknown identity: refused, no bump.
    let err = store
        .revoke_token("c", "idn_missing", 2_000, 1_000)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::MissingReference(_)), "{err}");
    assert_eq!(store.revision().await.unwrap(), 2);
}

#[tokio::test]
async fn revoke_token_is_one_transaction() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    break_revision(&store).await;
    assert!(
        store
            .revoke_token("a", "idn_1", 2_000, 1_000)
            .await
            .is_err()
    );
    assert!(store.active_revoked_tokens(0).await.unwrap().is_empty());
}

#[tokio::test]
async fn identity_status_changes_bump_the_revision() {
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
    assert!(store.inactive_identity_ids().await.unwrap().is_empty());
    assert!(
        store
            .set_identity_status("idn_1", "disabled", 1_100)
            .await
            .unwrap()
    );
    assert_eq!(store.revision().await.unwrap(), 1);
    assert_eq!(store.inactive_identity_ids().await.unwrap(), ["idn_1"]);
    assert_eq!(
        scalar(
            &store,
            "SELECT status_changed_at FROM identities WHERE id = 'idn_1'"
        )
        .await,
        "1100"
    );
    // Same status again, or an unknown id: no change, no bump.
    assert!(
        !store
            .set_identity_status("idn_1", "disabled", 1_200)
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_identity_status("idn_x", "disabled", 1_200)
            .await
            .unwrap()
    );
    assert_eq!(store.revision().await.unwrap(), 1);
    assert!(
        store
            .set_identity_status("idn_1", "active", 1_300)
            .await
            .unwrap()
    );
    assert!(store.inactive_identity_ids().await.unwrap().is_empty());
    assert_eq!(store.revision().await.unwrap(), 2);
    // A failed bump rolls the status change back.
    break_revision(&store).await;
    assert!(
        store
            .set_identity_status("idn_2", "disabled", 1_400)
            .await
            .is_err()
    );
    let who = store.identity_by_id("idn_2").await.unwrap().unwrap();
    assert_eq!(who.status, "active");
}

#[tokio::test]
async fn offboarding_is_final() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    let summary = store
        .offboard_identity("idn_1", 1_100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.previous_status, "active");
    assert!(
        !store
            .set_identity_status("idn_1", "active", 1_200)
            .await
            .unwrap()
    );
    // Even a hand-written update is refused by the schema.
    let sql = "UPDATE identities SET status = 'active' WHERE id = 'idn_1'";
    let err = match &store.backend {
        Backend::Sqlite(b) => b.execute_raw(sql).await.unwrap_err(),
        Backend::Postgres(b) => b.execute_raw(sql).await.unwrap_err(),
    };
    assert!(err.to_string().contains("cannot change status"), "{err}");
    let who = store.identity_by_id("idn_1").await.unwrap().unwrap();
    assert_eq!(who.status, "offboarded");
    // Offboarding again is allowed and keeps the first time.
    let again = store
        .offboard_identity("idn_1", 1_300)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.previous_status, "offboarded");
    assert_eq!(again.keys_revoked, 0);
    assert_eq!(
        scalar(
            &store,
            "SELECT status_changed_at FROM identities WHERE id = 'idn_1'"
        )
        .await,
        "1100"
    );
    assert_eq!(store.offboard_identity("idn_x", 1_300).await.unwrap(), None);
}

#[tokio::test]
async fn offboarding_revokes_every_key_in_one_transaction() {
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
    for (id, who, byte) in [
        ("key_1", "idn_1", 1),
        ("key_2", "idn_1", 2),
        ("key_3", "idn_1", 3),
        ("key_4", "idn_2", 4),
    ] {
        store.insert_api_key(&api_key(id, who, byte)).await.unwrap();
    }
    assert!(store.revoke_api_key("key_3", 1_050).await.unwrap());

    // First attempt fails at the revision bump: nothing at all changes.
    break_revision(&store).await;
    assert!(store.offboard_identity("idn_1", 1_100).await.is_err());
    let who = store.identity_by_id("idn_1").await.unwrap().unwrap();
    assert_eq!(who.status, "active");
    for k in store.list_api_keys(Some("idn_1")).await.unwrap() {
        let expected = (k.id == "key_3").then_some(1_050);
        assert_eq!(k.revoked_at, expected, "{}", k.id);
    }
    mend_revision(&store).await;

    let before = store.revision().await.unwrap();
    let summary = store
        .offboard_identity("idn_1", 1_100)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.keys_revoked, 2);
    assert_eq!(summary.previous_status, "active");
    assert_eq!(store.revision().await.unwrap(), before + 1);
    let who = store.identity_by_id("idn_1").await.unwrap().unwrap();
    assert_eq!(who.status, "offboarded");
    for k in store.list_api_keys(Some("idn_1")).await.unwrap() {
        let expected = if k.id == "key_3" { 1_050 } else { 1_100 };
        assert_eq!(k.revoked_at, Some(expected), "{}", k.id);
    }
    // The other identity's key is untouched.
    let other = store.api_key_by_id("key_4").await.unwrap().unwrap();
    assert_eq!(other.revoked_at, None);
    assert_eq!(store.inactive_identity_ids().await.unwrap(), ["idn_1"]);
}

#[tokio::test]
async fn rotate_api_key_links_and_shortens() {
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
    let mut successor = api_key("key_2", "idn_1", 2);
    successor.expires_at = 3_000;
    let before = store.revision().await.unwrap();
    assert!(
        store
            .rotate_api_key("key_1", &successor, 1_600, 1_500)
            .await
            .unwrap()
    );
    assert_eq!(
        store.revision().await.unwrap(),
        before + 1,
        "caches of the old key must see its shortened expiry"
    );

    let old = store.api_key_by_id("key_1").await.unwrap().unwrap();
    assert_eq!(old.replaced_by.as_deref(), Some("key_2"));
    assert_eq!(old.expires_at, 1_600);
    assert_eq!(old.revoked_at, None);
    assert_eq!(
        store.api_key_by_id("key_2").await.unwrap(),
        Some(successor.clone())
    );

    // Rotating it again is refused and writes nothing.
    let third = api_key("key_3", "idn_1", 3);
    assert!(
        !store
            .rotate_api_key("key_1", &third, 1_600, 1_500)
            .await
            .unwrap()
    );
    assert!(store.api_key_by_id("key_3").await.unwrap().is_none());

    // A grace end after the key's own expiry keeps the expiry.
    assert!(
        store
            .rotate_api_key("key_2", &third, 9_000, 1_500)
            .await
            .unwrap()
    );
    let two = store.api_key_by_id("key_2").await.unwrap().unwrap();
    assert_eq!(two.expires_at, 3_000);
    assert_eq!(two.replaced_by.as_deref(), Some("key_3"));

    // Revocation bumps the revision too (caches must drop the key); a
    // repeat changes nothing.
    let before = store.revision().await.unwrap();
    assert!(store.revoke_api_key("key_3", 1_700).await.unwrap());
    assert_eq!(store.revision().await.unwrap(), before + 1);
    assert!(!store.revoke_api_key("key_3", 1_800).await.unwrap());
    assert_eq!(store.revision().await.unwrap(), before + 1);
}

#[tokio::test]
async fn rotate_api_key_refusals_write_nothing() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    store
        .insert_api_key(&api_key("key_rev", "idn_1", 1))
        .await
        .unwrap();
    store.revoke_api_key("key_rev", 1_100).await.unwrap();
    store
        .insert_api_key(&api_key("key_old", "idn_1", 2))
        .await
        .unwrap(); // expires at 2_000
    let successor = api_key("key_new", "idn_1", 3);
    for (old, at) in [("key_rev", 1_500), ("key_old", 2_000), ("key_none", 1_500)] {
        assert!(
            !store
                .rotate_api_key(old, &successor, 1_600, at)
                .await
                .unwrap(),
            "{old}"
        );
        assert!(store.api_key_by_id("key_new").await.unwrap().is_none());
    }
    // A successor that cannot be inserted (hash taken) leaves the old key
    // as it was.
    let clash = api_key("key_new", "idn_1", 2);
    let err = store
        .rotate_api_key("key_old", &clash, 1_600, 1_500)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err}");
    let old = store.api_key_by_id("key_old").await.unwrap().unwrap();
    assert_eq!(old.replaced_by, None);
    assert_eq!(old.expires_at, 2_000);
}
