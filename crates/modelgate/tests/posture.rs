//! Posture from live state through the real binary: readiness (CLI and
//! the request path under `require_readiness`), the inventory, the posture
//! report in three formats (CLI and admin API), and the assessment.
//! Access reviews are in `posture_reviews.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::posture::{FULL_OWNERSHIP, model_route};
use common::*;
use serde_json::Value;

const PARTIAL_OWNERSHIP: &str = "environment = \"prod\"\nownership = { patching = \"ops@example.com\", offboarding = \"ops@example.com\", rotation_days = 30 }";

#[tokio::test]
async fn missing_owner_fails_readiness_and_refuses_routing_until_fixed() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}\n[posture]\nrequire_readiness = true\n",
        upstreams_on(&mock, "u", PARTIAL_OWNERSHIP),
        model_route()
    );
    let mut gw = TestGateway::start(&config).await;

    let out = gw.cli(&["readiness"]);
    assert!(!out.status.success(), "a gap must fail readiness");
    let table = stdout(&out);
    assert!(
        table.contains("u-openai") && table.contains("u-anthropic"),
        "{table}"
    );
    assert!(table.contains("ownership.incident_response"), "{table}");
    assert!(!table.contains("ownership.patching"), "{table}");
    assert!(
        stderr(&out).contains("refuses to route"),
        "{}",
        stderr(&out)
    );
    let out = gw.cli(&["readiness", "--format", "json"]);
    assert!(!out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ready"], false);
    assert_eq!(json["gaps"].as_array().unwrap().len(), 2);
    assert_eq!(json["gaps"][0]["kind"], "incident_owner");

    // OpenAI dialect: 403 with the code and the reason.
    let refused = gw.openai("/v1/chat/completions", &chat("m", false)).await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let body = refused.json();
    assert_eq!(body["error"]["code"], "no_eligible_upstream");
    assert_eq!(body["error"]["type"], "permission_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("not ready"), "{message}");
    assert!(message.contains("incident-response owner"), "{message}");
    // Anthropic dialect: its error shape, same reason.
    let refused = gw.anthropic(&messages("m", false)).await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    let body = refused.json();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "permission_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("incident-response owner"),
        "{body}"
    );
    // Streamed requests are refused before anything is forwarded too.
    let refused = gw.openai("/v1/chat/completions", &chat("m", true)).await;
    assert_eq!(refused.status, 403);
    assert!(mock.requests().is_empty(), "nothing reached the upstream");

    // The refusal is in the audit log with its reason.
    let out = ok(gw.cli(&["audit", "search", "--kind", "request", "--format", "json"]));
    assert!(out.contains("no_eligible_upstream"), "{out}");

    // Once every owner is named, the same calls are served.
    let text = std::fs::read_to_string(&gw.config).unwrap();
    std::fs::write(&gw.config, text.replace(PARTIAL_OWNERSHIP, FULL_OWNERSHIP)).unwrap();
    let out = ok(gw.cli(&["readiness"]));
    assert!(out.contains("all 2 upstreams are ready"), "{out}");
    gw.terminate();
    gw.restart();
    let served = gw.openai("/v1/chat/completions", &chat("m", false)).await;
    assert_eq!(served.status, 200, "{}", served.text());
    let served = gw.anthropic(&messages("m", false)).await;
    assert_eq!(served.status, 200, "{}", served.text());
    assert_eq!(mock.requests().len(), 2);
}

#[tokio::test]
async fn readiness_is_reported_but_not_enforced_by_default() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!("{}{}", upstreams_on(&mock, "u", ""), model_route());
    let gw = TestGateway::start(&config).await;
    let out = gw.cli(&["readiness"]);
    assert!(!out.status.success());
    assert!(!stderr(&out).contains("refuses to route"));
    let served = gw.openai("/v1/chat/completions", &chat("m", false)).await;
    assert_eq!(served.status, 200, "{}", served.text());
    let admin = bootstrap_admin(&gw);
    let reply = admin_call(&gw, &admin, "GET", "/admin/v1/readiness", "").await;
    assert_eq!(reply.status, 200);
    let json = reply.json();
    assert_eq!(json["ready"], false);
    assert_eq!(json["require_readiness"], false);
    assert_eq!(json["gaps"].as_array().unwrap().len(), 8);
}

