//! `modelgate-bench --replicas`: three gateway replicas on one durable
//! PostgreSQL database (scripts/pg-cluster --durable), the mock behind
//! them, and the figures the replicas issue asks for:
//!
//! - **revocation**: a fresh key, used once on every replica (so each has
//!   it cached), revoked through replica A's admin API; the time until
//!   replicas B and C both refuse it, over `--trials` keys (each replica
//!   polled every 2 ms);
//! - **database outage**: under load on every replica, the server stopped
//!   for 10 s and started again; what the replicas answered meanwhile
//!   (503s, nothing forwarded) and how long after its return each answers
//!   200 again.
//!
//! The revision poll (`tokens.sync_interval`) is left at 60 s, so a figure
//! well under it is the notification's.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use http::Request;
use http_body_util::{BodyExt, Full};

use crate::gateway::{gateway_command, provision_bench_identity};
use crate::gateway_config::{self, StoreSpec};
use crate::loadgen::{HttpClient, client};
use crate::postgres::Cluster;
use crate::process::{self, Running};

/// How long a replica may take to print its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The replicas' ids.
const REPLICAS: [&str; 3] = ["a", "b", "c"];

/// What the run measured.
#[derive(Debug, Default)]
pub struct ReplicaFigures {
    /// Revocation → refused on B and C, ms, one per trial.
    pub revocation_ms: Vec<f64>,
    /// Status counts while the database was down.
    pub outage_statuses: std::collections::BTreeMap<u16, u64>,
    /// Calls the mock received while the database was down (after a
    /// second for calls in flight to finish).
    pub forwarded_during_outage: u64,
    /// Per replica: seconds from the server's return to its first 200.
    pub recovery_s: Vec<f64>,
}

/// One replica process.
struct Replica {
    running: Running,
    addr: SocketAddr,
}

/// Starts the cluster, the replicas, runs both measurements.
pub async fn run(
    gateway_bin: &Path,
    mock_addr: SocketAddr,
    tmp: &Path,
    trials: usize,
) -> Result<ReplicaFigures> {
    let cluster = Cluster::start()?;
    let url = cluster.create_database("replicas")?;
    let kek = tmp.join("replicas-kek");
    std::fs::write(&kek, "11".repeat(32)).context("cannot write the KEK file")?;
    let base = gateway_config::merge_config(
        &gateway_config::merge_config(
            &gateway_config::base_gateway_config(mock_addr),
            &gateway_config::tokens_fragment(&kek),
        ),
        &gateway_config::store_fragment(StoreSpec::Postgres {
            url: &url,
            ca_file: cluster.ca_file(),
        }),
    );
    let password = Some(cluster.password());
    let command =
        |config: &Path, args: &[&str]| gateway_command(gateway_bin, config, password, args);
    let cli = |config: &Path, args: &[&str]| process::run_to_end(command(config, args));
    let mut configs = Vec::new();
    for id in REPLICAS {
        let config = tmp.join(format!("replica-{id}.toml"));
        let text = gateway_config::merge_config(
            &base,
            // The trials poll with revoked keys from one address: no
            // failed-authentication budget, or it would refuse them all.
            &format!(
                "[server]\nreplica_id = \"{id}\"\n\n[tokens]\nsync_interval = \"60s\"\n\
                 max_staleness = \"120s\"\n\n[limits.failed_auth_per_source]\nburst = 0\n"
            ),
        );
        std::fs::write(&config, text)
            .with_context(|| format!("cannot write {}", config.display()))?;
        configs.push(config);
    }
    let first = &configs[0];
    let key = provision_bench_identity(&|args| command(first, args))?;
    let admin = cli(first, &["admin", "bootstrap"])?
        .lines()
        .find_map(|l| l.strip_prefix("key:").map(|k| k.trim().to_owned()))
        .context("admin bootstrap printed no key")?;
    let mut replicas = Vec::new();
    for (id, config) in REPLICAS.iter().zip(&configs) {
        let cmd = command(config, &["serve"]);
        let log = tmp.join(format!("replica-{id}.log"));
        let (running, addr) = process::spawn_listening("modelgate", cmd, &log, START_TIMEOUT)?;
        eprintln!("==> replica {id} on {addr} (log {})", log.display());
        replicas.push(Replica { running, addr });
    }
    let http = client();
    let mut figures = ReplicaFigures::default();
    for trial in 0..trials {
        let ms = revocation_trial(&http, &replicas, &admin, &cli, first, trial).await?;
        figures.revocation_ms.push(ms);
    }
    outage(&http, &replicas, &key, &cluster, mock_addr, &mut figures).await?;
    for r in &mut replicas {
        r.running.check_alive()?;
    }
    Ok(figures)
}

/// The string field `name` of a JSON object printed by the CLI.
fn json_field(text: &str, name: &str) -> Result<String> {
    let v: serde_json::Value = serde_json::from_str(text.trim()).context("CLI JSON output")?;
    v[name]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("CLI output without {name}"))
}

/// Sends one request; its status (0 when no answer came).
async fn status_of(http: &HttpClient, method: &str, uri: &str, bearer: &str, body: &str) -> u16 {
    let Ok(req) = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {bearer}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
    else {
        return 0;
    };
    match tokio::time::timeout(Duration::from_secs(30), http.request(req)).await {
        Ok(Ok(resp)) => {
            let status = resp.status().as_u16();
            let _ = resp.into_body().collect().await;
            status
        }
        _ => 0,
    }
}

