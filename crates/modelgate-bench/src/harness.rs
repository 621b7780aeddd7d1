//! The running parts of a benchmark: the mock upstream, the gateways and
//! LiteLLM a scenario needs, and the loop over a scenario's load points
//! (warm-up, CPU and memory samples around the measured phase, one row per
//! load point); also the open-streams phase.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http::{HeaderMap, HeaderValue};
use modelgate_mock::Behavior;

use crate::cli::Settings;
use crate::gateway_config::{self, FragmentPaths};
use crate::loadgen::{self, Bounds, HttpClient, Load, RequestSpec};
use crate::process::{self, Running};
use crate::report::{self, Row};
use crate::scenario::{self, AuthKind, PUBLIC_MODEL, Scenario, Target, UPSTREAM_MODEL};
use crate::{litellm, policyset, streams};

/// How long the mock and the gateway may take to print their address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The running parts shared by every scenario.
pub struct Harness {
    /// The resolved settings.
    pub s: Settings,
    /// Whether the binaries are debug builds.
    pub debug_bins: bool,
    /// Load averages before anything started.
    pub load_at_start: String,
    tmp: tempfile::TempDir,
    gateway_bin: PathBuf,
    mock: Running,
    mock_addr: SocketAddr,
    base_behavior: Behavior,
    control: HttpClient,
    api_key: Option<String>,
    role_assigned: bool,
    policy_dir: Option<PathBuf>,
    audit_root: Option<tempfile::TempDir>,
    gateway_base: Option<String>,
    gateways_started: usize,
    clock_ticks: u64,
    litellm: Option<Result<PathBuf, String>>,
}

/// What serves a scenario's requests.
struct Endpoint {
    addr: SocketAddr,
    process: Option<Running>,
    /// An access token obtained from this gateway (`AuthKind::AccessToken`).
    access_token: Option<String>,
    /// JSON-lines audit files of this gateway, removed after the scenario.
    audit_dir: PathBuf,
}

/// A started gateway.
struct StartedGateway {
    running: Running,
    addr: SocketAddr,
    audit_dir: PathBuf,
}

/// Finds a binary in `--bin-dir`, or says how to build it.
fn binary(s: &Settings, name: &str) -> Result<PathBuf> {
    let path = s.bin_dir.join(name);
    if path.is_file() {
        return Ok(path);
    }
    let build = if s.bin_dir.ends_with("debug") {
        "cargo build -p modelgate -p modelgate-mock"
    } else {
        "cargo build --release -p modelgate -p modelgate-mock -p modelgate-bench"
    };
    bail!(
        "{} not found: run `{build}` (or point --bin-dir at the binaries)",
        path.display()
    )
}

