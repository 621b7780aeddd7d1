//! Issue 14, defects 1 and 8, through the live gateway's admin API (and the
//! CLI where the rule also applies there):
//!
//! - defect 1: an owner-scoped admin could issue or rotate a key for a
//!   global admin identity of its owner (or disable or offboard it) and so
//!   make itself a global admin. Identities holding any admin role are now
//!   managed by global admins only, and only a global admin grants or
//!   revokes the admin role;
//! - defect 8: separation of duties: the requester, the beneficiary and any
//!   identity sharing their owner may not approve a grant; only global
//!   admins assign the approver role.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::admin::*;
use common::*;
use serde_json::{Value, json};

/// The admins of these tests: name, owner, and scope (`None`: global).
const ADMINS: [(&str, &str, Option<&str>); 8] = [
    // The positive actor.
    ("root-admin", "team-root", None),
    // A global admin owned by team-x.
    ("x-root", "team-x", None),
    // Two admins scoped to team-x.
    ("x-admin", "team-xadm", Some("team-x")),
    ("x-peer-admin", "team-x", Some("team-x")),
    // Global admins and approvers: ops-admin requests grants, ops-admin-2
    // shares its owner, x-lead shares team-x, sec-admin is independent.
    ("ops-admin", "team-ops", None),
    ("ops-admin-2", "team-ops", None),
    ("x-lead", "team-x", None),
    ("sec-admin", "team-sec", None),
];

/// The gateway with the [`ADMINS`], their keys, and the plain identity
/// `x-svc` (owner `team-x`).
struct World {
    _mock: MockHandle,
    gw: TestGateway,
    keys: BTreeMap<&'static str, String>,
}

async fn world() -> World {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!("{}{GRANTS_AND_READER}", upstreams_on(&mock, "m", ""));
    let gw = TestGateway::start(&config).await;
    let mut keys = BTreeMap::new();
    for (name, owner, scope) in ADMINS {
        keys.insert(name, admin(&gw, name, owner, scope));
    }
    identity(&gw, "x-svc", "team-x");
    for name in ["ops-admin", "ops-admin-2", "x-lead", "sec-admin"] {
        assign_approver(&gw.config, name);
    }
    World {
        _mock: mock,
        gw,
        keys,
    }
}

impl World {
    /// The admin API as `name` (one of the [`ADMINS`]) sees it.
    fn by(&self, name: &'static str) -> As<'_> {
        self.with_key(name, &self.keys[name])
    }

    /// The admin API as `name` holding `key`.
    fn with_key<'a>(&'a self, name: &'a str, key: &'a str) -> As<'a> {
        As {
            gw: &self.gw,
            name,
            key,
        }
    }

    /// ops-admin asks for `reader` for x-svc; the answer, and the path that
    /// approves the grant.
    async fn request_reader_for_svc(&self) -> (Reply, String) {
        let body =
            json!({"identity": "x-svc", "role": "reader", "for": "1h", "reason": "incident"});
        let grants = "/admin/v1/grants";
        let r = self.by("ops-admin").expect("POST", grants, body, 201).await;
        let approve = format!("{grants}/{}/approve", field(&r, "id"));
        (r, approve)
    }

    /// As `by`, issues a one-hour key for `name`; returns the key.
    async fn issue(&self, by: &'static str, name: &str) -> String {
        let path = format!("{IDENTITIES}/{name}/keys");
        field(&self.by(by).expect("POST", &path, hour(), 201).await, "key")
    }

    /// The roles `name` holds now, as a global admin sees them.
    async fn roles(&self, name: &str) -> Vec<String> {
        active_roles(&self.gw, &self.keys["root-admin"], name).await
    }
}

/// One identity's calls to the admin API; every assertion message names
/// the caller, the request and its body.
struct As<'a> {
    gw: &'a TestGateway,
    name: &'a str,
    key: &'a str,
}

