//! Cedar policy through the live gateway: each example policy denies what
//! it should with its reason (in both dialects), decisions reach the audit
//! log, a malformed policy file leaves the previous set enforcing and the
//! error names file and line, and just-in-time grants give access only
//! while approved and active.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

fn examples_dir() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/policies")
        .canonicalize()
        .unwrap()
        .display()
        .to_string()
}

fn upstream(name: &str, mock: &MockHandle, extra: &str) -> String {
    format!(
        "[[upstreams]]\nname = \"{name}\"\nkind = \"openai\"\nbase_url = \"{}/v1\"\ncredential = \"env:MG_TEST_UPSTREAM_KEY\"\nregion = \"eu-west\"\n{extra}\n",
        mock.base_url()
    )
}

fn model(name: &str, upstream: &str, upstream_model: &str) -> String {
    format!(
        "[[models]]\nname = \"{name}\"\ntargets = [{{ upstream = \"{upstream}\", model = \"{upstream_model}\" }}]\n"
    )
}

async fn post(
    gw: &TestGateway,
    key: &str,
    path: &str,
    body: Value,
    extra: &[(&str, &str)],
) -> Reply {
    let auth = format!("Bearer {key}");
    let mut headers = vec![
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    headers.extend_from_slice(extra);
    call("POST", &gw.url(path), &headers, body.to_string()).await
}

fn chat_to(model: &str, text: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": text}]})
}

fn assert_denied(reply: &Reply, reason: &str) {
    assert_eq!(reply.status, 403, "{}", reply.text());
    let body = reply.json();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(reason), "{message:?} lacks {reason:?}");
    assert!(!reply.text().contains("forbid"), "no policy text leaks");
}