/// How many calls the mock has received (it records them).
async fn mock_requests(http: &HttpClient, mock: SocketAddr) -> Result<u64> {
    let uri = format!("http://{mock}/_mock/requests");
    let req = Request::get(&uri)
        .body(Full::new(Bytes::new()))
        .context("cannot build a control request")?;
    let resp = http
        .request(req)
        .await
        .with_context(|| format!("GET {uri}"))?;
    let body = resp.into_body().collect().await?.to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).context("the mock's request list")?;
    Ok(v.as_array().map_or(0, |a| a.len() as u64))
}

fn chat_body() -> String {
    serde_json::json!({
        "model": crate::scenario::PUBLIC_MODEL,
        "messages": [{"role": "user", "content": "hello"}],
    })
    .to_string()
}

/// One trial: a new key, used on every replica, revoked on A; the time
/// until B and C both refuse it.
async fn revocation_trial(
    http: &HttpClient,
    replicas: &[Replica],
    admin: &str,
    cli: &impl Fn(&Path, &[&str]) -> Result<String>,
    config: &Path,
    trial: usize,
) -> Result<f64> {
    let issued = cli(
        config,
        &[
            "key",
            "create",
            "--identity",
            "bench",
            "--expires-in",
            "1h",
            "--format",
            "json",
        ],
    )?;
    let key = json_field(&issued, "key")?;
    let id = json_field(&issued, "id")?;
    for r in replicas {
        let uri = format!("http://{}/v1/chat/completions", r.addr);
        // A key made by the CLI is found on a replica's first lookup.
        let mut ok = false;
        for _ in 0..100 {
            if status_of(http, "POST", &uri, &key, &chat_body()).await == 200 {
                ok = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !ok {
            bail!("trial {trial}: the new key never worked on {}", r.addr);
        }
    }
    let revoke = format!("http://{}/admin/v1/keys/{id}/revoke", replicas[0].addr);
    let started = Instant::now();
    let status = status_of(http, "POST", &revoke, admin, "{}").await;
    if status != 200 {
        bail!("trial {trial}: revoking through replica a answered {status}");
    }
    let mut pending: Vec<&Replica> = replicas[1..].iter().collect();
    while !pending.is_empty() {
        if started.elapsed() > Duration::from_secs(120) {
            bail!("trial {trial}: a replica still accepts the key 120 s after its revocation");
        }
        let mut still = Vec::new();
        for r in pending {
            let uri = format!("http://{}/v1/chat/completions", r.addr);
            if status_of(http, "POST", &uri, &key, &chat_body()).await == 200 {
                still.push(r);
            }
        }
        pending = still;
        if !pending.is_empty() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    Ok(started.elapsed().as_secs_f64() * 1000.0)
}

/// Load on every replica; the server stopped for 10 s and started again.
async fn outage(
    http: &HttpClient,
    replicas: &[Replica],
    key: &str,
    cluster: &Cluster,
    mock_addr: SocketAddr,
    figures: &mut ReplicaFigures,
) -> Result<()> {
    let uris: Vec<String> = replicas
        .iter()
        .map(|r| format!("http://{}/v1/chat/completions", r.addr))
        .collect();
    for uri in &uris {
        let status = status_of(http, "POST", uri, key, &chat_body()).await;
        if status != 200 {
            bail!("before the outage {uri} answered {status}");
        }
    }
    cluster.pause()?;
    let down = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let forwarded = mock_requests(http, mock_addr).await?;
    while down.elapsed() < Duration::from_secs(10) {
        for uri in &uris {
            let status = status_of(http, "POST", uri, key, &chat_body()).await;
            *figures.outage_statuses.entry(status).or_default() += 1;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    figures.forwarded_during_outage = mock_requests(http, mock_addr)
        .await?
        .saturating_sub(forwarded);
    cluster.resume()?;
    let back = Instant::now();
    let mut recovered: Vec<Option<f64>> = vec![None; uris.len()];
    while recovered.iter().any(Option::is_none) {
        if back.elapsed() > Duration::from_secs(120) {
            bail!("a replica did not recover within 120 s of the database's return");
        }
        for (i, uri) in uris.iter().enumerate() {
            if recovered[i].is_none()
                && status_of(http, "POST", uri, key, &chat_body()).await == 200
            {
                recovered[i] = Some(back.elapsed().as_secs_f64());
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    figures.recovery_s = recovered.into_iter().flatten().collect();
    Ok(())
}

/// `q` (0..=1) of `values`, by nearest rank.
pub fn percentile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The figures as a Markdown section.
pub fn markdown(f: &ReplicaFigures, trials: usize) -> String {
    let rev = &f.revocation_ms;
    format!(
        "### Replicas: revocation and a database outage\n\n\
         Three replicas on one durable PostgreSQL (`tokens.sync_interval = 60s`, so only the \
         notification explains a fast effect).\n\n\
         | figure | value |\n|---|---|\n\
         | key revoked on A → refused on B and C, p50 ({trials} trials) | {:.1} ms |\n\
         | same, p99 | {:.1} ms |\n\
         | same, max | {:.1} ms |\n\
         | answers while the database was down (status: count) | {:?} |\n\
         | calls forwarded to the upstream while it was down | {} |\n\
         | database back → each replica's first 200 (s) | {:?} |\n",
        percentile(rev, 0.5),
        percentile(rev, 0.99),
        percentile(rev, 1.0),
        f.outage_statuses,
        f.forwarded_during_outage,
        f.recovery_s
            .iter()
            .map(|s| (s * 100.0).round() / 100.0)
            .collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