impl Harness {
    /// Finds the binaries, starts the mock and, when `with_litellm`,
    /// installs LiteLLM (a failure is kept and reported as a skip).
    pub fn start(s: Settings, with_litellm: bool) -> Result<Harness> {
        let gateway_bin = binary(&s, "modelgate")?;
        let mock_bin = binary(&s, "modelgate-mock")?;
        let busy = if s.smoke {
            None
        } else {
            process::cpu_busy(Duration::from_secs(1))
        };
        let load_at_start = match busy {
            Some(b) => format!("{} (CPUs {:.0}% busy)", process::load_average(), b * 100.0),
            None => process::load_average(),
        };
        if busy.is_some_and(|b| b > 0.1) {
            eprintln!(
                "warning: the CPUs were {:.0}% busy before the run: other work shares them, expect noise",
                busy.unwrap_or(0.0) * 100.0
            );
        }
        if s.bin_dir.ends_with("debug") && !s.smoke {
            eprintln!(
                "warning: debug binaries from {}: the numbers mean little",
                s.bin_dir.display()
            );
        }
        let needed_fds = (s.streams as u64) * 2 + 256;
        if let Some(limit) = process::fd_soft_limit().filter(|&l| l < needed_fds) {
            eprintln!(
                "warning: open-file limit {limit} < {needed_fds} needed for {} streams; raise it with `ulimit -n` (bench/run.sh does)",
                s.streams
            );
        }
        let tmp = tempfile::Builder::new()
            .prefix("modelgate-bench-")
            .tempdir()
            .context("cannot create a temporary directory")?;
        let mut mock_cmd = Command::new(&mock_bin);
        mock_cmd
            .args(["--listen", "127.0.0.1:0", "--no-record"])
            .args(["--latency-ms", &s.mock_latency_ms.to_string()])
            .args(["--chunks", &s.chunks.to_string()]);
        let (mock, mock_addr) = process::spawn_listening(
            "modelgate-mock",
            mock_cmd,
            &tmp.path().join("mock.log"),
            START_TIMEOUT,
        )?;
        eprintln!("==> mock upstream on {mock_addr} (pid {})", mock.pid);
        let (clock_ticks, _) = process::clock_ticks();
        let mut h = Harness {
            debug_bins: false,
            load_at_start,
            base_behavior: Behavior {
                latency_ms: s.mock_latency_ms,
                chunks: Some(s.chunks),
                ..Behavior::default()
            },
            control: loadgen::client(),
            s,
            tmp,
            gateway_bin,
            mock,
            mock_addr,
            api_key: None,
            role_assigned: false,
            policy_dir: None,
            audit_root: None,
            gateway_base: None,
            gateways_started: 0,
            clock_ticks,
            litellm: None,
        };
        if with_litellm {
            let log = h.tmp.path().join("litellm-install.log");
            h.litellm =
                Some(litellm::install(&litellm::bench_dir(), &log).map_err(|e| format!("{e:#}")));
        }
        h.debug_bins = h.s.bin_dir.ends_with("debug");
        Ok(h)
    }

    /// Removes the temporary directory unless `--keep-temp` (then it is
    /// printed).
    pub fn finish(mut self) -> Result<()> {
        self.mock.check_alive()?;
        if self.s.keep_temp {
            let kept = self.tmp.keep();
            eprintln!("==> kept {}", kept.display());
        }
        Ok(())
    }
}

/// Starts what a scenario talks to.
async fn endpoint(h: &mut Harness, sc: &Scenario) -> Result<Endpoint> {
    match sc.target {
        Target::Direct => Ok(Endpoint {
            addr: h.mock_addr,
            process: None,
            access_token: None,
            audit_dir: PathBuf::new(),
        }),
        Target::Gateway { config } => {
            let g = start_gateway(h, config)?;
            let access_token = match sc.auth {
                AuthKind::AccessToken => Some(access_token(h, g.addr).await?),
                _ => None,
            };
            Ok(Endpoint {
                addr: g.addr,
                process: Some(g.running),
                access_token,
                audit_dir: g.audit_dir,
            })
        }
        Target::Litellm => {
            let exe = match &h.litellm {
                Some(Ok(exe)) => exe.clone(),
                Some(Err(e)) => bail!("installing LiteLLM failed: {e}"),
                None => bail!("LiteLLM was not installed"),
            };
            eprintln!("==> starting LiteLLM (up to 120 s)");
            let (running, addr) =
                litellm::start(&exe, h.tmp.path(), h.mock_addr, &h.control).await?;
            Ok(Endpoint {
                addr,
                process: Some(running),
                access_token: None,
                audit_dir: PathBuf::new(),
            })
        }
    }
}

/// Exchanges the bench API key for an access token at the gateway's token
/// endpoint (`client_credentials`, the key as client secret).
async fn access_token(h: &Harness, addr: SocketAddr) -> Result<String> {
    let key = h.api_key.as_deref().context("no API key provisioned")?;
    let answer = loadgen::post_form(
        &h.control,
        &format!("http://{addr}/oauth2/token"),
        &[("grant_type", "client_credentials"), ("client_secret", key)],
    )
    .await
    .context("exchanging the API key for an access token")?;
    let token = answer["access_token"]
        .as_str()
        .context("the token endpoint answered without an access_token")?;
    let expires_in = answer["expires_in"].as_u64().unwrap_or(0);
    eprintln!("    access token obtained (expires in {expires_in} s)");
    Ok(token.to_owned())
}

