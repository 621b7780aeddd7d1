//! `modelgate-bench`: the load harness. Measures modelgate's added latency
//! (through the gateway minus straight to the same local mock upstream),
//! its throughput, CPU per request and memory with open streams, with
//! `--litellm` the same against the LiteLLM proxy, and with `--postgres`
//! the full request path with its store in PostgreSQL beside SQLite, in
//! one run on one machine. See `--help` and `bench/README.md`.
//!
//! This file wires the parts together: start the mock, run every scenario
//! at every load point (starting the gateway or LiteLLM it needs), the
//! open-streams phase, then the report.

mod cli;
mod gateway;
mod gateway_config;
mod harness;
mod litellm;
mod loadgen;
mod markdown;
mod policyset;
mod postgres;
mod process;
mod replicas;
mod report;
mod rounds;
mod scenario;
mod stagecost;
mod storecmp;
mod streams;

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;

use crate::cli::{Cli, Settings};
use crate::harness::Harness;
use crate::report::{Report, Row, ScenarioInfo};
use crate::scenario::Target;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let command_line = std::env::args()
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect::<Vec<_>>()
        .join(" ");
    let settings = match cli.settings(&exe_dir, command_line) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("modelgate-bench: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("modelgate-bench: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Ctrl-C drops the run: its child processes are killed and the
    // PostgreSQL cluster is stopped on the way out.
    let interruptible = async {
        tokio::select! {
            done = run(settings) => done,
            _ = tokio::signal::ctrl_c() => Err(anyhow::anyhow!("interrupted")),
        }
    };
    match runtime.block_on(interruptible) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("modelgate-bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs everything; `Ok(false)` when a smoke run saw errors.
async fn run(s: Settings) -> Result<bool> {
    if s.replicas {
        return run_replicas(&s).await.map(|()| true);
    }
    let scenarios = scenario::select(&s.scenarios, s.litellm, s.postgres)?;
    let with_litellm = scenarios.iter().any(|x| x.target == Target::Litellm);
    let streams_on_postgres =
        s.streams > 0 && scenario::find(&s.streams_scenario).is_some_and(scenario::on_postgres);
    let with_postgres = streams_on_postgres || scenarios.iter().any(|x| scenario::on_postgres(x));
    let mut h = Harness::start(s, with_litellm, with_postgres)?;
    let debug_bins = h.debug_bins;
    let mut round_rows: Vec<Row> = Vec::new();
    let mut infos: Vec<ScenarioInfo> = scenarios
        .iter()
        .map(|sc| ScenarioInfo {
            name: sc.name.into(),
            about: sc.about.into(),
            baseline: sc.baseline.map(Into::into),
            skipped: None,
        })
        .collect();
    let rounds = h.s.rounds;
    for round in 1..=rounds {
        if rounds > 1 {
            eprintln!("==> round {round} of {rounds}");
        }
        for (sc, info) in scenarios.iter().zip(infos.iter_mut()) {
            if info.skipped.is_some() {
                continue;
            }
            match harness::run_scenario(&mut h, sc, round).await {
                Ok(mut r) => round_rows.append(&mut r),
                Err(e) if sc.target == Target::Litellm => {
                    eprintln!("    litellm skipped: {e:#}");
                    info.skipped = Some(format!("round {round}: {e:#}"));
                }
                Err(e) => return Err(e.context(format!("scenario {}", sc.name))),
            }
        }
    }
    let streams = if h.s.streams > 0 {
        Some(harness::run_streams(&mut h).await?)
    } else {
        None
    };

    let baseline_of = |name: &str| scenario::find(name).and_then(|x| x.baseline.map(String::from));
    report::fill_added(&mut round_rows, baseline_of);
    let rows = rounds::summarize(&round_rows);
    let saturation = report::saturation(&rows, |name: &str| {
        scenario::ratio_baseline(name).map(String::from)
    });
    let targets = report::check_targets(&rows, &saturation, streams.as_ref());
    let stage_costs = stagecost::stage_costs(&rows, &saturation, scenario::STAGES);
    let pairs: Vec<(&str, &str)> = scenario::SCENARIOS
        .iter()
        .filter_map(|x| Some((x.name, scenario::sqlite_twin(x.name)?)))
        .collect();
    let store_comparison = storecmp::store_comparison(&rows, &saturation, &pairs);
    let machine = process::machine(h.load_at_start.clone());
    let unix = u64::try_from(modelgate_types::clock::unix_now()).unwrap_or(0);
    let report = Report {
        date: report::rfc3339(unix),
        command: h.s.command_line.clone(),
        notes: notes(&h.s, debug_bins, h.with_postgres()),
        settings: settings_json(&h.s),
        machine,
        scenarios: infos,
        rows,
        round_rows: if rounds > 1 { round_rows } else { Vec::new() },
        saturation,
        stage_costs,
        store_comparison,
        streams,
        targets,
    };
    let md = markdown::render(&report);
    write_reports(&h.s.out, &report, &md)?;
    println!("{md}");
    eprintln!(
        "==> wrote {}/results.md and results.json",
        h.s.out.display()
    );

    let row_errors: u64 = report.rows.iter().map(|r| r.errors).sum();
    let stream_trouble = report
        .streams
        .as_ref()
        .is_some_and(|x| x.errors > 0 || x.opened < x.streams);
    let smoke = h.s.smoke;
    h.finish()?;
    if smoke && (row_errors > 0 || stream_trouble) {
        eprintln!(
            "modelgate-bench: smoke run failed: {row_errors} request errors, streams ok: {}",
            !stream_trouble
        );
        return Ok(false);
    }
    Ok(true)
}

/// `--replicas`: the mock (recording, to count what reaches it), then the
/// replicas measurements; writes `OUT/replicas.md`.
async fn run_replicas(s: &Settings) -> Result<()> {
    let gateway_bin = s.binary("modelgate")?;
    let mock_bin = s.binary("modelgate-mock")?;
    let tmp = tempfile::Builder::new()
        .prefix("modelgate-bench-replicas-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let mut mock_cmd = std::process::Command::new(&mock_bin);
    mock_cmd.args(["--listen", "127.0.0.1:0"]);
    let (_mock, mock_addr) = process::spawn_listening(
        "modelgate-mock",
        mock_cmd,
        &tmp.path().join("mock.log"),
        std::time::Duration::from_secs(30),
    )?;
    let figures = replicas::run(&gateway_bin, mock_addr, tmp.path(), s.trials).await?;
    let md = replicas::markdown(&figures, s.trials);
    std::fs::create_dir_all(&s.out)
        .with_context(|| format!("cannot create {}", s.out.display()))?;
    let path = s.out.join("replicas.md");
    std::fs::write(&path, &md).with_context(|| format!("cannot write {}", path.display()))?;
    println!("{md}");
    Ok(())
}

fn settings_json(s: &Settings) -> serde_json::Value {
    serde_json::json!({
        "concurrency": s.concurrency,
        "rounds": s.rounds,
        "duration_s": s.duration.as_secs_f64(),
        "requests": s.requests,
        "rate": s.rate,
        "rate_workers": s.rate_workers,
        "warmup_s": s.warmup.as_secs_f64(),
        "warmup_requests": s.warmup_requests,
        "mock_latency_ms": s.mock_latency_ms,
        "chunks": s.chunks,
        "streams": s.streams,
        "streams_scenario": s.streams_scenario,
        "litellm": s.litellm,
        "postgres": s.postgres,
        "smoke": s.smoke,
        "bin_dir": s.bin_dir,
    })
}

fn notes(s: &Settings, debug_bins: bool, postgres: bool) -> Vec<String> {
    let mut n = vec![
        format!(
            "Closed loop: N workers, one keep-alive HTTP/1.1 connection each (tokio + hyper, TCP_NODELAY), send → read the whole body → repeat; each load point runs up to {:?}{} after an unrecorded warm-up of {:?} or {} requests, in each of {} round(s) (all scenarios in turn, gateways restarted; the table gives medians over rounds).",
            s.duration,
            s.requests.map_or(String::new(), |r| format!(" or {r} requests")),
            s.warmup,
            s.warmup_requests,
            s.rounds
        ),
        "Open loop (rate=…): request i is due at i/rate; one sent late because all workers were busy is timed from its due time (no coordinated omission), one sent on time from its send; due requests never sent are counted as not sent.".into(),
        "Latency: request written → last body byte (streamed: through `data: [DONE]`); HDR histogram, µs, 3 significant digits. Added = scenario pXX − baseline pXX at the same load point in this run (percentiles of different requests: a few µs either way is noise).".into(),
        "CPU s / 1k req: utime + stime of the gateway process (LiteLLM: its process tree) from /proc/PID/stat around the measured phase. RSS: VmRSS after the phase.".into(),
        format!(
            "Mock upstream: modelgate-mock --no-record --latency-ms {} --chunks {}; requests are OpenAI chat completions with a ~2 KB prompt; the gateway logs to a file (RUST_LOG unset so [log] level applies).",
            s.mock_latency_ms, s.chunks
        ),
        format!(
            "Full request path (`gateway`): an access token from the gateway's token endpoint (client_credentials with the bench API key, once per gateway start) as bearer; a policy set of {} policies ({} roles in the config, the bench identity assigned `{}`, and {} Cedar policies in {} files: crates/modelgate-bench/policies) besides the built-in baseline; prompt screening and response screening (log_only); the audit log's store sink (group-committed, synced WAL, fail closed); an info log line per request. Each gateway-* variant switches one of these off; \"What each stage costs\" is the full path minus that variant.",
            policyset::role_count() + policyset::cedar_policy_count(),
            policyset::role_count(),
            policyset::BENCH_ROLE,
            policyset::cedar_policy_count(),
            policyset::CEDAR_FILES.len()
        ),
        "Gateway, mock, load generator (and LiteLLM) share the machine's CPUs; nothing is pinned.".into(),
        "Closed loop at a concurrency that saturates the CPUs is mostly queueing (latency ≈ concurrency / throughput): there added latency reflects lost throughput; c=1 shows the cost of one request alone, the open-loop rate point the latency under a fixed load below saturation.".into(),
    ];
    n.push("Every gateway start gets a fresh store (SQLite file, or PostgreSQL database) with the bench identity, its key and role provisioned through the CLI.".into());
    if postgres {
        n.push("PostgreSQL (`*-pg`): a local cluster from scripts/pg-cluster --durable (fsync and synchronous_commit on, TLS with sslmode = verify-full, scram-sha-256; the gateway's pool at its default size), one fresh database per gateway start; the server's CPU is the postmaster's process tree from /proc/PID/stat (cutime/cstime include exited backends) around the measured phase; it shares the CPUs with the gateway, mock and load generator. Saturation \"vs baseline\" of a `*-pg` scenario is against its SQLite twin.".into());
    }
    if debug_bins {
        n.push("Debug binaries: a smoke run, not a measurement.".into());
    }
    n
}

/// Writes `results.json` and `results.md` and checks they are there.
fn write_reports(out: &Path, report: &Report, md: &str) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let json = serde_json::to_string_pretty(report)?;
    for (name, text) in [("results.json", json.as_str()), ("results.md", md)] {
        let path = out.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        let written = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        if written != text.len() as u64 {
            bail!("{} was not written completely", path.display());
        }
    }
    Ok(())
}
