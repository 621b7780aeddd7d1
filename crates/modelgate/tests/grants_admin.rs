//! Roles and just-in-time grants through the admin API of a running
//! gateway: the authenticated admin requests, approves or revokes, with the
//! owner-scoped admin checks applied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const ROLES: &str = r#"
[grants]
max_duration = "8h"
pending_ttl = "1h"

[[roles]]
name = "reader"
models = ["chat"]
actions = ["chat"]

[[roles]]
name = "prod-writer"
models = ["*"]
actions = ["chat", "messages"]
jit_only = true
max_grant_duration = "2h"

[[roles]]
name = "break-glass"
models = ["*"]
actions = ["chat"]
jit_only = true
approvals_required = 2
"#;

async fn admin_call(gw: &TestGateway, key: &str, method: &str, path: &str, body: Value) -> Reply {
    let auth = format!("Bearer {key}");
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    call(
        method,
        &gw.url(path),
        &[
            ("authorization", &auth),
            ("content-type", "application/json"),
        ],
        body,
    )
    .await
}

fn cli_ok(gw: &TestGateway, args: &[&str]) -> String {
    let out = gw.cli(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new identity with an API key and the admin role (global or for `owner`).
fn admin_identity(gw: &TestGateway, name: &str, owner: Option<&str>) -> String {
    cli_ok(
        gw,
        &[
            "identity",
            "create",
            "--name",
            name,
            "--kind",
            "tool",
            "--owner",
            "sec",
            "--environment",
            "admin",
        ],
    );
    let out = cli_ok(
        gw,
        &[
            "key",
            "create",
            "--identity",
            name,
            "--expires-in",
            "1h",
            "--format",
            "json",
        ],
    );
    let key = serde_json::from_str::<Value>(&out).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut args = vec!["admin", "grant", "--identity", name];
    if let Some(owner) = owner {
        args.extend(["--owner", owner]);
    }
    cli_ok(gw, &args);
    key
}

async fn active_roles(gw: &TestGateway, key: &str) -> Vec<String> {
    let r = admin_call(
        gw,
        key,
        "GET",
        "/admin/v1/identities/app/roles",
        Value::Null,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn admin_api_grant_lifecycle() {
    let mock = MockUpstream::start().await.unwrap();
    let gw = TestGateway::start(&format!("{}{ROLES}", upstreams_on(&mock, "m", ""))).await;
    let requester = admin_identity(&gw, "ops-admin", None);
    let approver = admin_identity(&gw, "sec-officer", None);
    let outsider = admin_identity(&gw, "other-admin", Some("team-z"));
    for name in ["ops-admin", "sec-officer"] {
        cli_ok(
            &gw,
            &[
                "role",
                "assign",
                "--identity",
                name,
                "--role",
                "approver",
                "--by",
                "root",
            ],
        );
    }

    let r = admin_call(&gw, &requester, "GET", "/admin/v1/roles", Value::Null).await;
    assert_eq!(r.status, 200);
    let names: Vec<String> = r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["approver", "break-glass", "prod-writer", "reader"]);

    // Standing assignment: jit_only refused, reader assigned then removed.
    let r = admin_call(
        &gw,
        &requester,
        "POST",
        "/admin/v1/identities/app/roles",
        json!({"role": "prod-writer"}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("jit_only"));
    let r = admin_call(
        &gw,
        &requester,
        "POST",
        "/admin/v1/identities/app/roles",
        json!({"role": "reader", "for": "1d"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(active_roles(&gw, &requester).await, ["reader"]);
    let r = admin_call(
        &gw,
        &requester,
        "DELETE",
        "/admin/v1/identities/app/roles/reader",
        Value::Null,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = admin_call(
        &gw,
        &requester,
        "DELETE",
        "/admin/v1/identities/app/roles/reader",
        Value::Null,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());

    // Request: pending, no access.
    let r = admin_call(
        &gw,
        &requester,
        "POST",
        "/admin/v1/grants",
        json!({"identity": "app", "role": "prod-writer", "for": "1h", "reason": "incident"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let grant = r.json();
    assert_eq!(grant["state"], "pending");
    assert_eq!(grant["requested_by"], "ops-admin");
    let id = grant["id"].as_str().unwrap().to_owned();
    assert!(active_roles(&gw, &requester).await.is_empty());

    // The requester cannot approve; an admin of another owner cannot see it.
    let path = format!("/admin/v1/grants/{id}/approve");
    let r = admin_call(&gw, &requester, "POST", &path, Value::Null).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("separation of duties"));
    let r = admin_call(&gw, &outsider, "POST", &path, Value::Null).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = admin_call(&gw, &outsider, "GET", "/admin/v1/grants", Value::Null).await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 0);

    let r = admin_call(&gw, &approver, "POST", &path, Value::Null).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "approved");
    assert_eq!(r.json()["active"], true);
    assert_eq!(active_roles(&gw, &requester).await, ["prod-writer"]);
    let r = admin_call(
        &gw,
        &approver,
        "GET",
        "/admin/v1/grants?identity=app&state=approved",
        Value::Null,
    )
    .await;
    assert_eq!(
        r.json()["data"].as_array().unwrap().len(),
        1,
        "{}",
        r.text()
    );
    let r = admin_call(
        &gw,
        &approver,
        "GET",
        "/admin/v1/grants?state=bogus",
        Value::Null,
    )
    .await;
    assert_eq!(r.status, 400);

    // Revoke: the next look sees no access.
    let r = admin_call(
        &gw,
        &requester,
        "POST",
        &format!("/admin/v1/grants/{id}/revoke"),
        json!({"reason": "done"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "revoked");
    assert!(active_roles(&gw, &requester).await.is_empty());
    let r = admin_call(&gw, &approver, "POST", &path, Value::Null).await;
    assert_eq!(r.status, 409, "{}", r.text());

    // Offboarding through the admin API revokes the live grants.
    let r = admin_call(
        &gw,
        &requester,
        "POST",
        "/admin/v1/grants",
        json!({"identity": "app", "role": "reader", "for": "1h", "reason": "x"}),
    )
    .await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let r = admin_call(
        &gw,
        &approver,
        "POST",
        &format!("/admin/v1/grants/{id}/approve"),
        Value::Null,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = admin_call(
        &gw,
        &requester,
        "POST",
        "/admin/v1/identities/app/offboard",
        Value::Null,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["grants_revoked"], 1);
    assert!(active_roles(&gw, &requester).await.is_empty());

    let r = call("GET", &gw.url("/admin/v1/grants"), &[], "").await;
    assert_eq!(r.status, 401);
    assert!(!gw.logs().contains(UPSTREAM_CANARY));
}
