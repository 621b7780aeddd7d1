//! Workload identity end to end: offboarding an identity (through the admin
//! API and the CLI) and the admin API's role and owner checks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::tokens::*;
use common::*;

/// `GET path` on the admin API with `key`.
async fn get(gw: &TestGateway, key: &str, path: &str) -> Reply {
    admin_call(gw, key, "GET", path, "").await
}

/// `POST path` with `body` on the admin API with `key`.
async fn post(gw: &TestGateway, key: &str, path: &str, body: &str) -> Reply {
    admin_call(gw, key, "POST", path, body).await
}

#[tokio::test]
async fn offboarding_cascades_to_keys_and_tokens() {
    let w = world_with_spiffe("").await;
    let key = key_for(&w.gw, "payments-api");
    let k8s = w.k8s_token(&w.k8s_claims(now()));
    let token = exchanged(&w.gw, &k8s).await;
    assert_eq!(chat_with(&w.gw, &key).await.status, 200, "key works");
    assert_eq!(chat_with(&w.gw, &token).await.status, 200, "token works");

    // Through the admin API: effective on the very next request.
    let admin = bootstrap_admin(&w.gw);
    let payments = "/admin/v1/identities/payments-api";
    let r = post(&w.gw, &admin, &format!("{payments}/offboard"), "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["keys_revoked"], 1);
    assert_eq!(chat_with(&w.gw, &key).await.status, 401, "key refused");
    assert_eq!(chat_with(&w.gw, &token).await.status, 401, "token refused");
    assert_eq!(exchange(&w.gw, &k8s).await.status, 400, "no new tokens");
    let r = post(&w.gw, &admin, &format!("{payments}/enable"), "").await;
    assert_eq!(r.status, 400, "offboarding cannot be undone: {}", r.text());
    assert!(
        !w.gw
            .cli(&[
                "key",
                "create",
                "--identity",
                "payments-api",
                "--expires-in",
                "1d"
            ])
            .status
            .success(),
        "no new keys for an offboarded identity"
    );
    assert!(
        !w.gw
            .cli(&[
                "identity",
                "create",
                "--name",
                "payments-api",
                "--kind",
                "service",
                "--owner",
                "x",
                "--environment",
                "prod"
            ])
            .status
            .success(),
        "the name is retired"
    );

    // Through the CLI on another identity: effective within the sync interval.
    let token = exchanged(&w.gw, &w.github_token(&w.github_claims(now()))).await;
    ok(w.gw.cli(&["identity", "offboard", "billing-ci-prod", "--yes"]));
    after_sync().await;
    assert_eq!(
        chat_with(&w.gw, &token).await.status,
        401,
        "a token of an identity offboarded through the CLI"
    );
}

#[tokio::test]
async fn admin_api_is_role_checked_and_owner_scoped() {
    let w = world_with_spiffe("").await;
    assert_eq!(
        get(&w.gw, &w.gw.key, "/admin/v1/identities").await.status,
        403,
        "not an admin"
    );
    assert_eq!(
        get(&w.gw, "mgk_nope", "/admin/v1/identities").await.status,
        401,
        "an unknown key"
    );
    let admin = bootstrap_admin(&w.gw);
    assert!(
        !w.gw.cli(&["admin", "bootstrap"]).status.success(),
        "bootstrap happens once"
    );
    let r = post(
        &w.gw,
        &admin,
        "/admin/v1/identities",
        r#"{"name":"ledger","kind":"service","owner":"team-c@example.com","environment":"prod"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = post(
        &w.gw,
        &admin,
        "/admin/v1/identities/ledger/keys",
        r#"{"expires_in":"1d"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "a key for ledger: {}", r.text());
    let ledger_key = r.json()["key"].as_str().unwrap().to_owned();
    assert_eq!(chat_with(&w.gw, &ledger_key).await.status, 200);

    // An owner-scoped admin for team-c sees only team-c's identities.
    ok(w.gw.cli(&[
        "admin",
        "grant",
        "--identity",
        "ledger",
        "--owner",
        "team-c@example.com",
    ]));
    let names: Vec<String> = get(&w.gw, &ledger_key, "/admin/v1/identities").await.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["ledger"]);
    let foreign = "/admin/v1/identities/payments-api";
    assert_eq!(
        get(&w.gw, &ledger_key, foreign).await.status,
        404,
        "another owner's identity is not found"
    );
    assert_eq!(
        post(&w.gw, &ledger_key, &format!("{foreign}/offboard"), "")
            .await
            .status,
        404,
        "another owner's identity cannot be offboarded"
    );
    let r = post(
        &w.gw,
        &ledger_key,
        "/admin/v1/identities",
        r#"{"name":"x","kind":"service","owner":"team-b@example.com","environment":"prod"}"#,
    )
    .await;
    assert_eq!(r.status, 403, "an identity for another owner: {}", r.text());
    assert_eq!(
        post(&w.gw, &ledger_key, "/admin/v1/signing-keys/rotate", "")
            .await
            .status,
        403,
        "a global operation"
    );

    // Global admin operations.
    let r = get(&w.gw, &admin, "/admin/v1/issuers").await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 3);
    let r = post(&w.gw, &admin, "/admin/v1/signing-keys/rotate", "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let keys = get(&w.gw, &admin, "/admin/v1/identities/ledger/keys")
        .await
        .json();
    let key_id = keys["data"][0]["id"].as_str().unwrap().to_owned();
    let r = post(
        &w.gw,
        &admin,
        &format!("/admin/v1/keys/{key_id}/revoke"),
        "",
    )
    .await;
    assert_eq!(r.status, 200, "revoking ledger's key: {}", r.text());
    assert_eq!(chat_with(&w.gw, &ledger_key).await.status, 401);
    let r = post(&w.gw, &admin, "/admin/v1/identities", "{not json").await;
    assert_eq!(r.status, 400, "a body that is not JSON: {}", r.text());
    assert!(
        !w.gw.logs().contains(&admin),
        "the admin key is never logged"
    );
    assert!(w.gw.logs().contains("admin action"));
}