impl As<'_> {
    fn what(&self, method: &str, path: &str, body: &Value) -> String {
        let body = if body.is_null() {
            String::new()
        } else {
            format!(" {body}")
        };
        format!("{}: {method} {path}{body}", self.name)
    }

    /// Sends `method path` and asserts the answer's status is `want`.
    async fn expect(&self, method: &str, path: &str, body: Value, want: u16) -> Reply {
        let what = self.what(method, path, &body);
        let r = api(self.gw, self.key, method, path, body).await;
        assert_eq!(r.status, want, "{what}: {}", r.text());
        r
    }

    /// Sends `method path` and asserts a 403 `forbidden` that says `needle`.
    async fn refused(&self, method: &str, path: &str, body: Value, needle: &str) {
        let what = self.what(method, path, &body);
        let r = api(self.gw, self.key, method, path, body).await;
        assert_forbidden(&r, &what, needle);
    }
}

/// Asserts a 403 `forbidden` answer that says why.
fn assert_forbidden(r: &Reply, what: &str, needle: &str) {
    assert_eq!(r.status, 403, "{what}: {}", r.text());
    assert_eq!(
        r.json()["error"]["code"],
        "forbidden",
        "{what}: {}",
        r.text()
    );
    assert!(r.text().contains(needle), "{what}: {}", r.text());
    assert!(r.json().get("key").is_none(), "{what}: a key was returned");
}

