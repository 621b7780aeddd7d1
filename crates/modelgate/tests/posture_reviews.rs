//! Access reviews through the real binary: opened and answered from the
//! CLI and the admin API, revokes applied to standing roles and
//! just-in-time grants, owner scoping, audit records, and overdue items
//! becoming findings. (Readiness, inventory and the report are in
//! `posture.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::posture::{FULL_OWNERSHIP, model_route};
use common::*;
use serde_json::Value;

const ROLES: &str = "\n[[roles]]\nname = \"reader\"\nmodels = [\"m\"]\nactions = [\"chat\"]\n\n\
                     [[roles]]\nname = \"writer\"\nmodels = [\"m\"]\nactions = [\"chat\", \"messages\"]\n";

#[tokio::test]
async fn reviews_revoke_roles_and_are_audited() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}{ROLES}",
        upstreams_on(&mock, "u", FULL_OWNERSHIP),
        model_route()
    );
    let gw = TestGateway::start(&config).await;
    for role in ["reader", "writer"] {
        ok(gw.cli(&[
            "role",
            "assign",
            "--identity",
            "app",
            "--role",
            role,
            "--by",
            "team-a@example.com",
        ]));
    }
    let out = ok(gw.cli(&["review", "start", "--due", "7d"]));
    assert!(out.contains("with 2 items"), "{out}");
    let reviews: Value =
        serde_json::from_str(&ok(gw.cli(&["review", "list", "--format", "json"]))).unwrap();
    let review = &reviews[0];
    let review_id = review["id"].as_str().unwrap().to_owned();
    let items = review["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["owner"] == "team-a@example.com"));
    let reader = items.iter().find(|i| i["entitlement"] == "reader").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let writer = items.iter().find(|i| i["entitlement"] == "writer").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Only the owner answers; the answer needs a decision.
    let out = gw.cli(&[
        "review", "answer", &review_id, &reader, "--revoke", "--by", "mallory",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("not the owner"), "{}", stderr(&out));
    let out = gw.cli(&[
        "review",
        "answer",
        &review_id,
        &reader,
        "--by",
        "team-a@example.com",
    ]);
    assert!(!out.status.success(), "a decision is required");
    let out = gw.cli(&[
        "review", "answer", &review_id, "nope", "--keep", "--by", "x",
    ]);
    assert!(!out.status.success());

    let out = ok(gw.cli(&[
        "review",
        "answer",
        &review_id,
        &reader,
        "--revoke",
        "--by",
        "team-a@example.com",
    ]));
    assert!(out.contains("revoke reader of app"), "{out}");
    let roles: Value = serde_json::from_str(&ok(gw.cli(&[
        "role",
        "show",
        "--identity",
        "app",
        "--format",
        "json",
    ])))
    .unwrap();
    let held: Vec<&str> = roles["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        held,
        ["writer"],
        "the revoked role is gone, the other stays"
    );
    let out = gw.cli(&[
        "review",
        "answer",
        &review_id,
        &reader,
        "--keep",
        "--by",
        "team-a@example.com",
    ]);
    assert!(!out.status.success(), "each item is answered once");

    // The admin API answers the other item for its owner.
    let admin = bootstrap_admin(&gw);
    let path = format!("/admin/v1/reviews/{review_id}/items/{writer}");
    let reply = admin_call(&gw, &admin, "POST", &path, r#"{"decision":"maybe"}"#).await;
    assert_eq!(reply.status, 400);
    let reply = admin_call(&gw, &admin, "POST", &path, r#"{"decision":"keep"}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.json()["item"]["answer"]["reviewer"],
        "team-a@example.com"
    );
    let reply = admin_call(&gw, &admin, "GET", "/admin/v1/reviews", "").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["data"][0]["pending"], 0);
    let reply = admin_call(
        &gw,
        &admin,
        "POST",
        "/admin/v1/reviews/review-1/items/x",
        r#"{"decision":"keep"}"#,
    )
    .await;
    assert_eq!(reply.status, 404);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let reply = admin_call(&gw, &admin, "POST", "/admin/v1/reviews", r#"{"due":"1d"}"#).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let items = reply.json()["items"].as_array().unwrap().clone();
    let roles: Vec<&Value> = items.iter().filter(|i| i["kind"] == "role").collect();
    assert_eq!(roles.len(), 1, "writer only: {items:?}");
    // The admin role is reviewed too.
    assert!(
        items
            .iter()
            .any(|i| i["kind"] == "admin" && i["identity_name"] == "modelgate-admin"),
        "{items:?}"
    );

    // Every start and answer is in the audit log.
    let mut events = Vec::new();
    for _ in 0..50 {
        let out = ok(gw.cli(&["audit", "search", "--kind", "control", "--format", "json"]));
        events = out
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["event"]["control"].clone())
            .filter(|e| {
                e["action"]
                    .as_str()
                    .is_some_and(|a| a.starts_with("review."))
            })
            .collect();
        if events.len() >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let find = |action: &str, outcome: &str| {
        events
            .iter()
            .filter(|e| e["action"] == action && e["outcome"] == outcome)
            .cloned()
            .collect::<Vec<_>>()
    };
    let started = find("review.start", "ok");
    assert_eq!(started.len(), 2, "{events:?}");
    assert_eq!(started[0]["target"], review_id.as_str());
    assert_eq!(started[0]["detail"]["items"], "2");
    let answered = find("review.answer", "ok");
    assert_eq!(answered.len(), 2, "{events:?}");
    assert_eq!(answered[0]["detail"]["decision"], "revoke");
    assert_eq!(answered[0]["detail"]["applied"], "role.unassign reader");
    assert_eq!(answered[0]["detail"]["by"], "team-a@example.com");
    assert_eq!(answered[1]["detail"]["decision"], "keep");
    assert_eq!(answered[1]["actor"], "modelgate-admin");
    assert!(
        find("review.answer", "failed").len() >= 2,
        "refused answers are recorded as failed: {events:?}"
    );
}

/// Runs a CLI command that prints JSON and parses it.
fn json_out(gw: &TestGateway, args: &[&str]) -> Value {
    serde_json::from_str(&ok(gw.cli(args))).unwrap()
}

#[tokio::test]
async fn review_ends_grants_overdue_items_become_findings_and_scope_holds() {
    let mock = MockUpstream::start().await.unwrap();
    let roles = "\n[[roles]]\nname = \"prod-writer\"\nmodels = [\"m\"]\nactions = [\"chat\"]\n\
                 jit_only = true\nmax_grant_duration = \"2h\"\n";
    let config = format!(
        "{}{}{roles}",
        upstreams_on(&mock, "u", FULL_OWNERSHIP),
        model_route()
    );
    let gw = TestGateway::start(&config).await;
    for (name, owner) in [("boss", "team-sec"), ("scoped", "team-a@example.com")] {
        ok(gw.cli(&[
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
        ]));
    }
    ok(gw.cli(&[
        "role",
        "assign",
        "--identity",
        "boss",
        "--role",
        "approver",
        "--by",
        "team-sec",
    ]));
    let grant = json_out(
        &gw,
        &[
            "grant",
            "request",
            "--identity",
            "app",
            "--role",
            "prod-writer",
            "--for",
            "1h",
            "--reason",
            "incident 42",
            "--by",
            "team-a@example.com",
            "--format",
            "json",
        ],
    );
    let grant_id = grant["id"].as_str().unwrap().to_owned();
    ok(gw.cli(&["grant", "approve", &grant_id, "--by", "boss"]));

    ok(gw.cli(&["review", "start", "--due", "1h"]));
    let reviews = json_out(&gw, &["review", "list", "--format", "json"]);
    let review_id = reviews[0]["id"].as_str().unwrap().to_owned();
    let items = reviews[0]["items"].as_array().unwrap();
    let jit = items
        .iter()
        .find(|i| i["entitlement"] == "prod-writer")
        .unwrap();
    assert_eq!(jit["source"], format!("jit:{grant_id}"));
    let boss_item = items.iter().find(|i| i["identity_name"] == "boss").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // An owner-scoped admin sees and answers only its owner's identities.
    ok(gw.cli(&[
        "admin",
        "grant",
        "--identity",
        "scoped",
        "--owner",
        "team-a@example.com",
    ]));
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
    let reply = admin_call(&gw, &scoped, "GET", "/admin/v1/inventory", "").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let mut names: Vec<String> = reply.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["app", "scoped"]);
    let reply = admin_call(
        &gw,
        &scoped,
        "GET",
        "/admin/v1/posture/report?format=md",
        "",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(!reply.text().contains("boss"), "{}", reply.text());
    let reply = admin_call(&gw, &scoped, "GET", "/admin/v1/reviews", "").await;
    let visible = reply.json()["data"][0]["items"].as_array().unwrap().len();
    assert_eq!(visible, 1, "only app's grant: {}", reply.text());
    let reply = admin_call(&gw, &scoped, "POST", "/admin/v1/reviews", "").await;
    assert_eq!(reply.status, 403);
    let path = format!("/admin/v1/reviews/{review_id}/items/{boss_item}");
    let reply = admin_call(&gw, &scoped, "POST", &path, r#"{"decision":"revoke"}"#).await;
    assert_eq!(reply.status, 404, "{}", reply.text());
    let path = format!(
        "/admin/v1/reviews/{review_id}/items/{}",
        jit["id"].as_str().unwrap()
    );
    let reply = admin_call(
        &gw,
        &scoped,
        "POST",
        &path,
        r#"{"decision":"revoke","by":"someone-else"}"#,
    )
    .await;
    assert_eq!(reply.status, 403, "{}", reply.text());

    // Revoking the just-in-time grant ends it.
    let reply = admin_call(&gw, &scoped, "POST", &path, r#"{"decision":"revoke"}"#).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["applied"], format!("grant.revoke {grant_id}"));
    let grants = json_out(
        &gw,
        &["grant", "list", "--identity", "app", "--format", "json"],
    );
    assert_eq!(grants[0]["state"], "revoked", "{grants}");

    // A review left unanswered past its due date becomes NHI5 findings.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Due in 4 s: long enough for the report below to run first on a
    // loaded machine (each CLI run opens the store), short for the test.
    ok(gw.cli(&["review", "start", "--due", "4s"]));
    let report = json_out(&gw, &["posture", "report", "--format", "json"]);
    assert!(
        !report.to_string().contains("nhi5.review_overdue"),
        "not due yet"
    );
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let is_overdue = |f: &&Value| {
        f["family"] == "nhi5.review_overdue"
            || f["id"].as_str().unwrap().starts_with("nhi5.review_overdue")
    };
    // Past the due time the findings appear; a loaded machine may take a
    // moment longer to get there.
    let mut report = json_out(&gw, &["posture", "report", "--format", "json"]);
    for _ in 0..20 {
        if report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(is_overdue)
            .count()
            >= 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        report = json_out(&gw, &["posture", "report", "--format", "json"]);
    }
    let overdue: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(is_overdue)
        .collect();
    // Boss's approver role, and the admin role of `scoped` (admins are
    // reviewed too).
    assert_eq!(overdue.len(), 2, "{report}");
    assert!(
        overdue.iter().any(|f| f["id"]
            .as_str()
            .unwrap()
            .ends_with(":admin:owner:team-a@example.com")),
        "{report}"
    );
    let overdue: Vec<&Value> = overdue
        .into_iter()
        .filter(|f| f["id"].as_str().unwrap().ends_with(":role:approver"))
        .collect();
    assert_eq!(overdue.len(), 1, "boss's approver role: {report}");
    assert!(
        overdue[0]["remediation"]
            .as_str()
            .unwrap()
            .contains("--by team-sec"),
        "{}",
        overdue[0]
    );
}
