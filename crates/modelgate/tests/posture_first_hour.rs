//! Posture as a new user meets it (issue 16), through the real binary: a
//! leaked key is named by its id and owner (not the sender's keys), admins
//! are listed and appear in the inventory and in access reviews, the
//! inventory fits a terminal (`--wide` for every column), findings name
//! identities beside their ids, and advice for a control already in place
//! is not given.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::posture::{FULL_OWNERSHIP, model_route};
use common::*;
use serde_json::{Value, json};

/// A Slack bot token: a credential the screener finds.
const SECRET: &str = "xoxb-1234567890123-1234567890123-CANARYabcdefghijklmnopqr";

fn prompt(text: &str) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": text}]})
}

async fn gateway(extra: &str) -> (MockHandle, TestGateway) {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}{extra}",
        upstreams_on(&mock, "u", FULL_OWNERSHIP),
        model_route()
    );
    let gw = TestGateway::start(&config).await;
    (mock, gw)
}

fn key_ids(gw: &TestGateway, identity: &str) -> Vec<String> {
    let keys: Value = serde_json::from_str(&ok(gw.cli(&[
        "key",
        "list",
        "--identity",
        identity,
        "--format",
        "json",
    ])))
    .unwrap();
    keys.as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect()
}

fn report_json(gw: &TestGateway) -> Value {
    serde_json::from_str(&ok(gw.cli(&["posture", "report", "--format", "json"]))).unwrap()
}

#[tokio::test]
async fn a_leaked_key_is_named_with_its_owner_not_the_senders_keys() {
    let (_mock, gw) = gateway("").await;
    let victim_secret = gw.new_identity("victim", "service", "prod");
    let victim_key = key_ids(&gw, "victim").pop().unwrap();
    let app_key = key_ids(&gw, "app").pop().unwrap();
    let r = gw
        .openai(
            "/v1/chat/completions",
            &prompt(&format!("use this key: {victim_secret}")),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());

    let report = report_json(&gw);
    let text = report.to_string();
    assert!(!text.contains(&victim_secret), "no secret in the report");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["family"] == "gateway_key_in_prompt")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        finding["id"],
        format!("nhi2.gateway_key:{victim_key}"),
        "{finding}"
    );
    let title = finding["title"].as_str().unwrap();
    assert!(
        title.contains(&victim_key)
            && title.contains("of victim")
            && title.contains("prompt of app")
            && title.contains("revoked"),
        "{title}"
    );
    assert_eq!(finding["evidence"]["credentials"], json!([victim_key]));
    assert_eq!(
        finding["evidence"]["identity_names"],
        json!(["victim", "app"])
    );
    let remediation = finding["remediation"].as_str().unwrap();
    assert!(
        remediation.contains("modelgate key create --identity victim"),
        "{remediation}"
    );
    assert!(!remediation.contains(&app_key), "{remediation}");
}

