//! Roles and just-in-time grants through the real binary's CLI on a local
//! store (the admin API is in `grants_admin.rs`). Access is observed
//! through the entitlements (`role show`, `GET /identities/{name}/roles`),
//! which the request path reads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Output;
use std::time::Duration;

use common::admin::*;
use common::*;
use serde_json::Value;

/// A config with the grant limits, `reader` and the jit roles, and a temp
/// store; the CLI runs on it.
struct Local {
    _dir: tempfile::TempDir,
    config: std::path::PathBuf,
}

impl Local {
    fn new() -> Local {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("modelgate.toml");
        let text = format!(
            "{}{TOKENS_SECTION}{GRANTS_AND_READER}{JIT_ROLES}",
            store_section(dir.path(), "modelgate.db")
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
            assign_approver(&local.config, approver);
        }
        local
    }

    fn run(&self, args: &[&str]) -> Output {
        cli_at(&self.config, args)
    }

    fn ok(&self, args: &[&str]) -> String {
        cli_ok_at(&self.config, args)
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
        active_role_names(&serde_json::from_str(&out).unwrap())
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
    let out = l.ok(&["identity", "offboard", "billing", "--yes"]);
    assert!(
        out.contains("2 grants revoked") && out.contains("1 roles removed"),
        "{out}"
    );
    assert!(l.active().is_empty());
    assert!(l.grants("approved").is_empty() && l.grants("pending").is_empty());
    assert_eq!(l.grants("revoked").len(), 2);
}
