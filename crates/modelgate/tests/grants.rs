//! Roles and just-in-time grants through the real binary: the CLI on a
//! local store, and the admin API of a running gateway. Access is observed
//! through the entitlements (`role show`, `GET /identities/{name}/roles`),
//! which the request path reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Output;
use std::time::Duration;

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

/// A config with the roles above and a temp store; the CLI runs on it.
struct Local {
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

impl Local {
    fn new() -> Local {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("modelgate.toml");
        let text = format!(
            "[store]\npath = \"{}\"\n{ROLES}",
            dir.path().join("modelgate.db").display()
        );
        std::fs::write(&config, text).unwrap();
        let local = Local { _dir: dir, config };
        for (name, owner) in [
            ("billing", "team-billing"),
            ("alice", "team-sec"),
            ("carol", "team-sec"),
            ("billing-lead", "team-billing"),
        ] {
            local.ok(&[
                "identity",
                "create",
                "--name",
                name,
                "--kind",
                "service",
                "--owner",
                owner,
                "--environment",
                "prod",
            ]);
        }
        for approver in ["alice", "carol", "billing-lead"] {
            local.ok(&[
                "role",
                "assign",
                "--identity",
                approver,
                "--role",
                "approver",
                "--by",
                "root",
            ]);
        }
        local
    }

