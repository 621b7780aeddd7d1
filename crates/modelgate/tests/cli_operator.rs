//! What an operator meets at the command line: `serve --dev` says which
//! configuration it ignores, `identity offboard` is not done by accident,
//! and `audit search` shows reasons, says when there is another page and
//! refuses a decision that does not exist.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::Value;

#[test]
fn dev_mode_says_it_ignores_the_configuration_in_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("modelgate.toml"),
        "[store]\npath = \"real.db\"\n",
    )
    .unwrap();
    let mut child = Command::new(binary())
        .current_dir(dir.path())
        .env_remove("MODELGATE_CONFIG")
        .args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let rx = stdout_lines(&mut child);
    let mut printed = String::new();
    while !printed.contains("export OPENAI_API_KEY=") {
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => printed += &format!("{line}\n"),
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        printed.contains("--dev ignores the configuration file modelgate.toml"),
        "{printed}"
    );
    assert!(!dir.path().join("real.db").exists());
}

fn config(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("modelgate.toml");
    std::fs::write(&path, TOKENS_SECTION).unwrap();
    path
}

fn create(config: &std::path::Path, name: &str) {
    let out = cli_at(
        config,
        &[
            "identity",
            "create",
            "--name",
            name,
            "--kind",
            "service",
            "--owner",
            "team",
            "--environment",
            "prod",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

fn status_of(config: &std::path::Path, name: &str) -> String {
    let out = cli_at(config, &["identity", "list", "--format", "json"]);
    let list: Value = serde_json::from_str(&stdout(&out)).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .map(|i| i["status"].as_str().unwrap().to_owned())
        .unwrap()
}

#[test]
fn offboard_without_a_terminal_needs_yes() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    create(&config, "billing");
    // `cli_at` runs with standard input closed, as a script would.
    let out = cli_at(&config, &["identity", "offboard", "billing"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("pass --yes"), "{err}");
    assert!(err.contains("not a terminal"), "{err}");
    assert_eq!(status_of(&config, "billing"), "active");
    let out = cli_at(&config, &["identity", "offboard", "billing", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status_of(&config, "billing"), "offboarded");
}

/// Runs `identity offboard NAME` on a pseudo-terminal (util-linux
/// `script`) with `answer` typed in; `None` where `script` is missing.
fn offboard_on_a_terminal(config: &std::path::Path, name: &str, answer: &str) -> Option<String> {
    use std::io::Write;
    let script = std::path::Path::new("/usr/bin/script");
    if !script.exists() {
        eprintln!("skipped: no /usr/bin/script to give the command a terminal");
        return None;
    }
    let command = format!(
        "MG_TEST_KEK='{TEST_KEK}' '{}' --config '{}' identity offboard {name}",
        binary(),
        config.display()
    );
    let mut child = Command::new(script)
        .args(["-qec", &command, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{answer}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some(format!("{}{}", stdout(&out), stderr(&out)))
}

#[test]
fn offboard_on_a_terminal_asks_for_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    create(&config, "billing");
    let Some(printed) = offboard_on_a_terminal(&config, "billing", "yes") else {
        return;
    };
    assert!(
        printed.contains("Type the identity's name to confirm"),
        "{printed}"
    );
    assert!(printed.contains("not confirmed"), "{printed}");
    assert_eq!(status_of(&config, "billing"), "active");
    let printed = offboard_on_a_terminal(&config, "billing", "billing").unwrap();
    assert!(printed.contains("offboarded billing"), "{printed}");
    assert_eq!(status_of(&config, "billing"), "offboarded");
}

#[test]
fn audit_search_pages_and_refuses_unknown_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir);
    for name in ["a1", "a2", "a3"] {
        create(&config, name);
    }
    // Page through with the hint each full page prints.
    let (mut seen, mut pages, mut after) = (String::new(), 0, "0".to_owned());
    loop {
        let out = cli_at(
            &config,
            &[
                "audit", "search", "--kind", "control", "--limit", "2", "--after", &after,
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        pages += 1;
        seen += &stdout(&out);
        let err = stderr(&out);
        match err.split("--after ").nth(1) {
            Some(rest) => after = rest.split_whitespace().next().unwrap().to_owned(),
            None => break,
        }
        assert!(pages < 20, "the hint never stops: {err}");
    }
    assert!(pages >= 2, "three records in pages of two: {seen}");
    for name in ["a1", "a2", "a3"] {
        assert!(seen.contains(name), "{name} in:\n{seen}");
    }

    let out = cli_at(&config, &["audit", "search", "--decision", "allowed"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("allowed"), "{err}");
    for valid in ["allow", "deny", "ok", "denied", "failed"] {
        assert!(err.contains(valid), "{valid} listed in: {err}");
    }
    // A page larger than the store serves is cut to its largest, and the
    // command says so.
    let out = cli_at(&config, &["audit", "search", "--limit", "10001"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("above the largest page; showing 10000"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn audit_search_shows_the_reason_of_a_refusal() {
    let mock = MockUpstream::start().await.unwrap();
    let body = format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"a-openai\", model = \"demo-chat\" }}]\n",
        upstreams_on(&mock, "a", "")
    );
    let gw = TestGateway::start(&body).await;
    let refused = gw
        .openai("/v1/chat/completions", &chat("nope", false))
        .await;
    assert_eq!(refused.status, 404);
    let mut reason = None;
    for _ in 0..100 {
        let out = gw.cli(&["audit", "search", "--kind", "request", "--format", "json"]);
        reason = stdout(&out)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find_map(|r| r["event"]["request"]["reason"].as_str().map(str::to_owned));
        if reason.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reason = reason.expect("the refusal was recorded with a reason");
    let out = gw.cli(&["audit", "search", "--kind", "request"]);
    let table = stdout(&out);
    let header = table.lines().next().unwrap();
    assert!(header.contains("REASON"), "{table}");
    assert!(
        table.lines().skip(1).any(|row| row.contains(&reason)),
        "{reason} in:\n{table}"
    );
}
