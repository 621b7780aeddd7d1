//! The LiteLLM proxy side of the comparison: install the pinned release
//! into `bench/.venv-litellm`, write its configuration (one model routed to
//! the same mock), start it on a free loopback port and wait until it
//! answers a chat request.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http::{HeaderMap, HeaderValue, Uri};

use crate::loadgen::{self, HttpClient, RequestSpec};
use crate::process::{self, Running};
use crate::scenario::{self, PUBLIC_MODEL, UPSTREAM_MODEL};

/// LiteLLM's master key for the run (only valid on loopback, for one run).
pub const MASTER_KEY: &str = "sk-modelgate-bench-master";

/// How long LiteLLM may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// How long installing may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);

/// The repository's `bench/` folder: next to this crate's source when run
/// from the source tree, else `./bench`.
pub fn bench_dir() -> PathBuf {
    let from_source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench");
    if from_source.join("litellm-requirements.txt").is_file() {
        from_source.canonicalize().unwrap_or(from_source)
    } else {
        PathBuf::from("bench")
    }
}

/// Creates `bench/.venv-litellm` and installs `bench/litellm-requirements.txt`
/// unless the installed set matches; returns the `litellm` executable.
pub fn install(bench: &Path, log: &Path) -> Result<PathBuf> {
    let requirements = bench.join("litellm-requirements.txt");
    let wanted = std::fs::read(&requirements)
        .with_context(|| format!("cannot read {}", requirements.display()))?;
    let venv = bench.join(".venv-litellm");
    let marker = venv.join(".requirements");
    let exe = venv.join("bin/litellm");
    if exe.is_file() && std::fs::read(&marker).ok().as_deref() == Some(&wanted[..]) {
        return Ok(exe);
    }
    if !venv.join("bin/python").is_file() {
        eprintln!("==> creating {}", venv.display());
        let mut venv_cmd = Command::new("python3");
        venv_cmd.args(["-m", "venv"]).arg(&venv);
        run_logged(venv_cmd, log)?;
    }
    eprintln!(
        "==> installing {} (pip; about a minute; log {})",
        requirements.display(),
        log.display()
    );
    let mut pip = Command::new(venv.join("bin/pip"));
    pip.args(["install", "--disable-pip-version-check", "-r"])
        .arg(&requirements);
    run_logged(pip, log)?;
    if !exe.is_file() {
        bail!("pip finished but {} is missing", exe.display());
    }
    std::fs::write(&marker, &wanted)
        .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(exe)
}

/// Runs a command with output appended to `log`, within the install timeout.
fn run_logged(mut cmd: Command, log: &Path) -> Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("cannot open {}", log.display()))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::from(file.try_clone()?))
        .stderr(Stdio::from(file))
        .spawn()
        .with_context(|| format!("cannot run {:?}", cmd.get_program()))?;
    let deadline = Instant::now() + INSTALL_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            if status.success() {
                return Ok(());
            }
            bail!(
                "{:?} failed ({status}); last lines of {}:\n{}",
                cmd.get_program(),
                log.display(),
                process::log_tail(log)
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{:?} took longer than {INSTALL_TIMEOUT:?}",
                cmd.get_program()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The proxy configuration: one model, `bench-chat`, at the mock.
pub fn config_yaml(mock: SocketAddr) -> String {
    format!(
        "model_list:\n\
         \x20 - model_name: {PUBLIC_MODEL}\n\
         \x20   litellm_params:\n\
         \x20     model: openai/{UPSTREAM_MODEL}\n\
         \x20     api_base: http://{mock}/v1\n\
         \x20     api_key: sk-fake\n\
         litellm_settings:\n\
         \x20 set_verbose: false\n\
         \x20 telemetry: false\n\
         general_settings:\n\
         \x20 master_key: {MASTER_KEY}\n"
    )
}

/// A free loopback port (bound, then released for the child to take).
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Starts the proxy and waits until it serves a chat request through the
/// mock; returns the process and its address.
pub async fn start(
    exe: &Path,
    dir: &Path,
    mock: SocketAddr,
    client: &HttpClient,
) -> Result<(Running, SocketAddr)> {
    let config = dir.join("litellm.yaml");
    std::fs::write(&config, config_yaml(mock))
        .with_context(|| format!("cannot write {}", config.display()))?;
    let port = free_port()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut cmd = Command::new(exe);
    cmd.arg("--config")
        .arg(&config)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--telemetry", "False"])
        .current_dir(dir)
        .env("LITELLM_LOG", "ERROR")
        .env("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        .env_remove("DATABASE_URL");
    let (mut running, lines) = process::spawn("litellm", cmd, &dir.join("litellm.log"))?;
    drop(lines);
    let spec = chat_spec(addr)?;
    let started = Instant::now();
    let live: Uri = format!("http://{addr}/health/liveliness").parse()?;
    loop {
        running.check_alive()?;
        if started.elapsed() > READY_TIMEOUT {
            bail!(
                "LiteLLM was not ready within {READY_TIMEOUT:?}; last lines of {}:\n{}",
                running.log.display(),
                process::log_tail(&running.log)
            );
        }
        let alive = matches!(
            tokio::time::timeout(Duration::from_secs(2), client.get(live.clone())).await,
            Ok(Ok(resp)) if resp.status().is_success()
        );
        if alive {
            match loadgen::send(client, &spec).await {
                Ok(()) => {
                    eprintln!("    LiteLLM ready after {:.1?}", started.elapsed());
                    return Ok((running, addr));
                }
                Err(e) if started.elapsed() > READY_TIMEOUT / 2 => {
                    bail!("LiteLLM is live but a chat request through it fails: {e}")
                }
                Err(_) => {}
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn chat_spec(addr: SocketAddr) -> Result<RequestSpec> {
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {MASTER_KEY}"))?,
    );
    Ok(RequestSpec {
        uri: format!("http://{addr}/v1/chat/completions").parse()?,
        headers,
        body: scenario::request_body(scenario::CHAT, PUBLIC_MODEL).into(),
        stream: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_points_at_the_mock_with_a_master_key() {
        let y = config_yaml("127.0.0.1:5555".parse().unwrap());
        assert!(y.contains("  - model_name: bench-chat\n"));
        assert!(y.contains("      model: openai/demo-chat\n"));
        assert!(y.contains("      api_base: http://127.0.0.1:5555/v1\n"));
        assert!(y.contains(&format!("  master_key: {MASTER_KEY}\n")));
    }

    #[test]
    fn requirements_are_pinned_to_a_safe_release() {
        let text = std::fs::read_to_string(bench_dir().join("litellm-requirements.txt")).unwrap();
        let pins: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert_eq!(pins, ["litellm[proxy]==1.81.16"]);
    }
}