/// The bench policy set's directory, written on first use.
fn policy_dir(h: &mut Harness) -> Result<PathBuf> {
    if let Some(dir) = &h.policy_dir {
        return Ok(dir.clone());
    }
    let dir = h.tmp.path().join("policies");
    policyset::write_policy_dir(&dir)?;
    eprintln!(
        "==> bench policy set in {}: {} roles and {} Cedar policies in {} files",
        dir.display(),
        policyset::role_count(),
        policyset::cedar_policy_count(),
        policyset::CEDAR_FILES.len()
    );
    h.policy_dir = Some(dir.clone());
    Ok(dir)
}

/// A fresh directory for one gateway's audit files: on tmpfs
/// (`/dev/shm`) when there is one, so that no disk sync is involved.
fn audit_dir(h: &mut Harness, n: usize) -> Result<PathBuf> {
    if h.audit_root.is_none() {
        let shm = Path::new("/dev/shm");
        let mut b = tempfile::Builder::new();
        b.prefix("modelgate-bench-audit-");
        let root = if shm.is_dir() {
            b.tempdir_in(shm)
        } else {
            b.tempdir_in(h.tmp.path())
        }
        .context("cannot create a directory for audit files")?;
        h.audit_root = Some(root);
    }
    let root = h.audit_root.as_ref().context("audit root missing")?;
    Ok(root.path().join(format!("gateway-{n}")))
}

/// The base gateway configuration this `modelgate` binary accepts, decided
/// once: with a `[tokens]` key-encryption key (a fresh one in the temporary
/// directory) when the binary knows access tokens (where it is required),
/// without it when it does not (it refuses the unknown table).
fn gateway_base(h: &mut Harness) -> Result<String> {
    if let Some(base) = &h.gateway_base {
        return Ok(base.clone());
    }
    let dir = h.tmp.path();
    let base = gateway_config::base_gateway_config(h.mock_addr, &dir.join("store.db"));
    let kek = dir.join("kek");
    let mut random = [0u8; 32];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut random)
        .context("cannot read /dev/urandom")?;
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&kek, hex).with_context(|| format!("cannot write {}", kek.display()))?;
    let with_tokens = gateway_config::merge_config(&base, &gateway_config::tokens_fragment(&kek));
    let probe = dir.join("probe.toml");
    std::fs::write(&probe, &with_tokens)
        .with_context(|| format!("cannot write {}", probe.display()))?;
    let mut check = Command::new(&h.gateway_bin);
    check.arg("--config").arg(&probe).args(["config", "check"]);
    let chosen = match process::run_to_end(check) {
        Ok(_) => with_tokens,
        Err(e) if format!("{e:#}").contains("unknown field `tokens`") => base,
        Err(e) => return Err(e.context("the generated gateway configuration does not check")),
    };
    h.gateway_base = Some(chosen.clone());
    Ok(chosen)
}

/// Writes a gateway configuration (base + `fragment` with its
/// placeholders filled), provisions the bench identity and key on first
/// use (and assigns it the bench role on first use of a configuration
/// with roles), and starts `modelgate serve`.
fn start_gateway(h: &mut Harness, fragment: &str) -> Result<StartedGateway> {
    h.gateways_started += 1;
    let n = h.gateways_started;
    let base = gateway_base(h)?;
    let policies = policy_dir(h)?;
    let audit = audit_dir(h, n)?;
    let filled = gateway_config::fill_fragment(
        fragment,
        FragmentPaths {
            roles: policyset::ROLES_TOML,
            policy_dir: &policies,
            audit_dir: &audit,
        },
    );
    let with_roles = gateway_config::has_roles(fragment);
    let dir = h.tmp.path();
    let config = dir.join(format!("gateway-{n}.toml"));
    std::fs::write(&config, gateway_config::merge_config(&base, &filled))
        .with_context(|| format!("cannot write {}", config.display()))?;
    let cli = |args: &[&str]| {
        let mut cmd = Command::new(&h.gateway_bin);
        cmd.arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("RUST_LOG");
        cmd
    };
    if h.api_key.is_none() {
        process::run_to_end(cli(&[
            "identity",
            "create",
            "--name",
            "bench",
            "--kind",
            "service",
            "--owner",
            "bench@localhost",
            "--environment",
            "prod",
        ]))?;
        let out = process::run_to_end(cli(&[
            "key",
            "create",
            "--identity",
            "bench",
            "--expires-in",
            "1d",
            "--format",
            "json",
        ]))?;
        let v: serde_json::Value = serde_json::from_str(out.trim()).context("key create output")?;
        let key = v["key"].as_str().context("key create printed no key")?;
        h.api_key = Some(key.to_owned());
    }
    if with_roles && !h.role_assigned {
        process::run_to_end(cli(&[
            "role",
            "assign",
            "--identity",
            "bench",
            "--role",
            policyset::BENCH_ROLE,
            "--by",
            "bench",
        ]))?;
        h.role_assigned = true;
    }
    let log = dir.join(format!("gateway-{n}.log"));
    let (running, addr) =
        process::spawn_listening("modelgate", cli(&["serve"]), &log, START_TIMEOUT)?;
    eprintln!(
        "==> gateway on {addr} (pid {}, config {}, log {})",
        running.pid,
        config.display(),
        log.display()
    );
    Ok(StartedGateway {
        running,
        addr,
        audit_dir: audit,
    })
}