/// The ids of `name`'s keys, from the store.
fn key_ids(gw: &TestGateway, name: &str) -> Vec<String> {
    let out = cli_ok(gw, &["key", "list", "--identity", name, "--format", "json"]);
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The string `field` of a JSON answer.
fn field(r: &Reply, field: &str) -> String {
    r.json()[field].as_str().unwrap().to_owned()
}

/// The body of a one-hour key request.
fn hour() -> Value {
    json!({"expires_in": "1h"})
}

const ADMINS_ONLY: &str = "managed by global admins only";
const IDENTITIES: &str = "/admin/v1/identities";

#[tokio::test]
async fn scoped_admin_cannot_issue_key_for_global_admin() {
    let w = world().await;
    let x = w.by("x-admin");
    let before = key_ids(&w.gw, "x-root");
    assert_eq!(before.len(), 1);

    // x-root is owned by team-x, within x-admin's scope, but is a global admin.
    let path = "/admin/v1/identities/x-root/keys";
    let r = api(&w.gw, x.key, "POST", path, hour()).await;
    if r.status == 201 {
        let stolen = field(&r, "key");
        let used = api(&w.gw, &stolen, "GET", "/admin/v1/signing-keys", Value::Null).await;
        panic!(
            "escalation: the team-x admin was issued a key for global admin x-root; \
             with it GET /admin/v1/signing-keys answered {}",
            used.status
        );
    }
    assert_forbidden(&r, &x.what("POST", path, &hour()), ADMINS_ONLY);
    for action in ["rotate", "revoke"] {
        let path = format!("/admin/v1/keys/{}/{action}", before[0]);
        x.refused("POST", &path, Value::Null, ADMINS_ONLY).await;
    }
    // Nothing was issued, and x-root's key still works.
    assert_eq!(key_ids(&w.gw, "x-root"), before);
    let signing_keys = "/admin/v1/signing-keys";
    w.by("x-root")
        .expect("GET", signing_keys, Value::Null, 200)
        .await;

    // Another admin of the same scope is an admin identity too.
    let path = "/admin/v1/identities/x-peer-admin/keys";
    x.refused("POST", path, hour(), ADMINS_ONLY).await;
    for (method, path, body, want) in [
        // A global admin of another owner stays invisible (404, as before).
        ("POST", "/admin/v1/identities/root-admin/keys", hour(), 404),
        // It may still read them, and manage plain identities of its owner.
        ("GET", "/admin/v1/identities/x-root/keys", Value::Null, 200),
        ("POST", "/admin/v1/identities/x-svc/keys", hour(), 201),
    ] {
        x.expect(method, path, body, want).await;
    }
}

#[tokio::test]
async fn scoped_admin_cannot_disable_or_offboard_an_admin() {
    let w = world().await;
    let x = w.by("x-admin");
    for target in ["x-root", "x-peer-admin"] {
        let grant = json!({"identity": target, "role": "reader", "for": "1h", "reason": "x"});
        for (path, body) in [
            (format!("{IDENTITIES}/{target}/disable"), Value::Null),
            (format!("{IDENTITIES}/{target}/offboard"), Value::Null),
            // Nor change its roles, nor ask for grants on its behalf.
            (
                format!("{IDENTITIES}/{target}/roles"),
                json!({"role": "reader"}),
            ),
            ("/admin/v1/grants".to_owned(), grant),
        ] {
            x.refused("POST", &path, body, ADMINS_ONLY).await;
        }
    }
    // Both are still active and their keys work.
    for name in ["x-root", "x-peer-admin"] {
        w.by(name).expect("GET", IDENTITIES, Value::Null, 200).await;
    }
    // A disabled admin is still an admin: a scoped admin cannot enable it.
    let peer = "/admin/v1/identities/x-peer-admin";
    let root = w.by("root-admin");
    root.expect("POST", &format!("{peer}/disable"), Value::Null, 200)
        .await;
    x.refused("POST", &format!("{peer}/enable"), Value::Null, ADMINS_ONLY)
        .await;
    w.by("x-peer-admin")
        .expect("GET", IDENTITIES, Value::Null, 401)
        .await;
    // A plain identity of its owner: still its to disable.
    let path = "/admin/v1/identities/x-svc/disable";
    x.expect("POST", path, Value::Null, 200).await;
}

#[tokio::test]
async fn scoped_admin_cannot_grant_admin_role() {
    let w = world().await;
    let x = w.by("x-admin");
    for body in [json!({"owner": "team-x"}), json!({"global": true})] {
        let path = "/admin/v1/identities/x-svc/admin";
        x.refused("POST", path, body, "global admin").await;
    }
    let path = "/admin/v1/identities/x-peer-admin/admin";
    x.refused("DELETE", path, Value::Null, "global admin").await;
    // x-svc did not become an admin; x-peer-admin still is one.
    let svc_key = w.issue("x-admin", "x-svc").await;
    let svc = w.with_key("x-svc", &svc_key);
    svc.expect("GET", IDENTITIES, Value::Null, 403).await;
    w.by("x-peer-admin")
        .expect("GET", IDENTITIES, Value::Null, 200)
        .await;
}

#[tokio::test]
async fn requester_cannot_approve_own_grant_through_admin_api() {
    let w = world().await;
    let (r, path) = w.request_reader_for_svc().await;
    assert_eq!(r.json()["requested_by"], "ops-admin");
    // The requester itself, and another identity of the requester's owner.
    for who in ["ops-admin", "ops-admin-2"] {
        let approver = w.by(who);
        approver
            .refused("POST", &path, Value::Null, "separation of duties")
            .await;
    }
    assert!(w.roles("x-svc").await.is_empty());
    // An independent approver can.
    let r = w
        .by("sec-admin")
        .expect("POST", &path, Value::Null, 200)
        .await;
    assert_eq!(r.json()["state"], "approved");
    assert_eq!(w.roles("x-svc").await, ["reader"]);
}

#[tokio::test]
async fn approver_sharing_owner_cannot_approve() {
    let w = world().await;
    // x-lead shares its owner (team-x) with the beneficiary x-svc.
    let (_, path) = w.request_reader_for_svc().await;
    w.by("x-lead")
        .refused("POST", &path, Value::Null, "separation of duties")
        .await;
    assert!(w.roles("x-svc").await.is_empty());

    // The same rule on the CLI (`--by`): a grant x-svc asked for itself.
    let out = cli_ok(
        &w.gw,
        &[
            "grant",
            "request",
            "--identity",
            "x-svc",
            "--role",
            "reader",
            "--for",
            "1h",
            "--reason",
            "incident",
            "--by",
            "x-svc",
            "--format",
            "json",
        ],
    );
    let cli_id = serde_json::from_str::<Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = w.gw.cli(&["grant", "approve", &cli_id, "--by", "x-lead"]);
    assert!(
        !out.status.success(),
        "x-lead approved x-svc's grant on the CLI"
    );
    assert!(
        stderr(&out).contains("separation of duties"),
        "{}",
        stderr(&out)
    );
    assert!(w.roles("x-svc").await.is_empty());

    // An independent approver can, on both.
    w.by("sec-admin")
        .expect("POST", &path, Value::Null, 200)
        .await;
    cli_ok(&w.gw, &["grant", "approve", &cli_id, "--by", "sec-admin"]);
    assert_eq!(w.roles("x-svc").await, ["reader", "reader"]);
}

#[tokio::test]
async fn scoped_admin_cannot_assign_approver_role() {
    let w = world().await;
    let x = w.by("x-admin");
    let roles = "/admin/v1/identities/x-svc/roles";
    x.refused("POST", roles, json!({"role": "approver"}), "global admin")
        .await;
    let body = json!({"identity": "x-svc", "role": "approver", "for": "1h", "reason": "x"});
    x.refused("POST", "/admin/v1/grants", body, "global admin")
        .await;
    assert!(w.roles("x-svc").await.is_empty());
    // Other roles: still its to assign.
    x.expect("POST", roles, json!({"role": "reader"}), 201)
        .await;
    assert_eq!(w.roles("x-svc").await, ["reader"]);
}

#[tokio::test]
async fn global_admin_still_manages_admins_and_assigns_approvers() {
    let w = world().await;
    let root = w.by("root-admin");
    // Keys of an admin identity: issue, rotate, revoke.
    let path = "/admin/v1/identities/x-root/keys";
    let id = field(&root.expect("POST", path, hour(), 201).await, "id");
    let path = format!("/admin/v1/keys/{id}/rotate");
    let rotated = field(&root.expect("POST", &path, Value::Null, 200).await, "id");
    let path = format!("/admin/v1/keys/{rotated}/revoke");
    root.expect("POST", &path, Value::Null, 200).await;
    let grant = json!({"identity": "x-peer-admin", "role": "reader", "for": "1h", "reason": "x"});
    for (path, body) in [
        // Roles and grants on an admin's behalf.
        (
            "/admin/v1/identities/x-peer-admin/roles",
            json!({"role": "reader"}),
        ),
        ("/admin/v1/grants", grant),
        // The approver role.
        (
            "/admin/v1/identities/x-svc/roles",
            json!({"role": "approver"}),
        ),
    ] {
        root.expect("POST", path, body, 201).await;
    }
    assert_eq!(w.roles("x-svc").await, ["approver"]);
    // The admin role: granted, used, revoked.
    let admin = "/admin/v1/identities/x-svc/admin";
    let r = root
        .expect("POST", admin, json!({"owner": "team-x"}), 200)
        .await;
    assert_eq!(r.json()["owner"], "team-x");
    assert_eq!(r.json()["global"], false);
    let svc_key = w.issue("root-admin", "x-svc").await;
    let svc = w.with_key("x-svc", &svc_key);
    svc.expect("GET", IDENTITIES, Value::Null, 200).await;
    root.expect("DELETE", admin, Value::Null, 200).await;
    svc.expect("GET", IDENTITIES, Value::Null, 403).await;
    root.expect("DELETE", admin, Value::Null, 409).await;
    // Lifecycle of admin identities.
    for path in [
        "/admin/v1/identities/x-peer-admin/disable",
        "/admin/v1/identities/x-peer-admin/enable",
        "/admin/v1/identities/x-peer-admin/offboard",
        "/admin/v1/identities/x-root/disable",
    ] {
        root.expect("POST", path, Value::Null, 200).await;
    }
    // Each change is in the audit log, with the acting admin.
    let path = "/admin/v1/audit?limit=1000";
    let r = root.expect("GET", path, Value::Null, 200).await;
    let controls: Vec<Value> = r.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|rec| rec["event"].get("control").cloned())
        .collect();
    for (action, target) in [
        ("admin.grant", "x-svc"),
        ("admin.revoke", "x-svc"),
        ("identity.offboard", "x-peer-admin"),
    ] {
        assert!(
            controls.iter().any(|c| c["action"] == action
                && c["target"] == target
                && c["actor"] == "root-admin"
                && c["outcome"] == "ok"),
            "{action} {target} not audited: {controls:?}"
        );
    }
}