#[tokio::test]
async fn admins_are_listed_inventoried_and_reviewed() {
    let (_mock, gw) = gateway("").await;
    let admin_secret = bootstrap_admin(&gw);
    ok(gw.cli(&[
        "admin",
        "grant",
        "--identity",
        "app",
        "--owner",
        "team-a@example.com",
    ]));

    let out = ok(gw.cli(&["admin", "list"]));
    assert!(
        out.contains("modelgate-admin") && out.contains("global"),
        "{out}"
    );
    assert!(out.contains("owner:team-a@example.com"), "{out}");
    assert!(!out.contains(&admin_secret), "{out}");
    let listed: Value =
        serde_json::from_str(&ok(gw.cli(&["admin", "list", "--format", "json"]))).unwrap();
    let admins = listed.as_array().unwrap();
    assert_eq!(admins.len(), 2, "{listed}");
    assert_eq!(admins[0]["identity"], "app");
    assert_eq!(admins[1]["identity"], "modelgate-admin");
    assert_eq!(admins[1]["scope"], "global");
    assert_eq!(admins[1]["live_keys"].as_array().unwrap().len(), 1);

    // The inventory shows who holds the admin role.
    let rows: Value =
        serde_json::from_str(&ok(gw.cli(&["inventory", "--format", "json"]))).unwrap();
    let row = |name: &str| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(row("modelgate-admin")["admin"], "global");
    assert_eq!(row("app")["admin"], "owner:team-a@example.com");
    let table = ok(gw.cli(&["inventory"]));
    assert!(table.contains("admin:global"), "{table}");

    // An access review puts each admin role to its owner; a revoke takes
    // the role away.
    ok(gw.cli(&["review", "start"]));
    let reviews: Value =
        serde_json::from_str(&ok(gw.cli(&["review", "list", "--format", "json"]))).unwrap();
    let review = &reviews[0];
    let item = review["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["identity_name"] == "modelgate-admin" && i["kind"] == "admin")
        .unwrap_or_else(|| panic!("{review}"));
    assert_eq!(item["entitlement"], "global");
    let out = ok(gw.cli(&[
        "review",
        "answer",
        review["id"].as_str().unwrap(),
        item["id"].as_str().unwrap(),
        "--revoke",
        "--by",
        item["owner"].as_str().unwrap(),
    ]));
    assert!(out.contains("admin.revoke"), "{out}");
    let listed: Value =
        serde_json::from_str(&ok(gw.cli(&["admin", "list", "--format", "json"]))).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
}

#[tokio::test]
async fn the_inventory_fits_a_terminal_and_wide_shows_every_column() {
    let (_mock, gw) = gateway("").await;
    let out = gw.cli(&[
        "identity",
        "create",
        "--name",
        "search-retrieval-augmented-generation-prod",
        "--kind",
        "retrieval",
        "--owner",
        "a-very-long-team-name-for-search@example.com",
        "--environment",
        "production-eu-west",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = ok(gw.cli(&["inventory"]));
    for line in table.lines() {
        assert!(
            line.chars().count() <= 120,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(table.starts_with("NAME "), "{table}");
    let wide = ok(gw.cli(&["inventory", "--wide"]));
    assert!(wide.starts_with("ID "), "{wide}");
    assert!(
        wide.contains("a-very-long-team-name-for-search@example.com"),
        "{wide}"
    );
}

#[tokio::test]
async fn findings_name_identities_and_skip_advice_already_in_place() {
    let (_mock, gw) =
        gateway("\n[[screen.rules]]\ncategories = [\"credential\"]\naction = \"block\"\n").await;
    for _ in 0..3 {
        let r = gw
            .openai("/v1/chat/completions", &prompt(&format!("token {SECRET}")))
            .await;
        assert_eq!(r.status, 400, "{}", r.text());
    }
    let report = report_json(&gw);
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["family"] == "repeated_secrets_in_prompts")
        .cloned()
        .unwrap_or_else(|| panic!("{report}"));
    let remediation = finding["remediation"].as_str().unwrap();
    assert!(!remediation.contains("set action"), "{remediation}");
    assert!(remediation.contains("already blocks"), "{remediation}");

    let md = ok(gw.cli(&["posture", "report", "--format", "md"]));
    let line = md
        .lines()
        .find(|l| l.starts_with("- identities: "))
        .unwrap_or_else(|| panic!("{md}"));
    assert!(line.contains("app (id"), "{line}");
}

#[tokio::test]
async fn an_unknown_key_beside_a_recorded_one_is_still_reported() {
    let (_mock, gw) = gateway("").await;
    // A well-formed key this gateway never issued.
    let (_other_mock, other) = gateway("").await;
    let foreign = other.new_identity("elsewhere", "service", "prod");
    let victim_secret = gw.new_identity("victim", "service", "prod");
    let victim_key = key_ids(&gw, "victim").pop().unwrap();
    for text in [
        format!("use this key: {victim_secret}"),
        format!("or this one: {foreign}"),
    ] {
        let r = gw.openai("/v1/chat/completions", &prompt(&text)).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }

    let report = report_json(&gw);
    let text = report.to_string();
    assert!(!text.contains(&foreign), "no secret in the report");
    let leaks: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["family"] == "gateway_key_in_prompt")
        .collect();
    assert_eq!(leaks.len(), 2, "{text}");
    assert!(
        leaks
            .iter()
            .any(|f| f["id"] == format!("nhi2.gateway_key:{victim_key}")),
        "{text}"
    );
    let unnamed = leaks
        .iter()
        .find(|f| f["id"] != format!("nhi2.gateway_key:{victim_key}"))
        .unwrap();
    assert!(
        unnamed["title"]
            .as_str()
            .unwrap()
            .contains("prompts sent by app; which key is not recorded"),
        "{unnamed}"
    );
    assert_eq!(
        unnamed["evidence"]["facts"],
        json!([
            "2 request(s) carried a gateway key",
            "key.leaked records name a key in only 1 of them"
        ])
    );
}
