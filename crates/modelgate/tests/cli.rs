//! The command line: quick start, config errors, and management commands'
//! bad paths (clear message, non-zero exit, no secret echoed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[tokio::test]
async fn dev_mode_prints_exports_that_work() {
    let mut child = Command::new(binary())
        .args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = stdout_lines(&mut child);
    let mut exports = std::collections::HashMap::new();
    while exports.len() < 4 {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("dev mode printed its exports");
        if let Some((name, value)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
            exports.insert(name.to_owned(), value.to_owned());
        }
    }
    let base = &exports["OPENAI_BASE_URL"];
    let key = &exports["OPENAI_API_KEY"];
    assert!(key.starts_with("mgk_"));
    assert_eq!(&exports["ANTHROPIC_API_KEY"], key);
    let auth = format!("Bearer {key}");
    let r = call(
        "POST",
        &format!("{base}/chat/completions"),
        &[("authorization", &auth)],
        chat("demo-chat", false).to_string(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = call(
        "POST",
        &format!("{base}/embeddings"),
        &[("authorization", &auth)],
        r#"{"model":"demo-embed","input":"x"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let anthropic = &exports["ANTHROPIC_BASE_URL"];
    let r = call(
        "POST",
        &format!("{anthropic}/v1/messages"),
        &[("x-api-key", key)],
        messages("demo-chat", true).to_string(),
    )
    .await;
    assert!(r.text().contains("message_stop"));
    let _ = child.kill();
    let _ = child.wait();
}

fn write_config(dir: &tempfile::TempDir, body: &str) -> std::path::PathBuf {
    let path = dir.path().join("c.toml");
    let text = format!("{}{TOKENS_SECTION}{body}", store_section(dir.path(), "db"));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn literal_upstream_secret_is_refused_without_echo() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &dir,
        "[[upstreams]]\nname = \"o\"\nkind = \"openai\"\nbase_url = \"https://api.openai.com/v1\"\n\
         credential = \"sk-proj-LITERAL-CANARY\"\ndeployment = \"hosted\"\nregion = \"us\"\nisolation = \"contractual\"\n",
    );
    for args in [vec!["serve"], vec!["config", "check"]] {
        let out = cli_at(&config, &args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("upstreams[o].credential"), "{err}");
        assert!(!err.contains("LITERAL-CANARY"), "{err}");
    }
}

#[test]
fn missing_secret_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        &dir,
        "[[upstreams]]\nname = \"o\"\nkind = \"openai\"\nbase_url = \"https://api.openai.com/v1\"\n\
         credential = \"env:MG_SURELY_UNSET_VAR\"\ndeployment = \"hosted\"\nregion = \"us\"\nisolation = \"contractual\"\n",
    );
    let out = cli_at(&config, &["serve"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("MG_SURELY_UNSET_VAR"));
    let out = cli_at(&config, &["config", "check"]);
    assert!(!out.status.success());
}

#[test]
fn config_check_and_unknown_fields() {
    let dir = tempfile::tempdir().unwrap();
    let ok = write_config(&dir, "");
    let out = cli_at(&ok, &["config", "check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bad = write_config(&dir, "[limits]\nmax_body = 5\n");
    let out = cli_at(&bad, &["config", "check"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("max_body"));
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/modelgate.toml");
    let text = std::fs::read_to_string(example).unwrap();
    let example =
        modelgate_config::Config::from_toml(&text).expect("the documented example parses");
    modelgate_gateway::stages::screen::ScreenRules::new(
        &example.screen,
        &example.data_classes,
        &example.residency,
    )
    .expect("the example's screening rules and custom detectors compile");
}

#[test]
fn management_commands_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&dir, "[keys]\nmax_lifetime = \"30d\"\n");
    let ok = |args: &[&str]| {
        let out = cli_at(&config, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let fails = |args: &[&str], needle: &str| {
        let out = cli_at(&config, args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    };
    ok(&[
        "identity",
        "create",
        "--name",
        "billing-ci",
        "--kind",
        "ci_job",
        "--owner",
        "payments-team",
        "--environment",
        "prod",
        "--purpose",
        "nightly",
    ]);
    fails(
        &[
            "identity",
            "create",
            "--name",
            "billing-ci",
            "--kind",
            "ci_job",
            "--owner",
            "x",
            "--environment",
            "prod",
        ],
        "",
    );
    fails(
        &[
            "identity",
            "create",
            "--name",
            "Bad Name",
            "--kind",
            "service",
            "--owner",
            "x",
            "--environment",
            "prod",
        ],
        "name",
    );
    fails(
        &[
            "identity",
            "create",
            "--name",
            "ok",
            "--kind",
            "robot",
            "--owner",
            "x",
            "--environment",
            "prod",
        ],
        "kind",
    );
    fails(
        &[
            "identity",
            "create",
            "--name",
            "ok2",
            "--kind",
            "service",
            "--owner",
            "",
            "--environment",
            "prod",
        ],
        "owner",
    );
    fails(
        &[
            "key",
            "create",
            "--identity",
            "billing-ci",
            "--expires-in",
            "400d",
        ],
        "at most",
    );
    fails(
        &[
            "key",
            "create",
            "--identity",
            "billing-ci",
            "--expires-in",
            "soon",
        ],
        "expires-in",
    );
    fails(
        &[
            "key",
            "create",
            "--identity",
            "nobody",
            "--expires-in",
            "1d",
        ],
        "nobody",
    );
    fails(&["key", "create", "--identity", "billing-ci"], "expires-in");
    fails(&["key", "revoke", "key_doesnotexist"], "");
    let created = ok(&[
        "key",
        "create",
        "--identity",
        "billing-ci",
        "--expires-in",
        "7d",
        "--label",
        "ci",
    ]);
    assert!(created.contains("mgk_"));
    let listing = ok(&["key", "list"]);
    assert!(
        listing.contains("billing-ci") && listing.contains("active"),
        "{listing}"
    );
    let key = created
        .lines()
        .find_map(|l| l.strip_prefix("key:"))
        .unwrap()
        .trim();
    assert!(!listing.contains(key), "the key is shown once only");
    let identities = ok(&["identity", "list", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&identities).unwrap();
    assert_eq!(v[0]["owner"], "payments-team");
    assert_eq!(v[0]["kind"], "ci_job");
}

#[test]
fn credential_commands_refuse_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(&dir, "");
    let fails = |args: &[&str], needle: &str| {
        let out = cli_at(&config, args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    };
    fails(&["key", "rotate", "key_doesnotexist"], "no API key");
    fails(&["identity", "offboard", "nobody", "--yes"], "nobody");
    fails(&["identity", "disable", "nobody"], "nobody");
    fails(
        &["token", "revoke", "jti-1", "--identity", "nobody"],
        "nobody",
    );
    fails(&["admin", "grant", "--identity", "nobody"], "nobody");
    fails(
        &["admin", "bootstrap", "--expires-in", "never"],
        "expires-in",
    );
    assert!(cli_at(&config, &["admin", "bootstrap"]).status.success());
    fails(&["admin", "bootstrap"], "already");
    let out = cli_at(&config, &["kek", "generate"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim().len(),
        44,
        "32 bytes, base64"
    );

    // Without a key-encryption key the gateway refuses to start, and says why.
    let no_kek = dir.path().join("no-kek.toml");
    std::fs::write(&no_kek, store_section(dir.path(), "db2")).unwrap();
    let out = cli_at(&no_kek, &["serve"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tokens.kek is required"));
    // A malformed one is refused without echoing it.
    std::fs::write(dir.path().join("kek"), "not-a-CANARY-key\n").unwrap();
    let bad_kek = dir.path().join("bad-kek.toml");
    std::fs::write(
        &bad_kek,
        format!(
            "{}[tokens]\nkek = \"file:{}\"\n",
            store_section(dir.path(), "db3"),
            dir.path().join("kek").display()
        ),
    )
    .unwrap();
    let out = cli_at(&bad_kek, &["serve"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("tokens.kek") && !err.contains("CANARY"),
        "{err}"
    );
    // A wrong one cannot open existing signing keys.
    let other = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    std::fs::write(dir.path().join("kek"), format!("{other}\n")).unwrap();
    let wrong = dir.path().join("wrong-kek.toml");
    std::fs::write(
        &wrong,
        format!(
            "{}[tokens]\nkek = \"file:{}\"\n",
            store_section(dir.path(), "db"),
            dir.path().join("kek").display()
        ),
    )
    .unwrap();
    assert!(
        cli_at(&config, &["signing-key", "rotate"]).status.success(),
        "creates keys under the test KEK"
    );
    let out = cli_at(&wrong, &["signing-key", "list"]);
    assert!(
        !out.status.success(),
        "a wrong KEK cannot open the signing keys"
    );
}

#[test]
fn issuer_rules_are_validated_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let weak = write_config(
        &dir,
        "[[issuers]]\nname = \"gh\"\npreset = \"github_actions\"\naudience = \"mg\"\n\
         [[issuers.rules]]\nidentity = \"ci\"\nclaims = { repository = \"acme/billing\" }\n",
    );
    for args in [
        vec!["config", "check"],
        vec!["serve"],
        vec!["issuer", "list"],
    ] {
        let out = cli_at(&weak, &args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("issuers[gh]") && err.contains("sub"),
            "{args:?}: {err}"
        );
    }
    let good = write_config(
        &dir,
        "[[issuers]]\nname = \"gh\"\npreset = \"github_actions\"\naudience = \"mg\"\n\
         [[issuers.rules]]\nidentity = \"ci\"\nclaims = { sub = \"repo:acme/billing:ref:refs/heads/main\" }\n",
    );
    let out = cli_at(&good, &["issuer", "list", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v[0]["issuer"],
        "https://token.actions.githubusercontent.com"
    );
    assert_eq!(v[0]["algorithms"][0], "RS256");
}
