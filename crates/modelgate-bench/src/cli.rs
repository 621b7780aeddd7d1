//! The command line of the harness, and the settings it resolves to (smoke
//! mode overrides, default paths, validated durations).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Parser;

/// Load harness: modelgate's added latency against a direct upstream (and
/// against LiteLLM with `--litellm`), same mock, same machine, same run.
///
/// Gateway, mock upstream, load generator (and LiteLLM) all share the
/// machine's cores; nothing is pinned to a CPU. Results go to
/// `OUT/results.md` and `OUT/results.json` and the table to stdout.
#[derive(Debug, Clone, Parser)]
#[command(name = "modelgate-bench", version, about)]
pub struct Cli {
    /// Scenarios to run, comma-separated (default: every scenario except
    /// `litellm`; the baselines of the chosen ones are added).
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Closed-loop concurrency levels, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 16, 64])]
    pub concurrency: Vec<usize>,
    /// Measured time per scenario and load point (`500ms`, `10s`, `1m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Also stop each measured phase after this many requests.
    #[arg(long)]
    pub requests: Option<u64>,
    /// Run every scenario this many times, in turn; the report gives the
    /// median of the rounds (a burst of other work then spoils one round,
    /// not the verdict).
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Open-loop load point: requests per second, latency measured from the
    /// intended send time (0 turns it off).
    #[arg(long, default_value_t = 500.0)]
    pub rate: f64,
    /// Connections (workers) of the open-loop load point.
    #[arg(long, default_value_t = 64)]
    pub rate_workers: usize,
    /// Warm-up before each measured phase (not recorded): this long...
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub warmup: Duration,
    /// ...or this many requests, whichever comes first.
    #[arg(long, default_value_t = 200)]
    pub warmup_requests: u64,
    /// Fixed latency of the mock upstream before response headers.
    #[arg(long, default_value_t = 0)]
    pub mock_latency_ms: u64,
    /// Content chunks of each mock reply (the streamed scenarios' SSE events).
    #[arg(long, default_value_t = 100)]
    pub chunks: usize,
    /// Streams held open through the gateway for the peak-RSS measurement
    /// (0 skips it).
    #[arg(long, default_value_t = 1000)]
    pub streams: usize,
    /// Gateway scenario whose configuration and credential the open-streams
    /// phase uses (its requests are always streamed), to see what a stage
    /// adds to the memory of open streams.
    #[arg(long, default_value = "gateway-stream")]
    pub streams_scenario: String,
    /// Also run the LiteLLM proxy (pinned, installed into
    /// `bench/.venv-litellm` on first use) against the same mock.
    #[arg(long)]
    pub litellm: bool,
    /// Also run the full request path with the store in PostgreSQL
    /// (`gateway-pg`, `gateway-api-key-pg`, beside their SQLite twins):
    /// a durable throwaway cluster is started with `scripts/pg-cluster`
    /// (PostgreSQL 15+ binaries, psql, openssl) and stopped at the end, one
    /// fresh database per gateway start.
    #[arg(long)]
    pub postgres: bool,
    /// Instead of the scenarios: three replicas on one durable PostgreSQL;
    /// measures how long a revocation on one takes to be refused on the
    /// others (`--trials` keys) and a 10 s database outage under load.
    #[arg(long)]
    pub replicas: bool,
    /// Revocations measured by `--replicas`.
    #[arg(long, default_value_t = 50)]
    pub trials: usize,
    /// Output directory [default: bench/results, or target/bench-smoke with --smoke].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Tiny run for CI: direct, gateway and gateway-stream at concurrency 1
    /// and 2, 50 requests each, one round, 20 streams; fails on any error.
    #[arg(long)]
    pub smoke: bool,
    /// Directory holding the `modelgate` and `modelgate-mock` binaries
    /// [default: the directory of this executable].
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Keep the temporary directory (configs, store, process logs).
    #[arg(long)]
    pub keep_temp: bool,
}

/// Everything a run needs, after defaults and `--smoke` are applied.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Scenario names as asked (resolved against the registry later).
    pub scenarios: Vec<String>,
    /// Closed-loop concurrency levels.
    pub concurrency: Vec<usize>,
    /// Measured time per load point.
    pub duration: Duration,
    /// Request cap per load point.
    pub requests: Option<u64>,
    /// Rounds over all scenarios.
    pub rounds: usize,
    /// Open-loop rate (requests per second), if any.
    pub rate: Option<f64>,
    /// Open-loop connections.
    pub rate_workers: usize,
    /// Warm-up time cap.
    pub warmup: Duration,
    /// Warm-up request cap.
    pub warmup_requests: u64,
    /// Mock latency before headers.
    pub mock_latency_ms: u64,
    /// Chunks per mock reply.
    pub chunks: usize,
    /// Streams for the peak-RSS phase (0: skipped).
    pub streams: usize,
    /// Scenario the open-streams phase takes its gateway configuration from.
    pub streams_scenario: String,
    /// Whether LiteLLM was asked for.
    pub litellm: bool,
    /// Whether the PostgreSQL scenarios were asked for.
    pub postgres: bool,
    /// The replicas measurements instead of the scenarios.
    pub replicas: bool,
    /// Revocations measured by the replicas run.
    pub trials: usize,
    /// Output directory.
    pub out: PathBuf,
    /// Smoke mode: any error fails the run.
    pub smoke: bool,
    /// Where the binaries are.
    pub bin_dir: PathBuf,
    /// Keep the temporary directory.
    pub keep_temp: bool,
    /// The command line, as given.
    pub command_line: String,
}

