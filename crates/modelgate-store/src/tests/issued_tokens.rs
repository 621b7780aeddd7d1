use super::{identity, open, temp_db};
use crate::{IssuedTokenRecord, StoreError};

fn token(jti: &str, identity_id: &str, family: &str, expires_at: i64) -> IssuedTokenRecord {
    IssuedTokenRecord {
        jti: jti.to_owned(),
        identity_id: identity_id.to_owned(),
        family: family.to_owned(),
        issued_at: 1_000,
        expires_at,
    }
}

#[tokio::test]
async fn family_revocation_covers_recorded_members_until_the_latest_exp() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_identity(&identity("idn_1", "billing"))
        .await
        .unwrap();
    let first = token("a", "idn_1", "a", 3_000);
    store.record_issued_token(&first).await.unwrap();
    store
        .record_issued_token(&token("b", "idn_1", "a", 2_500))
        .await
        .unwrap();
    store
        .record_issued_token(&token("c", "idn_1", "a", 1_500))
        .await
        .unwrap();
    store
        .record_issued_token(&token("z", "idn_1", "z", 3_000))
        .await
        .unwrap();
    assert!(matches!(
        store.record_issued_token(&first).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .record_issued_token(&token("x", "idn_missing", "x", 3_000))
            .await,
        Err(StoreError::MissingReference(_))
    ));
    let b = store.issued_token("b").await.unwrap().unwrap();
    assert_eq!(b.family, "a");
    assert!(store.issued_token("nope").await.unwrap().is_none());

    let before = store.revision().await.unwrap();
    // Revoking a middle member at t=2_000: c has expired.
    let revoked = store.revoke_token_family(&b, 2_000).await.unwrap();
    assert_eq!(revoked.family, "a");
    assert_eq!(revoked.members, 2);
    assert_eq!(revoked.expires_at, 3_000);
    assert!(revoked.fresh);
    assert_eq!(store.revision().await.unwrap(), before + 1);
    let mut held: Vec<(String, i64)> = store
        .active_revoked_tokens(2_000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.jti, r.expires_at))
        .collect();
    held.sort();
    assert_eq!(held, [("a".to_owned(), 3_000), ("b".to_owned(), 2_500)]);
    // Again: nothing new, no bump.
    assert!(!store.revoke_token_family(&b, 2_001).await.unwrap().fresh);
    assert_eq!(store.revision().await.unwrap(), before + 1);

    // Pruning drops expired records only.
    assert_eq!(store.prune_issued_tokens(2_600).await.unwrap(), 2);
    assert!(store.issued_token("a").await.unwrap().is_some());
    assert!(store.issued_token("b").await.unwrap().is_none());
    store.close().await;
}

#[tokio::test]
async fn a_subject_jti_is_accepted_once_per_issuer_while_it_lives() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    let note = |issuer: &'static str, jti: &'static str, until: i64, now: i64| {
        let store = store.clone();
        async move {
            store
                .note_subject_token(issuer, jti, until, now)
                .await
                .unwrap()
        }
    };
    assert!(note("https://a", "j1", 2_000, 1_000).await);
    assert!(!note("https://a", "j1", 2_000, 1_500).await, "a replay");
    assert!(note("https://b", "j1", 2_000, 1_500).await, "per issuer");
    assert!(note("https://a", "j2", 2_000, 1_500).await);
    // Once the record expired, the jti is the issuer's to reuse.
    assert!(note("https://a", "j1", 4_000, 2_000).await);
    assert!(!note("https://a", "j1", 4_000, 2_001).await);
    assert_eq!(store.prune_issued_tokens(2_000).await.unwrap(), 2);
    store.close().await;
}
