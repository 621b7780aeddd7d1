//! Issue 16, workload identity tells what happened: a refused exchange
//! names the claim that did not match (to the caller as a reason code; to
//! the log and the audit record in full, with the issuer and the subject;
//! never the token), and an identity used only with access tokens has its
//! `last_used_at` moved like one used with keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::tokens::*;
use common::*;
use serde_json::{Value, json};

/// The `token.exchange_failed` records' details.
async fn failed_exchanges(gw: &TestGateway, count: usize) -> Vec<Value> {
    let mut found = Vec::new();
    for _ in 0..100 {
        let out = gw.cli(&["audit", "search", "--kind", "control", "--format", "json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        found = stdout(&out)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"]["control"].clone())
            .filter(|c| c["action"] == "token.exchange_failed")
            .map(|c| c["detail"].clone())
            .collect();
        if found.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    found
}

#[tokio::test]
async fn a_refused_exchange_names_the_claim_and_records_issuer_and_subject() {
    let w = world("").await;
    let t = now();
    let mut claims = w.github_claims(t);
    claims["jti"] = json!("mismatch-1");
    claims["job_workflow_ref"] = json!("acme/billing/.github/workflows/deploy.yml@refs/heads/yolo");
    let token = w.github_token(&claims);
    let r = exchange(&w.gw, &token).await;
    assert_eq!(r.status, 400, "{}", r.text());
    let body = r.json();
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["reason"], "no_matching_rule");
    assert_eq!(body["claim"], "job_workflow_ref");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("job_workflow_ref"),
        "{body}"
    );
    assert!(
        !r.text().contains("yolo"),
        "the value is not the caller's to see"
    );

    let mut expired = w.github_claims(t);
    expired["jti"] = json!("expired-1");
    expired["exp"] = json!(t - 600);
    expired["iat"] = json!(t - 900);
    expired["nbf"] = json!(t - 900);
    let expired_token = w.github_token(&expired);
    let r = exchange(&w.gw, &expired_token).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json()["reason"], "expired");
    assert_eq!(r.json()["claim"], "exp");

    // The same refusal again from the same source: a verified token's
    // refusal is never folded into a summary, so it has its own record.
    claims["jti"] = json!("mismatch-2");
    let again = w.github_token(&claims);
    assert_eq!(exchange(&w.gw, &again).await.status, 400);

    // The audit record, in full: issuer, subject, claim and how it missed.
    let records = failed_exchanges(&w.gw, 3).await;
    assert_eq!(
        records
            .iter()
            .filter(|d| d["reason"] == "no_matching_rule" && d["subject"] == GITHUB_SUB)
            .count(),
        2,
        "{records:?}"
    );
    let mismatch = records
        .iter()
        .find(|d| d["reason"] == "no_matching_rule")
        .unwrap_or_else(|| panic!("{records:?}"));
    assert_eq!(mismatch["issuer"], "github");
    assert_eq!(mismatch["subject"], GITHUB_SUB);
    assert_eq!(mismatch["claim"], "job_workflow_ref");
    let detail = mismatch["detail"].as_str().unwrap();
    assert!(
        detail.contains("billing-ci-prod") && detail.contains("refs/heads/yolo"),
        "{detail}"
    );
    let expired = records.iter().find(|d| d["reason"] == "expired").unwrap();
    assert_eq!(expired["issuer"], "github");
    assert_eq!(expired["subject"], GITHUB_SUB);

    // The log says it too, and neither holds a token.
    let logs = w.gw.logs();
    assert!(
        logs.lines().any(|l| l.contains("token request refused")
            && l.contains("job_workflow_ref")
            && l.contains("refs/heads/yolo")
            && l.contains(GITHUB_SUB)),
        "{logs}"
    );
    for secret in [&token, &expired_token] {
        let signature = secret.rsplit('.').next().unwrap();
        assert!(!logs.contains(signature), "no token in the log");
        assert!(
            !format!("{records:?}").contains(signature),
            "no token in audit"
        );
    }
}

#[tokio::test]
async fn access_token_use_moves_last_used_at() {
    let mut w = world("").await;
    let access = exchanged(&w.gw, &w.github_token(&w.github_claims(now()))).await;
    let r = chat_with(&w.gw, &access).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The uses are flushed at the latest at shutdown.
    w.gw.terminate();
    let store = store_of(&w.gw).await;
    let identity = store
        .identity_by_name("billing-ci-prod")
        .await
        .unwrap()
        .unwrap();
    let used = identity.last_used_at.expect("last_used_at is set");
    assert!((used - now()).abs() < 60, "{used}");
}
