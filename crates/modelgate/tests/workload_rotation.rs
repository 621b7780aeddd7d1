//! Workload identity end to end: revoking an access token, rotating an API
//! key (with its grace window) and using it for `client_credentials`, and
//! rotating the gateway's signing key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use base64::Engine;
use common::tokens::*;
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn revoked_token_is_refused_on_replay() {
    let w = world_with_spiffe("").await;
    let gh = w.github_token(&w.github_claims(now()));
    let access = exchanged(&w.gw, &gh).await;
    assert_eq!(chat_with(&w.gw, &access).await.status, 200);
    ok(cli_revoke_token(&w.gw, &jti_of(&access), "billing-ci-prod"));
    // The CLI wrote the store; the gateway syncs within tokens.sync_interval (1s).
    after_sync().await;
    let r = chat_with(&w.gw, &access).await;
    assert_eq!(r.status, 401, "a revoked token: {}", r.text());
    assert_eq!(r.json()["error"]["message"], "invalid access token");
}

#[tokio::test]
async fn api_key_rotation_grace_and_client_credentials() {
    let w = world_with_spiffe("").await;
    let old = w.gw.key.clone();
    // Long-lived keys need only ever go to the token endpoint.
    let token = token_for_key(&w.gw, &old).await;
    assert_eq!(claims_of(&token)["client_id"], "app");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("app:{old}"));
    let r = call(
        "POST",
        &w.gw.url("/oauth2/token"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("authorization", &format!("Basic {basic}")),
        ],
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(
        r.status,
        200,
        "HTTP Basic client authentication: {}",
        r.text()
    );
    let r = client_credentials(&w.gw, "mgk_wrong").await;
    assert_eq!(r.status, 401, "a wrong secret: {}", r.text());
    assert_eq!(r.json()["error"], "invalid_client");

    let id = key_id_of(&w.gw, "app");
    let out =
        ok(w.gw.cli(&["key", "rotate", &id, "--grace", "2s", "--format", "json"]));
    let new = serde_json::from_str::<Value>(&out).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        chat_with(&w.gw, &old).await.status,
        200,
        "old key works in its grace window"
    );
    assert_eq!(chat_with(&w.gw, &new).await.status, 200, "new key works");
    tokio::time::sleep(Duration::from_millis(3_100)).await;
    assert_eq!(
        chat_with(&w.gw, &old).await.status,
        401,
        "old key stops after the grace window"
    );
    assert_eq!(
        chat_with(&w.gw, &new).await.status,
        200,
        "new key works after the grace window"
    );
    assert!(
        !w.gw.cli(&["key", "rotate", &id]).status.success(),
        "a rotated key cannot be rotated again"
    );
}

#[tokio::test]
async fn signing_key_rotation_keeps_previous_tokens_valid_until_they_expire() {
    let w = world_with_spiffe("max_lifetime = \"5m\"").await;
    let before = exchanged(&w.gw, &w.github_token(&w.github_claims(now()))).await;
    ok(w.gw.cli(&["signing-key", "rotate"]));
    after_sync().await;
    let jwks = get_path(&w.gw, "/.well-known/jwks.json").await.json();
    assert_eq!(
        jwks["keys"].as_array().unwrap().len(),
        2,
        "active and previous are published"
    );
    // A second workload token (its own jti: a replayed one is refused).
    let mut claims = w.github_claims(now());
    claims["jti"] = json!("gh-after-rotation");
    let after = exchanged(&w.gw, &w.github_token(&claims)).await;
    assert_ne!(
        header_of(&before)["kid"],
        header_of(&after)["kid"],
        "new tokens are signed by the new key"
    );
    assert_eq!(
        chat_with(&w.gw, &before).await.status,
        200,
        "previous key still verifies its tokens"
    );
    assert_eq!(
        chat_with(&w.gw, &after).await.status,
        200,
        "the new key verifies its tokens"
    );
    let keys: Value =
        serde_json::from_str(&ok(w.gw.cli(&["signing-key", "list", "--format", "json"]))).unwrap();
    let states: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["state"].as_str().unwrap())
        .collect();
    assert!(
        states.contains(&"active") && states.contains(&"previous"),
        "{states:?}"
    );
}
