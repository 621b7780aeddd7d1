//! Spawning the gateway under test: `modelgate serve` with the test
//! environment, its logs collected, and the addresses it prints read back.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{TEST_KEK, UPSTREAM_CANARY, binary};

/// A gateway process and the addresses it printed.
pub(super) struct Started {
    pub child: Child,
    pub addr: SocketAddr,
    pub metrics: Option<SocketAddr>,
    pub admin: Option<SocketAddr>,
    pub logs: Arc<Mutex<String>>,
}

/// The address on a `{prefix} http://ADDR` (or `https://`) line.
fn printed_addr(line: &str, prefix: &str) -> Option<SocketAddr> {
    let rest = line.trim().strip_prefix(prefix)?;
    rest.strip_prefix(" http://")
        .or_else(|| rest.strip_prefix(" https://"))?
        .parse()
        .ok()
}

/// Spawns `modelgate serve` on `config` and waits for its addresses: the
/// `listening on` line (`http://` or, with `[server.tls]`, `https://`), then a `metrics on` line unless the config turns
/// metrics off, and an `admin on` line when it sets `admin_listen`. With
/// `open_files`, the process runs under `ulimit -n` (soft and hard limit).
pub(super) fn spawn_gateway(config: &std::path::Path, open_files: Option<u64>) -> Started {
    let text = std::fs::read_to_string(config).unwrap();
    let expect_metrics = !text.contains("metrics_listen = \"off\"");
    let expect_admin = text.contains("admin_listen");
    let mut command = match open_files {
        None => Command::new(binary()),
        Some(limit) => {
            let mut sh = Command::new("sh");
            sh.arg("-c")
                .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                .arg(binary());
            sh
        }
    };
    let mut child = command
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("MG_TEST_UPSTREAM_KEY", UPSTREAM_CANARY)
        .env("MG_TEST_KEK", TEST_KEK)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let logs = Arc::new(Mutex::new(String::new()));
    let mut stderr = child.stderr.take().unwrap();
    let sink = logs.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Send every line; keep draining so the child never blocks on a
        // full pipe.
        let mut line = String::new();
        while stdout.read_line(&mut line).is_ok_and(|n| n > 0) {
            let _ = tx.send(std::mem::take(&mut line));
        }
    });
    let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
    // The startup line goes into the logs too, so a test can read its scheme.
    logs.lock().unwrap().push_str(&line);
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|rest| {
            rest.strip_prefix("http://")
                .or_else(|| rest.strip_prefix("https://"))
        })
        .unwrap_or_else(|| panic!("gateway did not start: {line:?}\n{}", logs.lock().unwrap()))
        .parse()
        .unwrap();
    let (mut metrics, mut admin) = (None, None);
    while (expect_metrics && metrics.is_none()) || (expect_admin && admin.is_none()) {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no listener lines\n{}", logs.lock().unwrap()));
        metrics = metrics.or(printed_addr(&line, "metrics on"));
        admin = admin.or(printed_addr(&line, "admin on"));
    }
    Started {
        child,
        addr,
        metrics,
        admin,
        logs,
    }
}
