//! The running parts of a benchmark: the mock upstream, the PostgreSQL
//! cluster (`--postgres`), the gateways ([`crate::gateway`]) and LiteLLM a
//! scenario needs, and the loop over a scenario's load points (warm-up, CPU
//! and memory samples around the measured phase, one row per load point);
//! also the open-streams phase.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http::{HeaderMap, HeaderValue};
use modelgate_mock::Behavior;

use crate::cli::Settings;
use crate::gateway::{Gateways, Leftovers};
use crate::loadgen::{self, Bounds, HttpClient, Load, RequestSpec};
use crate::postgres::Cluster;
use crate::process::{self, Running};
use crate::report::{self, Row};
use crate::scenario::{self, AuthKind, Backend, PUBLIC_MODEL, Scenario, Target, UPSTREAM_MODEL};
use crate::{litellm, streams};

/// How long the mock may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The running parts shared by every scenario.
pub struct Harness {
    /// The resolved settings.
    pub s: Settings,
    /// Whether the binaries are debug builds.
    pub debug_bins: bool,
    /// Load averages before anything started.
    pub load_at_start: String,
    gateways: Gateways,
    mock: Running,
    mock_addr: SocketAddr,
    base_behavior: Behavior,
    control: HttpClient,
    clock_ticks: u64,
    litellm: Option<Result<PathBuf, String>>,
    /// Declared last: removed after the gateways (their files are in it).
    tmp: tempfile::TempDir,
}

/// What serves a scenario's requests.
struct Endpoint {
    addr: SocketAddr,
    process: Option<Running>,
    /// The bench identity's API key in this gateway's store.
    api_key: Option<String>,
    /// An access token obtained from this gateway (`AuthKind::AccessToken`).
    access_token: Option<String>,
    /// The PostgreSQL server's pid, when the gateway's store is there.
    server_pid: Option<u32>,
    /// What the gateway leaves behind, removed after the scenario.
    leftovers: Option<Leftovers>,
}

impl Harness {
    /// Finds the binaries, starts the PostgreSQL cluster when
    /// `with_postgres`, starts the mock and, when `with_litellm`, installs
    /// LiteLLM (a failure is kept and reported as a skip).
    pub fn start(s: Settings, with_litellm: bool, with_postgres: bool) -> Result<Harness> {
        let gateway_bin = s.binary("modelgate")?;
        let mock_bin = s.binary("modelgate-mock")?;
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
        let postgres = if with_postgres {
            eprintln!("==> starting a durable PostgreSQL cluster (scripts/pg-cluster)");
            let cluster = Cluster::start()?;
            eprintln!(
                "    PostgreSQL in {} (server pid {})",
                cluster.dir().display(),
                cluster.server_pid()
            );
            Some(cluster)
        } else {
            None
        };
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
            gateways: Gateways::new(tmp.path(), gateway_bin, mock_addr, s.keep_temp, postgres),
            s,
            tmp,
            mock,
            mock_addr,
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

    /// Whether the PostgreSQL cluster runs.
    pub fn with_postgres(&self) -> bool {
        self.gateways.cluster().is_some()
    }

    /// Stops the PostgreSQL cluster and removes the temporary directory
    /// unless `--keep-temp` (then it is printed).
    pub fn finish(mut self) -> Result<()> {
        self.mock.check_alive()?;
        if self.s.keep_temp {
            let kept = self.tmp.keep();
            eprintln!("==> kept {}", kept.display());
        }
        Ok(())
    }
}

/// Starts a gateway of `config` on a fresh store of `store`, and obtains
/// an access token from it when `auth` needs one.
async fn gateway_endpoint(
    h: &mut Harness,
    config: &str,
    store: Backend,
    auth: AuthKind,
) -> Result<Endpoint> {
    let g = h.gateways.start(config, store)?;
    let mut ep = Endpoint {
        addr: g.addr,
        process: Some(g.running),
        api_key: Some(g.api_key),
        access_token: None,
        server_pid: g.server_pid,
        leftovers: Some(g.leftovers),
    };
    if auth == AuthKind::AccessToken {
        match access_token(h, &ep).await {
            Ok(token) => ep.access_token = Some(token),
            Err(e) => {
                finish_endpoint(h, ep);
                return Err(e);
            }
        }
    }
    Ok(ep)
}

/// Stops what served a scenario and removes what it left behind.
fn finish_endpoint(h: &Harness, mut ep: Endpoint) {
    drop(ep.process.take());
    if let Some(left) = ep.leftovers.take() {
        h.gateways.clean_up(left);
    }
}

/// Starts what a scenario talks to.
async fn endpoint(h: &mut Harness, sc: &Scenario) -> Result<Endpoint> {
    match sc.target {
        Target::Direct => Ok(Endpoint {
            addr: h.mock_addr,
            process: None,
            api_key: None,
            access_token: None,
            server_pid: None,
            leftovers: None,
        }),
        Target::Gateway { config, store } => gateway_endpoint(h, config, store, sc.auth).await,
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
                api_key: None,
                access_token: None,
                server_pid: None,
                leftovers: None,
            })
        }
    }
}

