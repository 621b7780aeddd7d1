//! The results: per scenario and load point rows, the derived numbers
//! (added latency against the baseline, throughput at saturation, target
//! checks), serialized as JSON; `markdown` renders them for people.

use serde::Serialize;

use crate::process::{Machine, Memory};

/// Latency summary in microseconds (for added latency: differences, which
/// may be negative within noise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Mean.
    pub mean_us: f64,
    /// Maximum.
    pub max_us: f64,
}

impl Latency {
    /// `self - base`, field by field.
    pub fn minus(&self, base: &Latency) -> Latency {
        Latency {
            p50_us: self.p50_us - base.p50_us,
            p90_us: self.p90_us - base.p90_us,
            p99_us: self.p99_us - base.p99_us,
            p999_us: self.p999_us - base.p999_us,
            mean_us: self.mean_us - base.mean_us,
            max_us: self.max_us - base.max_us,
        }
    }
}

/// One scenario at one load point.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    /// Scenario name.
    pub scenario: String,
    /// `c=16` or `rate=500/s`.
    pub load: String,
    /// Round (1-based); 0 for a row summarising every round.
    pub round: usize,
    /// Closed-loop concurrency.
    pub concurrency: Option<usize>,
    /// Open-loop rate, requests per second.
    pub rate: Option<f64>,
    /// Successful requests measured.
    pub ok: u64,
    /// Failed requests.
    pub errors: u64,
    /// Open loop: due requests never sent (the target rate was not held).
    pub dropped: u64,
    /// Measured wall time, seconds.
    pub elapsed_s: f64,
    /// Latency of successful requests.
    pub latency: Latency,
    /// Successful requests per second.
    pub throughput_rps: f64,
    /// Latency minus the baseline's at the same load point (and round; a
    /// summary row holds the median over rounds).
    pub added: Option<Latency>,
    /// Summary row: the added p99 of each round, µs.
    pub added_p99_rounds: Vec<f64>,
    /// CPU seconds (user + system) of the gateway process per 1,000 requests.
    pub cpu_s_per_1k: Option<f64>,
    /// CPU seconds of the PostgreSQL server (the postmaster and every
    /// process under it) per 1,000 requests, for a gateway whose store is
    /// there.
    pub server_cpu_s_per_1k: Option<f64>,
    /// Gateway resident memory after the phase.
    pub memory: Option<Memory>,
    /// The first few error messages.
    pub error_samples: Vec<String>,
}

/// A scenario and whether it ran.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioInfo {
    /// Name.
    pub name: String,
    /// What it measures.
    pub about: String,
    /// Baseline scenario of its added latency.
    pub baseline: Option<String>,
    /// Why it did not run, if it did not.
    pub skipped: Option<String>,
}

/// The best closed-loop throughput of a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Saturation {
    /// Scenario name.
    pub scenario: String,
    /// Highest throughput across the concurrency levels.
    pub throughput_rps: f64,
    /// Load point where it was reached.
    pub at: String,
    /// Ratio to the baseline's saturation throughput.
    pub vs_baseline: Option<f64>,
    /// The scenario of that ratio: the latency baseline, or for a
    /// PostgreSQL scenario its SQLite twin.
    pub baseline: Option<String>,
}

/// The peak-RSS measurement with open streams.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StreamsResult {
    /// Scenario whose gateway held the streams.
    pub scenario: String,
    /// Streams asked for.
    pub streams: usize,
    /// Streams that received their first chunk before the sample.
    pub opened: usize,
    /// Streams that failed (before or after release).
    pub errors: usize,
    /// Gateway memory after start, before the streams.
    pub idle: Memory,
    /// Gateway memory with the streams open.
    pub open: Memory,
    /// The first few error messages.
    pub error_samples: Vec<String>,
}

/// Outcome of one target check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    /// Met.
    #[serde(rename = "PASS")]
    Pass,
    /// Missed.
    #[serde(rename = "MISS")]
    Miss,
    /// Not measured in this run.
    #[serde(rename = "not run")]
    NotRun,
}

/// One target of the issue and how this run did.
#[derive(Debug, Clone, Serialize)]
pub struct TargetCheck {
    /// What is promised.
    pub target: String,
    /// What was measured, in words.
    pub measured: String,
    /// The verdict.
    pub verdict: Verdict,
}

/// Everything a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When (UTC, RFC 3339).
    pub date: String,
    /// The command line.
    pub command: String,
    /// The machine.
    pub machine: Machine,
    /// The resolved settings.
    pub settings: serde_json::Value,
    /// Scenarios asked for.
    pub scenarios: Vec<ScenarioInfo>,
    /// Measurements: one row per scenario and load point (the median of
    /// the rounds).
    pub rows: Vec<Row>,
    /// Every round's rows (when there was more than one round).
    pub round_rows: Vec<Row>,
    /// Throughput at saturation per scenario.
    pub saturation: Vec<Saturation>,
    /// What each stage of the full path costs.
    pub stage_costs: Vec<StageCost>,
    /// The PostgreSQL scenarios against their SQLite twins.
    pub store_comparison: Vec<StoreComparison>,
    /// Peak RSS with open streams.
    pub streams: Option<StreamsResult>,
    /// The targets.
    pub targets: Vec<TargetCheck>,
    /// Notes on method.
    pub notes: Vec<String>,
}

