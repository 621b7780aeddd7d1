//! Admin-side helpers shared by the grant and admin-API tests: identities
//! with keys and roles made through the CLI, and JSON calls to the admin API.

use std::path::Path;

use serde_json::Value;

use super::{Reply, TestGateway, admin_call, cli_at};

/// The `[grants]` limits and the standing `reader` role.
pub const GRANTS_AND_READER: &str = r#"
[grants]
max_duration = "8h"
pending_ttl = "1h"

[[roles]]
name = "reader"
models = ["chat"]
actions = ["chat"]
"#;

/// Two just-in-time roles: `prod-writer` (at most 2h) and `break-glass`
/// (two approvals).
pub const JIT_ROLES: &str = r#"
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

/// Runs the CLI on `config`; asserts it succeeded (the message names the
/// command) and returns its standard output.
pub fn cli_ok_at(config: &Path, args: &[&str]) -> String {
    let out = cli_at(config, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// [`cli_ok_at`] on `gw`'s config and store.
pub fn cli_ok(gw: &TestGateway, args: &[&str]) -> String {
    cli_ok_at(&gw.config, args)
}

/// Creates identity `name` (kind `tool`, environment `admin`) of `owner`
/// with a one-hour key; returns the key.
pub fn identity(gw: &TestGateway, name: &str, owner: &str) -> String {
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
            owner,
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
    serde_json::from_str::<Value>(&out).unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Like [`identity`], with the admin role (global, or scoped to `scope`).
pub fn admin(gw: &TestGateway, name: &str, owner: &str, scope: Option<&str>) -> String {
    let key = identity(gw, name, owner);
    let mut args = vec!["admin", "grant", "--identity", name];
    if let Some(scope) = scope {
        args.extend(["--owner", scope]);
    }
    cli_ok(gw, &args);
    key
}

/// Assigns the standing role `role` to `name` (`--by root`) through the
/// CLI on `config`.
pub fn assign_role(config: &Path, name: &str, role: &str) {
    cli_ok_at(
        config,
        &[
            "role",
            "assign",
            "--identity",
            name,
            "--role",
            role,
            "--by",
            "root",
        ],
    );
}

/// Assigns the standing `approver` role to `name` (`--by root`).
pub fn assign_approver(config: &Path, name: &str) {
    assign_role(config, name, "approver");
}

/// `method path` on the admin API as the holder of `key`, with `body` as
/// JSON (none for `Value::Null`).
pub async fn api(gw: &TestGateway, key: &str, method: &str, path: &str, body: Value) -> Reply {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    admin_call(gw, key, method, path, &body).await
}

/// The role names in the `active` list of an entitlements answer (`role
/// show` or `GET /admin/v1/identities/{name}/roles`).
pub fn active_role_names(entitlements: &Value) -> Vec<String> {
    entitlements["active"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap().to_owned())
        .collect()
}

/// The roles `name` holds now, as the holder of `key` sees them through
/// the admin API.
pub async fn active_roles(gw: &TestGateway, key: &str, name: &str) -> Vec<String> {
    let path = format!("/admin/v1/identities/{name}/roles");
    let r = api(gw, key, "GET", &path, Value::Null).await;
    assert_eq!(r.status, 200, "{}", r.text());
    active_role_names(&r.json())
}