/// Exchanges the bench API key for an access token at the gateway's token
/// endpoint (`client_credentials`, the key as client secret).
async fn access_token(h: &Harness, ep: &Endpoint) -> Result<String> {
    let addr = ep.addr;
    let key = ep.api_key.as_deref().context("no API key provisioned")?;
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

/// The request of a scenario against `addr`.
fn request_spec(sc: &Scenario, ep: &Endpoint) -> Result<RequestSpec> {
    let addr = ep.addr;
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let bearer = match sc.auth {
        AuthKind::None => None,
        AuthKind::ApiKey => Some(ep.api_key.clone().context("no API key provisioned")?),
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
    let rows = measure(h, sc, round, &mut ep).await;
    finish_endpoint(h, ep);
    rows
}

/// The load points of one scenario against its running endpoint.
async fn measure(
    h: &mut Harness,
    sc: &Scenario,
    round: usize,
    ep: &mut Endpoint,
) -> Result<Vec<Row>> {
    let spec = Arc::new(request_spec(sc, ep)?);
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
        let server_before = ep.server_pid.map(process::cpu_ticks).transpose()?;
        let bounds = Bounds {
            duration: h.s.duration,
            requests: h.s.requests,
        };
        let res = loadgen::run(&clients, Arc::clone(&spec), load, bounds).await?;
        let after = pid.map(process::cpu_ticks).transpose()?;
        let server_after = ep.server_pid.map(process::cpu_ticks).transpose()?;
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
        let per_1k = |ticks: u64| ticks as f64 / h.clock_ticks as f64 / total as f64 * 1000.0;
        let cpu_s_per_1k = before.zip(after).map(|(b, a)| per_1k(a.saturating_sub(b)));
        let server_cpu_s_per_1k = server_before
            .zip(server_after)
            .map(|(b, a)| per_1k(a.saturating_sub(b)));
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
            server_cpu_s_per_1k,
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

/// The open-streams phase through a fresh gateway (full request path).
pub async fn run_streams(h: &mut Harness) -> Result<report::StreamsResult> {
    let name = h.s.streams_scenario.clone();
    let named = scenario::find(&name).with_context(|| format!("unknown scenario {name:?}"))?;
    let Target::Gateway { config, store } = named.target else {
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
    let ep = gateway_endpoint(h, config, store, sc.auth).await?;
    let result = measure_streams(h, sc, &ep).await;
    finish_endpoint(h, ep);
    result
}

/// Opens the streams through the running gateway and measures it.
async fn measure_streams(
    h: &mut Harness,
    sc: &Scenario,
    ep: &Endpoint,
) -> Result<report::StreamsResult> {
    let spec = Arc::new(request_spec(sc, ep)?);
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
    Ok(result)
}