/// The inventory row of `name`, once the audit log shows an upstream used.
async fn inventory_row(gw: &TestGateway, name: &str) -> Value {
    for _ in 0..50 {
        let out = ok(gw.cli(&["inventory", "--format", "json"]));
        let rows: Value = serde_json::from_str(&out).unwrap();
        let row = rows
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap();
        if !row["upstreams_used"].as_array().unwrap().is_empty() {
            return row;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the inventory never showed an upstream used by {name}");
}

#[tokio::test]
async fn inventory_and_report_come_from_the_live_store() {
    let mock = MockUpstream::start().await.unwrap();
    let config = format!(
        "{}{}",
        upstreams_on(&mock, "u", FULL_OWNERSHIP),
        model_route()
    );
    let gw = TestGateway::start(&config).await;
    let before = ok(gw.cli(&["inventory", "--format", "json"]));
    let rows: Value = serde_json::from_str(&before).unwrap();
    assert_eq!(rows[0]["name"], "app");
    assert!(rows[0]["upstreams_used"].as_array().unwrap().is_empty());
    assert!(rows[0]["last_activity_at"].is_null());

    let served = gw.openai("/v1/chat/completions", &chat("m", false)).await;
    assert_eq!(served.status, 200, "{}", served.text());

    let row = inventory_row(&gw, "app").await;
    assert_eq!(row["owner"], "team-a@example.com");
    assert_eq!(row["kind"], "service");
    assert_eq!(row["environment"], "prod");
    assert_eq!(row["status"], "active");
    assert_eq!(row["upstreams_used"], serde_json::json!(["u-openai"]));
    assert!(row["last_activity_at"].as_i64().unwrap() > 0);
    let credentials = row["credentials"].as_array().unwrap();
    assert_eq!(credentials.len(), 1);
    let key_id = credentials[0]["id"].as_str().unwrap().to_owned();
    assert!(key_id.starts_with("key_"), "{key_id}");
    assert_eq!(credentials[0]["type"], "api_key");
    assert_eq!(credentials[0]["live"], true);
    assert!(credentials[0]["expires_at"].as_i64().is_some());
    assert!(!row.to_string().contains(&gw.key), "no key value");

    // An access token from the token endpoint, used once, is listed too.
    let issued = call(
        "POST",
        &gw.url("/oauth2/token"),
        &[("content-type", "application/x-www-form-urlencoded")],
        format!("grant_type=client_credentials&client_secret={}", gw.key),
    )
    .await;
    assert_eq!(issued.status, 200, "{}", issued.text());
    let token = issued.json()["access_token"].as_str().unwrap().to_owned();
    let bearer = format!("Bearer {token}");
    let served = call(
        "POST",
        &gw.url("/v1/chat/completions"),
        &[
            ("authorization", &bearer),
            ("content-type", "application/json"),
        ],
        chat("m", false).to_string(),
    )
    .await;
    assert_eq!(served.status, 200, "{}", served.text());
    let mut token_row = Value::Null;
    for _ in 0..50 {
        let rows: Value =
            serde_json::from_str(&ok(gw.cli(&["inventory", "--format", "json"]))).unwrap();
        let found = rows[0]["credentials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["type"] == "access_token")
            .cloned();
        if let Some(found) = found.filter(|c| !c["last_used_at"].is_null()) {
            token_row = found;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(token_row["live"], true, "the token is listed once used");
    assert!(!token_row.to_string().contains(&token), "never the token");

    let table = ok(gw.cli(&["inventory"]));
    assert!(table.lines().next().unwrap().contains("NAME"), "{table}");
    assert!(table.contains("app"), "{table}");
    let wide = ok(gw.cli(&["inventory", "--wide"]));
    assert!(wide.contains("app") && wide.contains("u-openai"), "{wide}");
    let csv = ok(gw.cli(&["inventory", "--format", "csv"]));
    assert!(csv.lines().count() >= 2 && csv.contains(&key_id), "{csv}");
    let out = gw.cli(&["inventory", "--window", "soon"]);
    assert!(!out.status.success() && stderr(&out).contains("--window"));

    // The report: the key is used on model routes (NHI4), in all formats.
    let json = ok(gw.cli(&["posture", "report", "--format", "json"]));
    let report: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["items"].as_array().unwrap().len(), 10);
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == format!("nhi4.key_on_data_plane:{key_id}"))
        .unwrap_or_else(|| panic!("no NHI4 finding for the key: {json}"));
    assert!(
        finding["remediation"]
            .as_str()
            .unwrap()
            .contains("modelgate key rotate")
    );
    assert!(report["readiness"].as_array().unwrap().is_empty());
    let md = ok(gw.cli(&["posture", "report", "--format", "md"]));
    assert!(md.starts_with("# modelgate posture report"), "{md}");
    assert!(
        md.contains("of app is sent to model routes") && md.contains("NHI10"),
        "{md}"
    );
    let file = gw.dir.path().join("report.html");
    ok(gw.cli(&[
        "posture",
        "report",
        "--format",
        "html",
        "--out",
        file.to_str().unwrap(),
    ]));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.contains("default-src 'none'") && html.contains(&key_id));
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("<script"));
    let out = gw.cli(&["posture", "report", "--format", "pdf"]);
    assert!(!out.status.success());

    // The admin API serves the same, and an owner-scoped admin sees only
    // its own identities.
    let admin = bootstrap_admin(&gw);
    let reply = admin_call(&gw, &admin, "GET", "/admin/v1/inventory", "").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let names: Vec<String> = reply.json()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"app".to_owned()), "{names:?}");
    let reply = admin_call(&gw, &admin, "GET", "/admin/v1/inventory?format=csv", "").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let reply = admin_call(&gw, &admin, "GET", "/admin/v1/inventory?format=xml", "").await;
    assert_eq!(reply.status, 400);
    let reply = admin_call(
        &gw,
        &admin,
        "GET",
        "/admin/v1/posture/report?format=html",
        "",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(
        reply.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(reply.text().contains(&key_id));
    let reply = admin_call(&gw, &admin, "GET", "/admin/v1/posture/report?window=1s", "").await;
    assert_eq!(reply.status, 200);
    let reply = admin_call(
        &gw,
        &admin,
        "GET",
        "/admin/v1/posture/report?window=999d",
        "",
    )
    .await;
    assert_eq!(reply.status, 400);
    let reply = admin_call(&gw, &gw.key, "GET", "/admin/v1/inventory", "").await;
    assert_eq!(reply.status, 403, "not an admin");
}

#[test]
fn assess_recommends_with_reasons_and_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("none.toml");
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/requirements.toml");
    let example = example.to_str().unwrap();
    let text = ok(cli_at(&config, &["assess", example]));
    assert!(text.starts_with("recommendation: hybrid"), "{text}");
    assert!(
        text.contains("reasons:") && text.contains("residual risks:"),
        "{text}"
    );
    assert!(
        text.contains("[[upstreams]]") && text.contains("ownership"),
        "{text}"
    );
    let json: Value = serde_json::from_str(&ok(cli_at(
        &config,
        &["assess", example, "--format", "json"],
    )))
    .unwrap();
    assert_eq!(json["recommendation"], "hybrid");
    assert!(!json["reasons"].as_array().unwrap().is_empty());
    let snippet = json["config"].as_str().unwrap();
    assert!(snippet.contains("[[models]]"));
    // The snippet is a valid configuration, and readiness flags its owners
    // until they are filled in.
    if let Err(e) = modelgate_config::Config::from_toml(snippet) {
        panic!("the generated configuration is refused: {e}\n{snippet}");
    }
    let generated = dir.path().join("generated.toml");
    std::fs::write(&generated, snippet).unwrap();
    let out = cli_at(&generated, &["readiness"]);
    assert!(!out.status.success());
    assert!(
        stdout(&out).contains("claims-triage-hosted"),
        "{}",
        stdout(&out)
    );
    std::fs::write(&generated, snippet.replace("\"\"", "\"ops@example.com\"")).unwrap();
    ok(cli_at(&generated, &["readiness"]));

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[workload]\nname = \"x\"\n").unwrap();
    let out = cli_at(&config, &["assess", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    let out = cli_at(&config, &["assess"]);
    assert!(!out.status.success(), "no file and no terminal");
    assert!(
        stderr(&out).contains("requirements file"),
        "{}",
        stderr(&out)
    );
}