/// Fills `added` of every row whose scenario has a baseline row at the
/// same load point in the same round.
pub fn fill_added(rows: &mut [Row], baseline_of: impl Fn(&str) -> Option<String>) {
    let snapshot: Vec<(String, String, usize, Latency, u64)> = rows
        .iter()
        .map(|r| (r.scenario.clone(), r.load.clone(), r.round, r.latency, r.ok))
        .collect();
    for row in rows.iter_mut() {
        let Some(base) = baseline_of(&row.scenario) else {
            continue;
        };
        row.added = snapshot
            .iter()
            .find(|(s, l, round, _, ok)| {
                *s == base && *l == row.load && *round == row.round && *ok > 0
            })
            .map(|(_, _, _, lat, _)| row.latency.minus(lat));
    }
}

/// Highest closed-loop throughput per scenario (in row order), with the
/// ratio to that of the scenario `baseline_of` names.
pub fn saturation(rows: &[Row], baseline_of: impl Fn(&str) -> Option<String>) -> Vec<Saturation> {
    let mut out: Vec<Saturation> = Vec::new();
    for row in rows.iter().filter(|r| r.concurrency.is_some()) {
        match out.iter_mut().find(|s| s.scenario == row.scenario) {
            Some(s) if s.throughput_rps >= row.throughput_rps => {}
            Some(s) => {
                s.throughput_rps = row.throughput_rps;
                s.at = row.load.clone();
            }
            None => out.push(Saturation {
                scenario: row.scenario.clone(),
                throughput_rps: row.throughput_rps,
                at: row.load.clone(),
                vs_baseline: None,
                baseline: None,
            }),
        }
    }
    let best: Vec<(String, f64)> = out
        .iter()
        .map(|s| (s.scenario.clone(), s.throughput_rps))
        .collect();
    for s in &mut out {
        let base = baseline_of(&s.scenario);
        s.vs_baseline = best
            .iter()
            .find(|(name, t)| Some(name) == base.as_ref() && *t > 0.0)
            .map(|(_, t)| s.throughput_rps / t);
        if s.vs_baseline.is_some() {
            s.baseline = base;
        }
    }
    out
}

fn row<'a>(rows: &'a [Row], scenario: &str, load: &str) -> Option<&'a Row> {
    rows.iter()
        .find(|r| r.scenario == scenario && r.load == load)
}

fn sat<'a>(s: &'a [Saturation], scenario: &str) -> Option<&'a Saturation> {
    s.iter().find(|x| x.scenario == scenario)
}

fn verdict(ok: bool) -> Verdict {
    if ok { Verdict::Pass } else { Verdict::Miss }
}

fn rounds_note(row: &Row) -> String {
    if row.added_p99_rounds.len() < 2 {
        return String::new();
    }
    let each: Vec<String> = row
        .added_p99_rounds
        .iter()
        .map(|us| format!("{:+.3}", us / 1000.0))
        .collect();
    format!(" (median; rounds: {})", each.join(", "))
}

fn errors_note(rows: &[&Row]) -> String {
    let errors: u64 = rows.iter().map(|r| r.errors).sum();
    if errors > 0 {
        format!(" ({errors} errors: not trustworthy)")
    } else {
        String::new()
    }
}

