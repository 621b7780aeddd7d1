//! A file-size limit (`ulimit -f`, or a disk the process may not grow a
//! file on) never kills the process: the command or the gateway's start
//! fails with an error that names the limit, and nothing is half-written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;

fn config(mock: &MockHandle) -> String {
    format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"a-openai\", model = \"demo-chat\" }}]\n",
        upstreams_on(mock, "a", "")
    )
}

/// Runs the binary under `prlimit --fsize=BYTES` (soft and hard), killed
/// after a minute if it has not exited.
fn under_file_size_limit(
    bytes: u64,
    config: &std::path::Path,
    args: &[&str],
) -> std::process::Output {
    let mut child = std::process::Command::new("prlimit")
        .arg(format!("--fsize={bytes}"))
        .arg("--")
        .arg(binary())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("MG_TEST_UPSTREAM_KEY", UPSTREAM_CANARY)
        .env("MG_TEST_KEK", TEST_KEK)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{args:?} did not exit under the file-size limit");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn a_store_at_the_file_size_limit_is_an_error_not_a_kill() {
    use std::os::unix::process::ExitStatusExt;
    let mock = MockUpstream::start().await.unwrap();
    // The store's own file meets the limit: SQLite whatever the backend
    // switch says (a PostgreSQL store's files are the server's).
    let mut gw = TestGateway::builder()
        .sqlite_only()
        .start(&config(&mock))
        .await;
    gw.terminate();
    // No file may grow past one page: the first write to the WAL fails.
    let cli = under_file_size_limit(
        4096,
        &gw.config,
        &[
            "identity",
            "create",
            "--name",
            "late",
            "--kind",
            "service",
            "--owner",
            "team-a@example.com",
            "--environment",
            "prod",
        ],
    );
    assert_eq!(
        cli.status.signal(),
        None,
        "killed by a signal: {:?}",
        cli.status
    );
    assert!(!cli.status.success());
    let err = stderr(&cli);
    assert!(err.contains("RLIMIT_FSIZE"), "no reason given: {err}");
    // Nothing was half-written: without the limit the store works and
    // holds no `late`.
    let listed = ok(gw.cli(&["identity", "list", "--format", "json"]));
    assert!(!listed.contains("\"late\""), "{listed}");

    // `serve` on that store says why it cannot start, and exits.
    let serve = under_file_size_limit(4096, &gw.config, &["serve"]);
    assert_eq!(
        serve.status.signal(),
        None,
        "killed by a signal: {:?}",
        serve.status
    );
    assert!(!serve.status.success());
    let err = stderr(&serve);
    assert!(err.contains("RLIMIT_FSIZE"), "no reason given: {err}");
}
