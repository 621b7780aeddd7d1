//! The `modelgate-mock` binary: startup line, serving, SIGTERM, bad args.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::*;
use http::StatusCode;

const BIN: &str = env!("CARGO_BIN_EXE_modelgate-mock");

#[tokio::test]
async fn serves_until_sigterm() {
    let mut child = Command::new(BIN)
        .args(["--chunks", "4", "--latency-ms", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let base = line
        .strip_prefix("listening on ")
        .and_then(|s| s.strip_suffix('\n'))
        .unwrap_or_else(|| panic!("unexpected startup line {line:?}"))
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let r = post(
        &format!("{base}/v1/chat/completions"),
        &chat_body("hi", false),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["usage"]["completion_tokens"], 4);
    let r = call(http::Method::GET, &format!("{base}/_mock/requests"), "").await;
    assert_eq!(r.json().as_array().unwrap().len(), 1);

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn bad_args_exit_2() {
    let out = Command::new(BIN).arg("--frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--frobnicate"));
    let out = Command::new(BIN)
        .args(["--chunks", "many"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
