//! Admin-role items of an access review through the real binary: owner-scoped
//! admins never answer them, even once the role is gone, and a revoke takes
//! away only the role reviewed, not one granted since the review opened.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::posture::{FULL_OWNERSHIP, model_route};
use common::*;
use serde_json::Value;

const TEAM: &str = "team-a@example.com";

fn json_out(gw: &TestGateway, args: &[&str]) -> Value {
    serde_json::from_str(&ok(gw.cli(args))).unwrap()
}

/// The admin scope `name` holds now (`global`, `owner:O`), if any.
fn admin_scope(gw: &TestGateway, name: &str) -> Option<String> {
    let admins = json_out(gw, &["admin", "list", "--format", "json"]);
    admins
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["identity"] == name)
        .map(|a| a["scope"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn admin_items_are_for_global_admins_and_revoke_only_the_role_reviewed() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}",
        upstreams_on(&mock, "u", FULL_OWNERSHIP),
        model_route()
    );
    let gw = TestGateway::start(&config).await;
    let global = bootstrap_admin(&gw);
    for name in ["scoped", "helper"] {
        ok(gw.cli(&[
            "identity",
            "create",
            "--name",
            name,
            "--kind",
            "service",
            "--owner",
            TEAM,
            "--environment",
            "prod",
        ]));
        ok(gw.cli(&["admin", "grant", "--identity", name, "--owner", TEAM]));
    }
    let issued = json_out(
        &gw,
        &[
            "key",
            "create",
            "--identity",
            "scoped",
            "--expires-in",
            "1h",
            "--format",
            "json",
        ],
    );
    let scoped = issued["key"].as_str().unwrap().to_owned();

    ok(gw.cli(&["review", "start", "--due", "1h"]));
    let reviews = json_out(&gw, &["review", "list", "--format", "json"]);
    let review_id = reviews[0]["id"].as_str().unwrap().to_owned();
    let item = reviews[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["identity_name"] == "helper" && i["kind"] == "admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(item.ends_with(":admin:owner:team-a@example.com"), "{item}");
    let path = format!("/admin/v1/reviews/{review_id}/items/{item}");

    // Once helper's role is gone, its item is still not the scoped admin's.
    ok(gw.cli(&["admin", "revoke", "--identity", "helper"]));
    let reply = admin_call(&gw, &scoped, "POST", &path, r#"{"decision":"keep"}"#).await;
    assert_eq!(reply.status, 404, "{}", reply.text());
    let reply = admin_call(&gw, &scoped, "POST", &path, r#"{"decision":"revoke"}"#).await;
    assert_eq!(reply.status, 404, "{}", reply.text());

    // A global role granted since the review opened is not the one reviewed:
    // the revoke is recorded, and the global role stays.
    ok(gw.cli(&["admin", "grant", "--identity", "helper"]));
    let reply = admin_call(&gw, &global, "POST", &path, r#"{"decision":"revoke"}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let applied = reply.json()["applied"].as_str().unwrap().to_owned();
    assert!(applied.starts_with("admin.unchanged"), "{applied}");
    assert!(applied.contains("now admin:global"), "{applied}");
    assert_eq!(reply.json()["item"]["answer"]["decision"], "revoke");
    assert_eq!(admin_scope(&gw, "helper").as_deref(), Some("global"));

    // The role reviewed, still held, is revoked.
    let scoped_item = reviews[0]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["identity_name"] == "scoped" && i["kind"] == "admin")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/admin/v1/reviews/{review_id}/items/{scoped_item}");
    let reply = admin_call(&gw, &global, "POST", &path, r#"{"decision":"revoke"}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["applied"], "admin.revoke");
    assert_eq!(admin_scope(&gw, "scoped"), None);
}