#[tokio::test]
async fn each_example_policy_denies_through_the_live_gateway() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        upstream(
            "hosted-ret",
            &mock,
            "deployment = \"hosted\"\nretention_days = 30\nisolation = \"contractual\"",
        ),
        upstream(
            "hosted-zero",
            &mock,
            "deployment = \"hosted\"\nretention_days = 0\nisolation = \"contractual\"",
        ),
        upstream(
            "local-prod",
            &mock,
            "deployment = \"self_hosted\"\nisolation = \"technical\"\nenvironment = \"prod\"",
        ),
        upstream(
            "local-dev",
            &mock,
            "deployment = \"self_hosted\"\nisolation = \"technical\"\nenvironment = \"dev\"",
        ),
        model("m-hosted-ret", "hosted-ret", "demo-chat"),
        model("m-hosted-zero", "hosted-zero", "demo-chat"),
        model("m-prod", "local-prod", "demo-chat"),
        model("m-dev", "local-dev", "demo-chat"),
        model("m-embed", "local-dev", "demo-embed"),
        format!("[policy]\ndir = \"{}\"\n", examples_dir()),
        "[data_classes]\ndefault = \"public\"\nby_environment = { prod = \"internal\" }\n"
            .to_owned(),
    ]
    .concat();
    let gw = TestGateway::start(&config).await;
    let app = gw.key.clone(); // prod service
    let dev = gw.new_identity("dev-svc", "service", "dev");
    let ci = gw.new_identity("ci-job", "ci_job", "dev");
    let bot = gw.new_identity("bot", "agent", "dev");

    // Allowed: prod data to the self-hosted prod upstream.
    assert_eq!(
        post(
            &gw,
            &app,
            "/v1/chat/completions",
            chat_to("m-prod", "hi"),
            &[]
        )
        .await
        .status,
        200
    );
    // prod-data-self-hosted
    let r = post(
        &gw,
        &app,
        "/v1/chat/completions",
        chat_to("m-hosted-zero", "hi"),
        &[],
    )
    .await;
    assert_denied(
        &r,
        "production data above public may only go to self-hosted upstreams",
    );
    // environment separation, both ways, and in the Anthropic dialect.
    let r = post(
        &gw,
        &app,
        "/v1/chat/completions",
        chat_to("m-dev", "hi"),
        &[],
    )
    .await;
    assert_denied(
        &r,
        "production identities may not use development upstreams",
    );
    let r = call(
        "POST",
        &gw.url("/v1/messages"),
        &[("x-api-key", dev.as_str()), ("anthropic-version", "2023-06-01")],
        json!({"model": "m-prod", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]}).to_string(),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json()["type"], "error");
    assert_eq!(r.json()["error"]["type"], "permission_error");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("development identities may not use production upstreams")
    );
    // hosted-retention-public-only: public passes, internal (raised by the header) does not.
    assert_eq!(
        post(
            &gw,
            &dev,
            "/v1/chat/completions",
            chat_to("m-hosted-ret", "hi"),
            &[]
        )
        .await
        .status,
        200
    );
    let r = post(
        &gw,
        &dev,
        "/v1/chat/completions",
        chat_to("m-hosted-ret", "hi"),
        &[("x-modelgate-data-class", "internal")],
    )
    .await;
    assert_denied(
        &r,
        "hosted upstreams that retain prompts may only receive public data",
    );
    // no-secrets-to-hosted
    let secret = "xoxb-1234567890123-1234567890123-CANARYabcdefghijklmnopqr";
    let r = post(
        &gw,
        &dev,
        "/v1/chat/completions",
        chat_to("m-hosted-zero", &format!("token {secret}")),
        &[],
    )
    .await;
    assert_denied(
        &r,
        "the prompt contains a secret and may not go to a hosted upstream",
    );
    // ci-embeddings-only
    let r = post(
        &gw,
        &ci,
        "/v1/chat/completions",
        chat_to("m-dev", "hi"),
        &[],
    )
    .await;
    assert_denied(&r, "CI jobs may only call embeddings models");
    let r = post(
        &gw,
        &ci,
        "/v1/embeddings",
        json!({"model": "m-embed", "input": "hello"}),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // agent-token-cap
    let mut big = chat_to("m-dev", "hi");
    big["max_tokens"] = json!(8000);
    assert_denied(
        &post(&gw, &bot, "/v1/chat/completions", big, &[]).await,
        "agents must set max_tokens, at most 4096",
    );
    let mut small = chat_to("m-dev", "hi");
    small["max_tokens"] = json!(1000);
    assert_eq!(
        post(&gw, &bot, "/v1/chat/completions", small, &[])
            .await
            .status,
        200
    );

    // The denial is in the audit log with the deciding policy and its facts.
    let out = gw.cli(&[
        "audit",
        "search",
        "--identity",
        "app",
        "--decision",
        "deny",
        "--format",
        "json",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("prod-data-self-hosted"), "{text}");
    assert!(text.contains("policy_input"));
    assert!(!text.contains(secret));
}

#[tokio::test]
async fn a_malformed_policy_file_keeps_the_previous_set_and_names_the_line() {
    let mock = MockUpstream::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("house.cedar");
    std::fs::write(
        &file,
        "@id(\"no-chat-on-secret-model\")\n@reason(\"this model is closed\")\nforbid (principal, action, resource == Model::\"closed\");\n",
    )
    .unwrap();
    let config = [
        upstream(
            "u",
            &mock,
            "deployment = \"self_hosted\"\nisolation = \"technical\"",
        ),
        model("closed", "u", "demo-chat"),
        model("open", "u", "demo-chat"),
        format!("[policy]\ndir = \"{}\"\n", dir.path().display()),
    ]
    .concat();
    let mut gw = TestGateway::start(&config).await;
    let admin = bootstrap_admin(&gw);
    assert_denied(
        &gw.openai("/v1/chat/completions", &chat_to("closed", "hi"))
            .await,
        "this model is closed",
    );

    // Line 3 refers to an attribute the schema does not have.
    std::fs::write(
        &file,
        "@id(\"no-chat-on-secret-model\")\n@reason(\"this model is closed\")\nforbid (principal, action, resource) when { context.no_such_thing == 1 };\n",
    )
    .unwrap();
    let r = admin_call(&gw, &admin, "POST", "/admin/v1/policies/reload", "").await;
    assert_eq!(r.status, 422, "{}", r.text());
    let problems = r.json()["error"]["problems"].to_string();
    assert!(problems.contains("house.cedar:3:"), "{problems}");
    // The previous set still enforces.
    assert_denied(
        &gw.openai("/v1/chat/completions", &chat_to("closed", "hi"))
            .await,
        "this model is closed",
    );
    assert_eq!(
        gw.openai("/v1/chat/completions", &chat_to("open", "hi"))
            .await
            .status,
        200
    );

    // SIGHUP: same outcome, logged.
    std::process::Command::new("kill")
        .args(["-HUP", &gw.pid().to_string()])
        .status()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        gw.logs().contains("policy reload rejected"),
        "{}",
        gw.logs()
    );
    assert!(gw.alive());

    // A good file is picked up by the next reload.
    std::fs::write(
        &file,
        "@id(\"close-open\")\n@reason(\"now this one is closed\")\nforbid (principal, action, resource == Model::\"open\");\n",
    )
    .unwrap();
    let r = admin_call(&gw, &admin, "POST", "/admin/v1/policies/reload", "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        gw.openai("/v1/chat/completions", &chat_to("closed", "hi"))
            .await
            .status,
        200
    );
    assert_denied(
        &gw.openai("/v1/chat/completions", &chat_to("open", "hi"))
            .await,
        "now this one is closed",
    );
    assert_eq!(r.json()["warnings"], serde_json::json!([]), "{}", r.text());

    // A forbid without @reason loads, and the answer says what it lacks.
    std::fs::write(
        &file,
        "@id(\"quiet\")\nforbid (principal, action, resource == Model::\"open\");\n",
    )
    .unwrap();
    let r = admin_call(&gw, &admin, "POST", "/admin/v1/policies/reload", "").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let warnings = r.json()["warnings"].to_string();
    assert!(
        warnings.contains("house.cedar") && warnings.contains("@reason"),
        "{}",
        r.text()
    );
    let out = gw.cli(&["audit", "search", "--kind", "control", "--format", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("policy.reject") && text.contains("policy.load"),
        "{text}"
    );
    gw.terminate();
}

#[tokio::test]
async fn just_in_time_grants_give_access_only_while_approved() {
    let mock = MockUpstream::start().await.unwrap();
    let config = [
        upstream(
            "u",
            &mock,
            "deployment = \"self_hosted\"\nisolation = \"technical\"",
        ),
        model("chat", "u", "demo-chat"),
        r#"
[grants]
max_duration = "8h"

[[roles]]
name = "prod-chat"
models = ["chat"]
actions = ["chat", "messages"]
jit_only = true
"#
        .to_owned(),
    ]
    .concat();
    let gw = TestGateway::start(&config).await;
    gw.new_identity("approver-1", "service", "prod");
    let ok = |args: &[&str]| {
        let out = gw.cli(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(&[
        "role",
        "assign",
        "--identity",
        "approver-1",
        "--role",
        "approver",
        "--by",
        "root",
    ]);
    let body = chat_to("chat", "hi");
    let call_chat = || gw.openai("/v1/chat/completions", &body);

    // No standing role: denied (least privilege), with the reason.
    let r = call_chat().await;
    assert_eq!(r.status, 403, "{}", r.text());
    // The role cannot be assigned standing.
    let out = gw.cli(&[
        "role",
        "assign",
        "--identity",
        "app",
        "--role",
        "prod-chat",
        "--by",
        "root",
    ]);
    assert!(!out.status.success());

    // Requested, not approved: still denied.
    let requested = ok(&[
        "grant",
        "request",
        "--identity",
        "app",
        "--role",
        "prod-chat",
        "--for",
        "3s",
        "--reason",
        "incident 42",
        "--by",
        "app",
        "--format",
        "json",
    ]);
    let grant: Value = serde_json::from_str(&requested).unwrap();
    let id = grant["id"].as_str().unwrap().to_owned();
    assert_eq!(call_chat().await.status, 403);
    // Self-approval is refused.
    let out = gw.cli(&["grant", "approve", &id, "--by", "app"]);
    assert!(!out.status.success());
    assert_eq!(call_chat().await.status, 403);

    // Approved: access, on the next request.
    ok(&["grant", "approve", &id, "--by", "approver-1"]);
    let served = eventually(20, Duration::from_millis(50), || async {
        call_chat().await.status == 200
    })
    .await;
    assert!(served, "the approved grant gives access");
    // ... until it expires (3 s), and not after.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert_eq!(call_chat().await.status, 403, "expired");
    // The expiry is in the audit log (recorded by the housekeeping pass).
    let recorded = eventually(40, Duration::from_millis(100), || async {
        let out = gw.cli(&["audit", "search", "--kind", "control", "--format", "json"]);
        let text = stdout(&out);
        text.contains("grant.expire") && text.contains(&id)
    })
    .await;
    assert!(recorded, "grant.expire recorded");

    // Revoke takes effect on the next request.
    let requested = ok(&[
        "grant",
        "request",
        "--identity",
        "app",
        "--role",
        "prod-chat",
        "--for",
        "1h",
        "--reason",
        "incident 43",
        "--by",
        "app",
        "--format",
        "json",
    ]);
    let id: String = serde_json::from_str::<Value>(&requested).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&["grant", "approve", &id, "--by", "approver-1"]);
    let served = eventually(20, Duration::from_millis(50), || async {
        call_chat().await.status == 200
    })
    .await;
    assert!(served);
    ok(&["grant", "revoke", &id, "--by", "approver-1"]);
    let refused = eventually(40, Duration::from_millis(50), || async {
        call_chat().await.status == 403
    })
    .await;
    assert!(refused, "revoked");
}

#[tokio::test]
async fn shadow_differences_are_recorded_and_replay_lists_changed_decisions() {
    let mock = MockUpstream::start().await.unwrap();
    let candidate = tempfile::tempdir().unwrap();
    std::fs::write(
        candidate.path().join("candidate.cedar"),
        "@id(\"close-chat\")\n@reason(\"chat is closed in the candidate set\")\nforbid (principal, action, resource == Model::\"chat\");\n",
    )
    .unwrap();
    let config = [
        upstream(
            "u",
            &mock,
            "deployment = \"self_hosted\"\nisolation = \"technical\"",
        ),
        model("chat", "u", "demo-chat"),
        model("other", "u", "demo-chat"),
        format!(
            "[policy]\nshadow_dir = \"{}\"\n",
            candidate.path().display()
        ),
    ]
    .concat();
    let gw = TestGateway::start(&config).await;
    // The shadow set is evaluated, never enforced.
    assert_eq!(
        gw.openai("/v1/chat/completions", &chat_to("chat", "hi"))
            .await
            .status,
        200
    );
    assert_eq!(
        gw.openai("/v1/chat/completions", &chat_to("other", "hi"))
            .await
            .status,
        200
    );
    let out = gw.cli(&["audit", "search", "--model", "chat", "--format", "json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"shadow_decision\":\"deny\""), "{text}");
    assert!(text.contains("close-chat"));
    let out = gw.cli(&["audit", "search", "--model", "other", "--format", "json"]);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("shadow_decision"));

    // Replay: the recorded allow for `chat` would become a deny; `other` stays.
    let out = gw.cli(&[
        "policy",
        "replay",
        "--policies",
        candidate.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("1 would change"), "{report}");
    assert!(
        report.contains("allow -> deny (chat is closed in the candidate set)"),
        "{report}"
    );
}

#[test]
fn policy_test_files_run_from_the_cli_and_fail_on_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("modelgate.toml");
    std::fs::write(&config, "").unwrap();
    let examples = examples_dir();
    let files: Vec<String> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".test.toml"))
        .collect();
    assert_eq!(files.len(), 6);
    let mut args = vec!["policy", "test", "--policies", examples.as_str()];
    args.extend(files.iter().map(String::as_str));
    let out = cli_at(&config, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A case that expects the wrong decision fails the run.
    let wrong = dir.path().join("wrong.test.toml");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let flipped = if text.contains("expect = \"deny\"") {
        text.replacen("expect = \"deny\"", "expect = \"allow\"", 1)
    } else {
        text.replacen("expect = \"allow\"", "expect = \"deny\"", 1)
    };
    std::fs::write(&wrong, flipped).unwrap();
    let out = cli_at(
        &config,
        &[
            "policy",
            "test",
            "--policies",
            &examples,
            wrong.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    // And a malformed policy directory is reported with file and line.
    let bad = dir.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    std::fs::write(
        bad.join("x.cedar"),
        "permit(principal, action, resource)\n  when { context.nope };\n",
    )
    .unwrap();
    let out = cli_at(&config, &["policy", "check", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("x.cedar:2:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