/// The targets, checked against this run.
pub fn check_targets(
    rows: &[Row],
    saturation: &[Saturation],
    streams: Option<&StreamsResult>,
) -> Vec<TargetCheck> {
    let mut out = Vec::new();
    let not_run = |target: &str, why: &str| TargetCheck {
        target: target.to_owned(),
        measured: why.to_owned(),
        verdict: Verdict::NotRun,
    };

    let t = "gateway: added p99 at c=16 ≤ 0.300 ms";
    out.push(
        match row(rows, "gateway", "c=16").and_then(|r| r.added.map(|a| (r, a))) {
            Some((r, added)) => TargetCheck {
                target: t.to_owned(),
                measured: format!(
                    "{:+.3} ms{}{}",
                    added.p99_us / 1000.0,
                    rounds_note(r),
                    errors_note(&[r])
                ),
                verdict: verdict(added.p99_us <= 300.0 && r.errors == 0),
            },
            None => not_run(t, "needs gateway and direct at c=16"),
        },
    );

    let t = "LiteLLM: added p99 at c=16 ≥ 20× modelgate's";
    let pair = row(rows, "litellm", "c=16")
        .zip(row(rows, "gateway", "c=16"))
        .and_then(|(l, g)| Some((l, l.added?, g, g.added?)));
    out.push(match pair {
        Some((l, la, g, ga)) => {
            let ratio = la.p99_us / ga.p99_us.max(1.0);
            TargetCheck {
                target: t.to_owned(),
                measured: format!(
                    "{ratio:.0}× (LiteLLM {:+.3} ms, modelgate {:+.3} ms{}){}",
                    la.p99_us / 1000.0,
                    ga.p99_us / 1000.0,
                    if ga.p99_us < 1.0 {
                        ", floored at 1 µs"
                    } else {
                        ""
                    },
                    errors_note(&[l, g])
                ),
                verdict: verdict(ratio >= 20.0 && l.errors + g.errors == 0),
            }
        }
        None => not_run(t, "needs --litellm and c=16"),
    });

    let t = "throughput at saturation: modelgate > LiteLLM";
    out.push(
        match sat(saturation, "gateway").zip(sat(saturation, "litellm")) {
            Some((g, l)) => TargetCheck {
                target: t.to_owned(),
                measured: format!(
                    "modelgate {:.0} req/s ({}), LiteLLM {:.0} req/s ({})",
                    g.throughput_rps, g.at, l.throughput_rps, l.at
                ),
                verdict: verdict(g.throughput_rps > l.throughput_rps),
            },
            None => not_run(t, "needs --litellm"),
        },
    );

    let t = "throughput at saturation: gateway ≥ 0.5 × direct";
    out.push(
        match sat(saturation, "gateway").and_then(|g| Some((g, g.vs_baseline?))) {
            Some((g, ratio)) => TargetCheck {
                target: t.to_owned(),
                measured: format!("{ratio:.2} ({:.0} req/s at {})", g.throughput_rps, g.at),
                verdict: verdict(ratio >= 0.5),
            },
            None => not_run(t, "needs gateway and direct"),
        },
    );

    let t = "peak RSS with 1,000 open streams ≤ 60 MiB";
    out.push(match streams {
        Some(s) => {
            let mib = s.open.hwm_kib as f64 / 1024.0;
            let partial = if s.streams == 1000 {
                String::new()
            } else {
                format!(" — measured with {} streams, not 1,000", s.streams)
            };
            let failed = if s.errors > 0 || s.opened < s.streams {
                format!(
                    " ({} of {} opened, {} errors)",
                    s.opened, s.streams, s.errors
                )
            } else {
                String::new()
            };
            TargetCheck {
                target: t.to_owned(),
                measured: format!("VmHWM {mib:.1} MiB{partial}{failed}"),
                verdict: if s.streams < 1000 {
                    Verdict::NotRun
                } else {
                    verdict(mib <= 60.0 && s.errors == 0 && s.opened == s.streams)
                },
            }
        }
        None => not_run(t, "--streams 0"),
    });
    out
}

/// One stage's cost: full path minus the scenario without the stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageCost {
    /// The stage, in words.
    pub stage: String,
    /// The scenario without it.
    pub without: String,
    /// Gateway CPU per request, µs, at c=16 (user + system).
    pub cpu_us_per_request: Option<f64>,
    /// p50 at c=1, µs: one request alone.
    pub p50_c1_us: Option<f64>,
    /// p99 at c=16, µs.
    pub p99_c16_us: Option<f64>,
    /// Saturation throughput of the full path over the scenario's (below 1:
    /// the stage costs throughput).
    pub throughput_ratio: Option<f64>,
}

/// One store's numbers in [`StoreComparison`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StoreSide {
    /// The scenario.
    pub scenario: String,
    /// Added p99 at c=1 (against its latency baseline), µs.
    pub added_p99_c1_us: Option<f64>,
    /// Added p99 at c=16, µs.
    pub added_p99_c16_us: Option<f64>,
    /// Throughput at saturation (best closed-loop level), requests per
    /// second.
    pub throughput_rps: Option<f64>,
    /// Gateway CPU per request at c=16, µs.
    pub gateway_cpu_us_per_request: Option<f64>,
    /// PostgreSQL server CPU per request at c=16, µs (`None` for SQLite:
    /// it runs inside the gateway).
    pub server_cpu_us_per_request: Option<f64>,
}

/// A PostgreSQL scenario and its SQLite twin (`crate::storecmp`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoreComparison {
    /// The SQLite scenario.
    pub sqlite: StoreSide,
    /// The PostgreSQL scenario.
    pub postgres: StoreSide,
    /// PostgreSQL's saturation throughput over SQLite's.
    pub throughput_ratio: Option<f64>,
}

/// `YYYY-MM-DDTHH:MM:SSZ` for seconds since the Unix epoch.
pub fn rfc3339(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let secs = unix % 86_400;
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