    fn run(&self, args: &[&str]) -> Output {
        cli_at(&self.config, args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail with `needle` in its error.
    fn fails(&self, args: &[&str], needle: &str) {
        let out = self.run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }

    fn request(&self, role: &str, duration: &str, by: &str) -> String {
        let out = self.ok(&[
            "grant",
            "request",
            "--identity",
            "billing",
            "--role",
            role,
            "--for",
            duration,
            "--reason",
            "incident 4711",
            "--by",
            by,
            "--format",
            "json",
        ]);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["state"], "pending");
        v["id"].as_str().unwrap().to_owned()
    }

    /// The roles `billing` holds now, as the request path would see them.
    fn active(&self) -> Vec<String> {
        let out = self.ok(&["role", "show", "--identity", "billing", "--format", "json"]);
        let v: Value = serde_json::from_str(&out).unwrap();
        v["active"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["role"].as_str().unwrap().to_owned())
            .collect()
    }

    fn grants(&self, state: &str) -> Vec<Value> {
        let out = self.ok(&["grant", "list", "--state", state, "--format", "json"]);
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .clone()
    }
}

#[test]
fn cli_grant_lifecycle_with_separation_of_duties() {
    let l = Local::new();
    // Zero standing privilege: a jit_only role cannot be assigned.
    l.fails(
        &[
            "role",
            "assign",
            "--identity",
            "billing",
            "--role",
            "prod-writer",
            "--by",
            "root",
        ],
        "jit_only",
    );
    l.fails(
        &[
            "role",
            "assign",
            "--identity",
            "billing",
            "--role",
            "nope",
            "--by",
            "root",
        ],
        "no role named",
    );
    assert!(l.ok(&["role", "list"]).contains("prod-writer"));

    // Requested by the owner: pending, and no access yet.
    let id = l.request("prod-writer", "1h", "team-billing");
    assert!(l.active().is_empty());
    // Over the role's cap, or by someone else: refused.
    l.fails(
        &[
            "grant",
            "request",
            "--identity",
            "billing",
            "--role",
            "prod-writer",
            "--for",
            "3h",
            "--reason",
            "x",
            "--by",
            "billing",
        ],
        "between 1s and 2h",
    );
    l.fails(
        &[
            "grant",
            "request",
            "--identity",
            "billing",
            "--role",
            "reader",
            "--for",
            "1h",
            "--reason",
            "x",
            "--by",
            "alice",
        ],
        "only the identity itself or its owner",
    );
    // The requesting owner's own approver identity may not approve.
    l.fails(
        &["grant", "approve", &id, "--by", "billing-lead"],
        "separation of duties",
    );
    // The beneficiary has no approver role, and could not approve anyway.
    l.fails(
        &["grant", "approve", &id, "--by", "billing"],
        "approver role",
    );
    l.ok(&[
        "role",
        "assign",
        "--identity",
        "billing",
        "--role",
        "approver",
        "--by",
        "root",
    ]);
    l.fails(
        &["grant", "approve", &id, "--by", "billing"],
        "its own grant",
    );
    l.ok(&[
        "role",
        "unassign",
        "--identity",
        "billing",
        "--role",
        "approver",
        "--by",
        "root",
    ]);
    assert!(l.active().is_empty());

    let out = l.ok(&["grant", "approve", &id, "--by", "alice"]);
    assert!(out.contains("approved grant") && out.contains(&id), "{out}");
    assert_eq!(l.active(), ["prod-writer"]);
    l.fails(&["grant", "approve", &id, "--by", "carol"], "not pending");

    // Revocation takes effect at the next look.
    let out = l.ok(&[
        "grant", "revoke", &id, "--by", "billing", "--reason", "done",
    ]);
    assert!(out.contains("revoked"), "{out}");
    assert!(l.active().is_empty());
    assert_eq!(l.grants("revoked").len(), 1);
    l.fails(&["grant", "revoke", &id, "--by", "billing"], "revoked");

    // Two distinct approvals for break-glass.
    let id = l.request("break-glass", "1h", "billing");
    assert!(
        l.ok(&["grant", "approve", &id, "--by", "alice"])
            .contains("1 of 2")
    );
    assert!(l.active().is_empty());
    l.fails(
        &["grant", "approve", &id, "--by", "alice"],
        "already approved",
    );
    l.ok(&["grant", "approve", &id, "--by", "carol"]);
    assert_eq!(l.active(), ["break-glass"]);

    // Denied requests stay denied.
    let id = l.request("reader", "1h", "billing");
    l.ok(&[
        "grant",
        "deny",
        &id,
        "--by",
        "alice",
        "--reason",
        "use the standing role",
    ]);
    l.fails(&["grant", "approve", &id, "--by", "carol"], "denied");
    l.fails(&["grant", "list", "--state", "bogus"], "grant state");
    l.fails(
        &["grant", "approve", "grt_unknown", "--by", "alice"],
        "no grant",
    );
}

#[test]
fn cli_approved_grant_stops_at_expiry() {
    let l = Local::new();
    let id = l.request("prod-writer", "2s", "billing");
    l.ok(&["grant", "approve", &id, "--by", "alice"]);
    let approved = l.grants("approved");
    assert_eq!(approved.len(), 1);
    let expires_at = approved[0]["expires_at"].as_i64().unwrap();
    assert_eq!(expires_at - approved[0]["starts_at"].as_i64().unwrap(), 2);
    // Wait until the second after expiry has begun.
    loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        if now >= expires_at {
            break;
        }
        if now < expires_at - 1 {
            assert_eq!(l.active(), ["prod-writer"]);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(l.active().is_empty());
    let expired = l.grants("expired");
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0]["id"], id.as_str());
    assert_eq!(expired[0]["active"], false);
}

#[test]
fn cli_offboarding_revokes_grants_and_roles() {
    let l = Local::new();
    l.ok(&[
        "role",
        "assign",
        "--identity",
        "billing",
        "--role",
        "reader",
        "--for",
        "30d",
        "--by",
        "root",
    ]);
    let id = l.request("prod-writer", "1h", "billing");
    l.ok(&["grant", "approve", &id, "--by", "alice"]);
    l.request("break-glass", "1h", "billing");
    assert_eq!(l.active(), ["reader", "prod-writer"]);
    let out = l.ok(&["identity", "offboard", "billing"]);
    assert!(
        out.contains("2 grants revoked") && out.contains("1 roles removed"),
        "{out}"
    );
    assert!(l.active().is_empty());
    assert!(l.grants("approved").is_empty() && l.grants("pending").is_empty());
    assert_eq!(l.grants("revoked").len(), 2);
}

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
