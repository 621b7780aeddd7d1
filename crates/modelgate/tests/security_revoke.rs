//! Issue 14, defect 11, through the live gateway and the CLI: revoking a
//! token is bound to a recorded token of the named identity, and a jti
//! that is not a gateway token id is refused before anything is looked up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::tokens::*;
use common::*;
use modelgate_store::Store;

/// Asserts that the store holds no token revocation; `after` names what
/// was just refused.
async fn assert_nothing_held(store: &Store, after: &str) {
    let held = store.active_revoked_tokens(now()).await.unwrap();
    assert!(held.is_empty(), "{after}: nothing was written: {held:?}");
}

#[tokio::test]
async fn token_revoke_refuses_unknown_or_foreign_jti() {
    let w = world("").await;
    let admin = bootstrap_admin(&w.gw);
    let mine = w.gw.new_identity("mine", "service", "prod");
    let theirs = w.gw.new_identity("theirs", "service", "prod");
    let my_token = token_for_key(&w.gw, &mine).await;
    let their_token = token_for_key(&w.gw, &theirs).await;
    let store = store_of(&w.gw).await;

    // Another identity's jti, named as "mine": not found, nothing written.
    let r = revoke_token(&w.gw, &admin, &jti_of(&their_token), "mine").await;
    assert_eq!(r.status, 404, "a foreign jti is not found: {}", r.text());
    assert_eq!(r.json()["error"]["code"], "not_found", "{}", r.text());
    // A well-formed jti that was never minted.
    let r = revoke_token(&w.gw, &admin, "AAAAAAAAAAAAAAAAAAAAAA", "mine").await;
    assert_eq!(r.status, 404, "an unknown jti is not found: {}", r.text());
    assert_nothing_held(&store, "the admin API refused").await;
    assert_eq!(chat_with(&w.gw, &their_token).await.status, 200);

    // The CLI: the same rules.
    let out = cli_revoke_token(&w.gw, &jti_of(&their_token), "mine");
    assert!(!out.status.success(), "the CLI revoked a foreign jti");
    assert!(
        stderr(&out).contains("no recorded token"),
        "{}",
        stderr(&out)
    );
    let out = cli_revoke_token(&w.gw, "BBBBBBBBBBBBBBBBBBBBBB", "mine");
    assert!(!out.status.success(), "the CLI revoked an unknown jti");
    assert_nothing_held(&store, "the CLI refused").await;
    after_sync().await;
    assert_eq!(
        chat_with(&w.gw, &their_token).await.status,
        200,
        "their token still works after the sync"
    );

    // The right identity: revoked, held until the token's own exp.
    let r = revoke_token(&w.gw, &admin, &jti_of(&my_token), "mine").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["revoked"], 1, "{}", r.text());
    let held = store.active_revoked_tokens(now()).await.unwrap();
    let exp = exp_of(&my_token);
    assert!(!held.is_empty(), "{held:?}");
    assert!(held.iter().all(|r| r.expires_at == exp), "{held:?}");
    assert_eq!(chat_with(&w.gw, &my_token).await.status, 401);
    store.close().await;
}

#[tokio::test]
async fn token_revoke_rejects_malformed_jti() {
    let w = world("").await;
    let admin = bootstrap_admin(&w.gw);
    let store = store_of(&w.gw).await;
    let huge = "x".repeat(60 * 1024);
    for jti in [
        huge.as_str(),
        "",
        "jti-1",
        "AAAAAAAAAAAAAAAAAAAAA-",
        "AAAAAAAAAAAAAAAAAAAAAAA",
        "AAAAAAAAAAAAAAAAAAAAA\u{e9}",
    ] {
        // An identity that does not exist: the shape is checked first.
        for identity in ["app", "nobody"] {
            let r = revoke_token(&w.gw, &admin, jti, identity).await;
            assert_eq!(r.status, 400, "{}: {}", jti.len(), r.text());
            assert_eq!(r.json()["error"]["code"], "invalid", "{}", r.text());
            assert!(!r.text().contains(&huge), "the input is not echoed");
        }
    }
    for jti in ["jti-1", "AAAAAAAAAAAAAAAAAAAAA-"] {
        let out = cli_revoke_token(&w.gw, jti, "app");
        assert!(!out.status.success(), "the CLI accepted {jti:?}");
        assert!(
            stderr(&out).contains("not a gateway token id"),
            "{}",
            stderr(&out)
        );
    }
    assert_nothing_held(&store, "malformed jtis were refused").await;
    store.close().await;
}