impl Settings {
    /// Finds binary `name` in `--bin-dir`, or says how to build it.
    pub fn binary(&self, name: &str) -> Result<PathBuf> {
        let path = self.bin_dir.join(name);
        if path.is_file() {
            return Ok(path);
        }
        let build = if self.bin_dir.ends_with("debug") {
            "cargo build -p modelgate -p modelgate-mock"
        } else {
            "cargo build --release -p modelgate -p modelgate-mock -p modelgate-bench"
        };
        bail!(
            "{} not found: run `{build}` (or point --bin-dir at the binaries)",
            path.display()
        )
    }
}

impl Cli {
    /// Applies defaults and smoke overrides; `exe_dir` is the directory of
    /// the running executable.
    pub fn settings(self, exe_dir: &Path, command_line: String) -> Result<Settings> {
        let mut s = Settings {
            scenarios: self
                .scenarios
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect(),
            concurrency: self.concurrency,
            duration: self.duration,
            requests: self.requests,
            rounds: self.rounds,
            rate: (self.rate > 0.0).then_some(self.rate),
            rate_workers: self.rate_workers,
            warmup: self.warmup,
            warmup_requests: self.warmup_requests,
            mock_latency_ms: self.mock_latency_ms,
            chunks: self.chunks,
            streams: self.streams,
            streams_scenario: self.streams_scenario,
            litellm: self.litellm,
            postgres: self.postgres,
            replicas: self.replicas,
            trials: self.trials.max(1),
            out: self
                .out
                .clone()
                .unwrap_or_else(|| PathBuf::from("bench/results")),
            smoke: self.smoke,
            bin_dir: self.bin_dir.unwrap_or_else(|| exe_dir.to_path_buf()),
            keep_temp: self.keep_temp,
            command_line,
        };
        if s.smoke {
            if s.scenarios.is_empty() {
                s.scenarios = ["direct", "gateway", "gateway-stream"]
                    .map(String::from)
                    .to_vec();
            }
            s.concurrency = vec![1, 2];
            s.duration = s.duration.min(Duration::from_secs(5));
            s.requests = Some(s.requests.unwrap_or(50).min(50));
            s.rounds = 1;
            s.rate = Some(200.0);
            s.rate_workers = 4;
            s.warmup = Duration::from_millis(500);
            s.warmup_requests = 10;
            s.streams = s.streams.min(20);
            if self.out.is_none() {
                s.out = PathBuf::from("target/bench-smoke");
            }
        }
        if s.concurrency.is_empty() || s.concurrency.contains(&0) {
            bail!("--concurrency: give one or more levels, each at least 1");
        }
        if s.duration.is_zero() {
            bail!("--duration must be more than zero");
        }
        if s.requests == Some(0) || s.rounds == 0 {
            bail!("--requests and --rounds must be at least 1");
        }
        if s.rate.is_some_and(|r| !r.is_finite()) || s.rate_workers == 0 {
            bail!("--rate must be a finite number and --rate-workers at least 1");
        }
        if s.chunks == 0 {
            bail!("--chunks must be at least 1");
        }
        Ok(s)
    }
}

/// Parses `250ms`, `10s`, `2m` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("expected a duration such as 500ms, 10s or 1m, got {text:?}"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" | "min" => value * 60.0,
        other => return Err(format!("unknown duration unit {other:?} (ms, s or m)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(args: &[&str]) -> Result<Settings> {
        let mut argv = vec!["modelgate-bench"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)?.settings(Path::new("/x/target/release"), String::new())
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn defaults() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.concurrency, vec![1, 16, 64]);
        assert_eq!(s.duration, Duration::from_secs(10));
        assert_eq!(s.rate, Some(500.0));
        assert_eq!(s.streams, 1000);
        assert_eq!(s.streams_scenario, "gateway-stream");
        assert_eq!(s.rounds, 3);
        assert_eq!(s.out, PathBuf::from("bench/results"));
        assert_eq!(s.bin_dir, PathBuf::from("/x/target/release"));
        assert!(s.scenarios.is_empty());
    }

    #[test]
    fn lists_and_rate_off() {
        let s = settings(&[
            "--scenarios",
            "direct,gateway",
            "--concurrency=4,8",
            "--rate",
            "0",
        ])
        .unwrap();
        assert_eq!(s.scenarios, vec!["direct", "gateway"]);
        assert_eq!(s.concurrency, vec![4, 8]);
        assert_eq!(s.rate, None);
    }

    #[test]
    fn smoke_is_tiny() {
        let s = settings(&["--smoke", "--bin-dir", "target/debug"]).unwrap();
        assert_eq!(s.scenarios, vec!["direct", "gateway", "gateway-stream"]);
        assert_eq!(s.concurrency, vec![1, 2]);
        assert_eq!(s.requests, Some(50));
        assert_eq!(s.rounds, 1);
        assert_eq!(s.streams, 20);
        assert_eq!(s.out, PathBuf::from("target/bench-smoke"));
        assert_eq!(s.bin_dir, PathBuf::from("target/debug"));
    }

    #[test]
    fn postgres_is_asked_for() {
        assert!(!settings(&[]).unwrap().postgres);
        let s = settings(&["--smoke", "--postgres"]).unwrap();
        assert!(s.postgres);
        assert_eq!(s.scenarios, vec!["direct", "gateway", "gateway-stream"]);
    }

    #[test]
    fn rejects_nonsense() {
        assert!(settings(&["--concurrency", "0"]).is_err());
        assert!(settings(&["--requests", "0"]).is_err());
        assert!(settings(&["--rounds", "0"]).is_err());
        assert!(settings(&["--duration", "0s"]).is_err());
    }
}