/// The request of a scenario against `addr`.
fn request_spec(h: &Harness, sc: &Scenario, ep: &Endpoint) -> Result<RequestSpec> {
    let addr = ep.addr;
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let bearer = match sc.auth {
        AuthKind::None => None,
        AuthKind::ApiKey => Some(h.api_key.clone().context("no API key provisioned")?),
        AuthKind::AccessToken => Some(
            ep.access_token
                .clone()
                .context("no access token obtained")?,
        ),
        AuthKind::LitellmMasterKey => Some(litellm::MASTER_KEY.to_owned()),
    };
    if let Some(token) = bearer {
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}"))?,
        );
    }
    let model = if sc.target == Target::Direct {
        UPSTREAM_MODEL
    } else {
        PUBLIC_MODEL
    };
    Ok(RequestSpec {
        uri: format!("http://{addr}/v1/chat/completions").parse()?,
        headers,
        body: scenario::request_body(sc.request, model).into(),
        stream: sc.request.stream,
    })
}

/// Every load point of one scenario, in one round (1-based).
pub async fn run_scenario(h: &mut Harness, sc: &Scenario, round: usize) -> Result<Vec<Row>> {
    eprintln!("==> scenario {} ({})", sc.name, sc.about);
    let mut ep = endpoint(h, sc).await?;
    let spec = Arc::new(request_spec(h, sc, &ep)?);
    check_one_request(&h.control, sc, &spec, ep.process.as_ref()).await?;
    let mut loads: Vec<Load> =
        h.s.concurrency
            .iter()
            .map(|&c| Load::Closed { concurrency: c })
            .collect();
    if let Some(rate) = h.s.rate {
        loads.push(Load::Open {
            rate,
            workers: h.s.rate_workers,
        });
    }
    let mut rows = Vec::new();
    for load in loads {
        let clients: Vec<HttpClient> = (0..load.workers()).map(|_| loadgen::client()).collect();
        let warm = Bounds {
            duration: h.s.warmup,
            requests: Some(h.s.warmup_requests),
        };
        let warm_load = Load::Closed {
            concurrency: load.workers(),
        };
        loadgen::run(&clients, Arc::clone(&spec), warm_load, warm).await?;
        let pid = ep.process.as_ref().map(|p| p.pid);
        let before = pid.map(process::cpu_ticks).transpose()?;
        let bounds = Bounds {
            duration: h.s.duration,
            requests: h.s.requests,
        };
        let res = loadgen::run(&clients, Arc::clone(&spec), load, bounds).await?;
        let after = pid.map(process::cpu_ticks).transpose()?;
        let memory = pid.map(process::memory).transpose()?;
        if let Some(p) = ep.process.as_mut() {
            p.check_alive()?;
        }
        h.mock.check_alive()?;
        let total = res.ok + res.errors;
        if res.ok == 0 {
            bail!(
                "{} {}: every request failed: {:?}",
                sc.name,
                load.label(),
                res.error_samples
            );
        }
        let cpu_s_per_1k = before.zip(after).map(|(b, a)| {
            a.saturating_sub(b) as f64 / h.clock_ticks as f64 / total as f64 * 1000.0
        });
        let hist = &res.histogram;
        let row = Row {
            scenario: sc.name.into(),
            load: load.label(),
            round,
            concurrency: matches!(load, Load::Closed { .. }).then_some(load.workers()),
            rate: if let Load::Open { rate, .. } = load {
                Some(rate)
            } else {
                None
            },
            ok: res.ok,
            errors: res.errors,
            dropped: res.dropped,
            elapsed_s: res.elapsed.as_secs_f64(),
            latency: report::Latency {
                p50_us: loadgen::percentile_us(hist, 0.50) as f64,
                p90_us: loadgen::percentile_us(hist, 0.90) as f64,
                p99_us: loadgen::percentile_us(hist, 0.99) as f64,
                p999_us: loadgen::percentile_us(hist, 0.999) as f64,
                mean_us: hist.mean(),
                max_us: hist.max() as f64,
            },
            throughput_rps: res.throughput(),
            added: None,
            added_p99_rounds: Vec::new(),
            cpu_s_per_1k,
            memory,
            error_samples: res.error_samples,
        };
        eprintln!(
            "    {:<12} ok {:>7}  errors {:>4}  p50 {:>8.3} ms  p99 {:>8.3} ms  {:>8.0} req/s",
            row.load,
            row.ok,
            row.errors,
            row.latency.p50_us / 1000.0,
            row.latency.p99_us / 1000.0,
            row.throughput_rps
        );
        rows.push(row);
    }
    drop(ep.process.take());
    remove_audit_dir(&ep.audit_dir);
    Ok(rows)
}

