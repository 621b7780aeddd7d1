//! Roles and just-in-time grants through the admin API of a running
//! gateway: the authenticated admin requests, approves or revokes, with the
//! owner-scoped admin checks applied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::admin::*;
use common::*;
use serde_json::{Value, json};

/// A new identity with an API key and the admin role (global or for `owner`).
fn admin_identity(gw: &TestGateway, name: &str, owner: Option<&str>) -> String {
    // One owner each: identities sharing an owner may not approve each
    // other's requests (separation of duties).
    admin(gw, name, &format!("sec-{name}"), owner)
}

#[tokio::test]
async fn admin_api_grant_lifecycle() {
    let mock = MockUpstream::start().await.unwrap();
    let gw = TestGateway::start(&format!(
        "{}{GRANTS_AND_READER}{JIT_ROLES}",
        upstreams_on(&mock, "m", "")
    ))
    .await;
    let requester = admin_identity(&gw, "ops-admin", None);
    let approver = admin_identity(&gw, "sec-officer", None);
    let outsider = admin_identity(&gw, "other-admin", Some("team-z"));
    for name in ["ops-admin", "sec-officer"] {
        assign_approver(&gw.config, name);
    }

    let r = api(&gw, &requester, "GET", "/admin/v1/roles", Value::Null).await;
    assert_eq!(r.status, 200);
    let names: Vec<String> = r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["approver", "break-glass", "prod-writer", "reader"]);

    // Standing assignment: jit_only refused, reader assigned then removed.
    let r = api(
        &gw,
        &requester,
        "POST",
        "/admin/v1/identities/app/roles",
        json!({"role": "prod-writer"}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("jit_only"));
    let r = api(
        &gw,
        &requester,
        "POST",
        "/admin/v1/identities/app/roles",
        json!({"role": "reader", "for": "1d"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(active_roles(&gw, &requester, "app").await, ["reader"]);
    let r = api(
        &gw,
        &requester,
        "DELETE",
        "/admin/v1/identities/app/roles/reader",
        Value::Null,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = api(
        &gw,
        &requester,
        "DELETE",
        "/admin/v1/identities/app/roles/reader",
        Value::Null,
    )
    .await;
    assert_eq!(r.status, 409, "{}", r.text());

    // Request: pending, no access.
    let r = api(
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
    assert!(active_roles(&gw, &requester, "app").await.is_empty());

    // The requester cannot approve; an admin of another owner cannot see it.
    let path = format!("/admin/v1/grants/{id}/approve");
    let r = api(&gw, &requester, "POST", &path, Value::Null).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("separation of duties"));
    let r = api(&gw, &outsider, "POST", &path, Value::Null).await;
    assert_eq!(r.status, 404, "{}", r.text());
    let r = api(&gw, &outsider, "GET", "/admin/v1/grants", Value::Null).await;
    assert_eq!(r.json()["data"].as_array().unwrap().len(), 0);

    let r = api(&gw, &approver, "POST", &path, Value::Null).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "approved");
    assert_eq!(r.json()["active"], true);
    assert_eq!(active_roles(&gw, &requester, "app").await, ["prod-writer"]);
    let r = api(
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
    let r = api(
        &gw,
        &approver,
        "GET",
        "/admin/v1/grants?state=bogus",
        Value::Null,
    )
    .await;
    assert_eq!(r.status, 400);

    // Revoke: the next look sees no access.
    let r = api(
        &gw,
        &requester,
        "POST",
        &format!("/admin/v1/grants/{id}/revoke"),
        json!({"reason": "done"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["state"], "revoked");
    assert!(active_roles(&gw, &requester, "app").await.is_empty());
    let r = api(&gw, &approver, "POST", &path, Value::Null).await;
    assert_eq!(r.status, 409, "{}", r.text());

    // Offboarding through the admin API revokes the live grants.
    let r = api(
        &gw,
        &requester,
        "POST",
        "/admin/v1/grants",
        json!({"identity": "app", "role": "reader", "for": "1h", "reason": "x"}),
    )
    .await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let r = api(
        &gw,
        &approver,
        "POST",
        &format!("/admin/v1/grants/{id}/approve"),
        Value::Null,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = api(
        &gw,
        &requester,
        "POST",
        "/admin/v1/identities/app/offboard",
        Value::Null,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["grants_revoked"], 1);
    assert!(active_roles(&gw, &requester, "app").await.is_empty());

    let r = call("GET", &gw.url("/admin/v1/grants"), &[], "").await;
    assert_eq!(r.status, 401);
    assert!(!gw.logs().contains(UPSTREAM_CANARY));
}
