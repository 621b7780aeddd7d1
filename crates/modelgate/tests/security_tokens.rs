//! Issue 14, defects 2 and 9, through the live gateway and the CLI:
//! re-exchanged access tokens are bounded by their subject token and carry
//! its family (revoking one member revokes the family), and federated
//! subject tokens cannot be replayed. Revocation binding is in
//! `security_revoke.rs`, staleness in `security_sync.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::tokens::*;
use common::*;
use serde_json::json;

#[tokio::test]
async fn reexchanged_token_does_not_outlive_its_subject_token() {
    let w = world("").await;
    let key = w.gw.new_identity("renewer", "service", "prod");
    let a = token_for_key(&w.gw, &key).await;
    let a_exp = exp_of(&a);
    // Time passes: a fresh full lifetime would now end after A's.
    tokio::time::sleep(Duration::from_millis(2_100)).await;
    let r = reexchange(&w.gw, &a).await;
    let b = issued(&r);
    let b_exp = exp_of(&b);
    assert!(
        b_exp <= a_exp,
        "the re-exchanged token outlives its subject token: exp {b_exp} > {a_exp}"
    );
    let expires_in = r.json()["expires_in"].as_i64().unwrap();
    assert!(expires_in <= a_exp - now() + 1, "expires_in {expires_in}");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    let c = reexchanged(&w.gw, &b).await;
    let c_exp = exp_of(&c);
    assert!(c_exp <= b_exp, "exp {c_exp} > {b_exp}");
    assert_eq!(chat_with(&w.gw, &c).await.status, 200);

    // The per-kind cap still bounds: a ci_job token from a federated
    // token is cut to max_lifetime_by_kind, and so is its successor.
    let capped = world("max_lifetime_by_kind = { ci_job = \"90s\" }").await;
    let gh = capped.github_token(&capped.github_claims(now()));
    let first = exchanged(&capped.gw, &gh).await;
    let claims = claims_of(&first);
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!(lifetime <= 90, "{lifetime}");
    let next = reexchanged(&capped.gw, &first).await;
    assert!(
        exp_of(&next) <= exp_of(&first),
        "the successor of a capped token outlives it"
    );
}

#[tokio::test]
async fn reexchanged_token_carries_the_family_and_revoking_one_revokes_the_family() {
    let w = world("").await;
    let admin = bootstrap_admin(&w.gw);
    let key = w.gw.new_identity("stolen", "service", "prod");
    // A is stolen; the thief renews it to B, then B to C.
    let a = token_for_key(&w.gw, &key).await;
    let b = reexchanged(&w.gw, &a).await;
    let c = reexchanged(&w.gw, &b).await;
    // An unrelated token of the same identity: another family.
    let other = token_for_key(&w.gw, &key).await;
    let family = [("A", &a), ("B", &b), ("C", &c)];
    for (name, t) in family.into_iter().chain([("other", &other)]) {
        assert_eq!(chat_with(&w.gw, t).await.status, 200, "{name} works");
    }

    let a_jti = jti_of(&a);
    let r = revoke_token(&w.gw, &admin, &a_jti, "stolen").await;
    assert_eq!(r.status, 200, "{}", r.text());
    for (name, t) in family {
        let r = chat_with(&w.gw, t).await;
        assert_eq!(
            r.status,
            401,
            "{name} is refused after A's family was revoked: {}",
            r.text()
        );
    }
    assert_eq!(
        chat_with(&w.gw, &other).await.status,
        200,
        "another family of the same identity is untouched"
    );
    let body = r.json();
    assert_eq!(body["family"], a_jti.as_str(), "{body}");
    assert_eq!(body["revoked"], 3, "{body}");

    // The family is the first token's jti, carried by every successor.
    for (name, t) in family {
        assert_eq!(claims_of(t)["fam"], a_jti.as_str(), "{name}'s family");
    }
    assert_eq!(
        claims_of(&other)["fam"],
        jti_of(&other).as_str(),
        "an unrelated token starts its own family"
    );
    // A revoked member cannot be renewed either.
    let r = reexchange(&w.gw, &c).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_grant");

    // Revoking a middle member (through the CLI, another process) revokes
    // its whole family on the gateway too, after the sync.
    let d = token_for_key(&w.gw, &key).await;
    let e = reexchanged(&w.gw, &d).await;
    let out = ok(cli_revoke_token(&w.gw, &jti_of(&e), "stolen"));
    assert!(out.contains("2 tokens"), "{out}");
    after_sync().await;
    assert_eq!(chat_with(&w.gw, &d).await.status, 401, "D is refused");
    assert_eq!(chat_with(&w.gw, &e).await.status, 401, "E is refused");
}

#[tokio::test]
async fn federated_subject_token_jti_replay_is_refused() {
    let mut w = world("").await;
    let t = now();
    let claims = w.github_claims(t);
    let gh = w.github_token(&claims);
    let r = exchange(&w.gw, &gh).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = exchange(&w.gw, &gh).await;
    assert_eq!(r.status, 400, "a replayed jti is refused: {}", r.text());
    assert_eq!(r.json()["error"], "invalid_grant");
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("already"),
        "{}",
        r.text()
    );

    // Another token of the same issuer with the same jti is a replay too.
    let mut same_jti = claims.clone();
    same_jti["run_id"] = json!("1002");
    let r = exchange(&w.gw, &w.github_token(&same_jti)).await;
    assert_eq!(r.status, 400, "same issuer, same jti: {}", r.text());

    // Per issuer: the same jti from another issuer is its own.
    let mut k8s_claims = w.k8s_claims(t);
    k8s_claims["jti"] = claims["jti"].clone();
    let r = exchange(&w.gw, &w.k8s_token(&k8s_claims)).await;
    assert_eq!(r.status, 200, "{}", r.text());

    // A fresh jti is accepted.
    let mut fresh = claims.clone();
    fresh["jti"] = json!(format!("gh-fresh-{t}"));
    let r = exchange(&w.gw, &w.github_token(&fresh)).await;
    assert_eq!(r.status, 200, "a fresh jti: {}", r.text());

    // The seen jtis live in the store: a restarted replica refuses too.
    w.gw.terminate();
    w.gw.restart();
    let r = exchange(&w.gw, &gh).await;
    assert_eq!(r.status, 400, "replay after restart: {}", r.text());
}