/// Sends one request before anything is measured and fails loudly if it
/// does not succeed (a policy denial, say, would otherwise be measured as
/// a fast error).
async fn check_one_request(
    client: &HttpClient,
    sc: &Scenario,
    spec: &RequestSpec,
    process: Option<&Running>,
) -> Result<()> {
    if let Err(e) = loadgen::send(client, spec).await {
        let log = process
            .map(|p| format!("; gateway log {}", p.log.display()))
            .unwrap_or_default();
        bail!(
            "{}: the first request failed, nothing measured: {e}{log}",
            sc.name
        );
    }
    Ok(())
}

/// Removes a gateway's audit files (large after a run; on tmpfs, memory).
fn remove_audit_dir(dir: &Path) {
    if !dir.as_os_str().is_empty() && dir.is_dir() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// The open-streams phase through a fresh gateway (full request path).
pub async fn run_streams(h: &mut Harness) -> Result<report::StreamsResult> {
    let name = h.s.streams_scenario.clone();
    let named = scenario::find(&name).with_context(|| format!("unknown scenario {name:?}"))?;
    let Target::Gateway { config } = named.target else {
        bail!("--streams-scenario {name}: not a gateway scenario");
    };
    let sc = &Scenario {
        request: scenario::CHAT_STREAM,
        ..*named
    };
    eprintln!(
        "==> {} open streams through a fresh gateway ({name} configuration)",
        h.s.streams
    );
    let g = start_gateway(h, config)?;
    let access_token = match sc.auth {
        AuthKind::AccessToken => Some(access_token(h, g.addr).await?),
        _ => None,
    };
    let ep = Endpoint {
        addr: g.addr,
        process: Some(g.running),
        access_token,
        audit_dir: g.audit_dir,
    };
    let spec = Arc::new(request_spec(h, sc, &ep)?);
    check_one_request(&h.control, sc, &spec, ep.process.as_ref()).await?;
    let pid = ep
        .process
        .as_ref()
        .context("the gateway is not running")?
        .pid;
    let result = streams::measure(
        sc.name,
        pid,
        spec,
        h.s.streams,
        h.mock_addr,
        &h.control,
        &h.base_behavior,
    )
    .await?;
    eprintln!(
        "    opened {} of {}, errors {}, VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        result.opened,
        result.streams,
        result.errors,
        result.open.rss_kib as f64 / 1024.0,
        result.open.hwm_kib as f64 / 1024.0
    );
    drop(ep.process);
    remove_audit_dir(&ep.audit_dir);
    Ok(result)
}
