//! Benchmarks: durable appends (group commit to a fsynced JSON-lines file on
//! the target dir's disk, many concurrent appenders) and offline
//! verification of an export file. Throughput is reported in records/s
//! ("elem/s").

use std::hint::black_box;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelgate_audit::{
    AuditChain, AuditConfig, AuditEvent, AuditLog, AuditSigner, AuditSink, Body, ControlRecord,
    Entry, ExportRange, JsonlFileOptions, JsonlFileSink, PreparedEvent, Record, RequestRecord,
    SinkError, WriterSink, export, verify,
};

fn request(i: u64) -> AuditEvent {
    let mut r = RequestRecord {
        request_id: format!("req-{i:016x}"),
        identity: Some("svc-checkout".into()),
        credential_id: Some("key_01HZX3Q8".into()),
        credential_kind: Some("api_key".into()),
        auth_method: Some("api_key".into()),
        client_addr: Some("10.1.2.3:51234".into()),
        user_agent: Some("openai-python/1.40.0".into()),
        operation: Some("chat.completions".into()),
        model: Some("gpt-4o-mini".into()),
        upstream: Some("openai-eu".into()),
        deployment: Some("gpt-4o-mini-2024-07-18".into()),
        region: Some("eu-west".into()),
        decision: Some("allow".into()),
        policy_ids: vec!["p-default-allow".into()],
        action: Some("forwarded".into()),
        status: Some(200),
        gateway_us: Some(310),
        upstream_us: Some(120_000),
        tokens_in: Some(42),
        tokens_out: Some(128),
        streamed: i.is_multiple_of(2),
        ..Default::default()
    };
    if i.is_multiple_of(10) {
        r.prompt = Some(Body::Hmac {
            key_id: "0123456789abcdef".into(),
            value_b64: "q83vEjRWeJCrze8SNFZ4kKvN7xI0VniQq83vEjRWeJA=".into(),
        });
    }
    if i % 50 == 7 {
        return AuditEvent::Control(ControlRecord {
            action: "token.exchange".into(),
            actor: Some("repo:org/app:ref:refs/heads/main".into()),
            outcome: "ok".into(),
            ..Default::default()
        });
    }
    AuditEvent::Request(r)
}

fn signer() -> Arc<AuditSigner> {
    Arc::new(AuditSigner::from_seed(&[7u8; 32]).unwrap_or_else(|e| panic!("{e}")))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A sink whose sync takes a fixed time (a disk with steady fsync latency),
/// to measure the pipeline without the disk's noise.
struct FixedSyncSink {
    inner: WriterSink<std::io::Sink>,
    sync: Duration,
}

impl AuditSink for FixedSyncSink {
    fn name(&self) -> &str {
        "fixed-sync"
    }
    fn required(&self) -> bool {
        true
    }
    fn write_batch(&mut self, entries: &[Entry]) -> Result<(), SinkError> {
        self.inner.write_batch(entries)
    }
    fn sync(&mut self) -> Result<(), SinkError> {
        std::thread::sleep(self.sync);
        Ok(())
    }
    fn load_tail(&mut self) -> Result<Option<Record>, SinkError> {
        Ok(None)
    }
    fn discard_after(&mut self, _seq: u64) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Appends `total` records from `tasks` concurrent tasks to a file sink in
/// `dir` (or, without one, to a sink whose sync takes 200 µs); returns the
/// time.
async fn durable_appends(dir: Option<&Path>, tasks: u64, total: u64) -> Duration {
    let sink: Box<dyn AuditSink> = match dir {
        Some(dir) => Box::new(
            JsonlFileSink::open(JsonlFileOptions::new(dir)).unwrap_or_else(|e| panic!("{e}")),
        ),
        None => Box::new(FixedSyncSink {
            inner: WriterSink::new("null", std::io::sink(), true),
            sync: Duration::from_micros(200),
        }),
    };
    let log = AuditLog::start(vec![sink], signer(), AuditConfig::new("bench"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let per_task = total.div_ceil(tasks);
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let log = log.clone();
            tokio::spawn(async move {
                for i in 0..per_task {
                    if let Err(e) = log.append(request(t * per_task + i)).await {
                        panic!("{e}");
                    }
                }
            })
        })
        .collect();
    for handle in handles {
        handle.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let elapsed = started.elapsed();
    if std::env::var_os("AUDIT_BENCH_STATS").is_some() {
        let s = log.stats();
        eprintln!(
            "tasks {tasks}: {} records in {elapsed:?}, {} batches ({:.1} records/batch), {:?} per batch writing+syncing",
            s.records,
            s.batches,
            s.records as f64 / s.batches.max(1) as f64,
            s.write_time / u32::try_from(s.batches.max(1)).unwrap_or(u32::MAX)
        );
    }
    log.close().await;
    elapsed
}

fn bench_append(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("append_durable");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(1));
    for tasks in [1u64, 64, 256] {
        group.bench_function(format!("{tasks}_tasks"), |b| {
            b.iter_custom(|iters| {
                let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                    .unwrap_or_else(|e| panic!("{e}"));
                rt.block_on(durable_appends(Some(dir.path()), tasks, iters.max(tasks)))
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("append_fixed_200us_sync");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(1));
    for tasks in [64u64, 256] {
        group.bench_function(format!("{tasks}_tasks"), |b| {
            b.iter_custom(|iters| rt.block_on(durable_appends(None, tasks, iters.max(tasks))))
        });
    }
    group.finish();
}

/// An export of `n` records (checkpoint every 1,000) built in memory.
fn export_file(n: u64) -> Vec<u8> {
    let signer = signer();
    let mut chain = AuditChain::new("bench").unwrap_or_else(|e| panic!("{e}"));
    let mut lines = Vec::with_capacity(n as usize + n as usize / 1000 + 1);
    for i in 0..n {
        let event = PreparedEvent::new(request(i)).unwrap_or_else(|e| panic!("{e}"));
        let (_, line) = chain.append(1_700_000_000_000 + i as i64, event);
        lines.push(Ok(line));
        if (i + 1).is_multiple_of(1000) {
            let head = chain.head();
            lines.push(Ok(signer.checkpoint("bench", &head, head.time).to_line()));
        }
    }
    let mut out = Vec::new();
    export(lines, ExportRange::default(), &signer, &[], &mut out).unwrap_or_else(|e| panic!("{e}"));
    out
}

fn bench_verify(c: &mut Criterion) {
    const N: u64 = 200_000;
    let keys = [signer().public_key().clone()];
    let mut group = c.benchmark_group("verify");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N));
    // Built on first use, so only when this benchmark runs.
    let file = std::sync::OnceLock::new();
    group.bench_function("export_200k", |b| {
        let file = file.get_or_init(|| {
            let file = export_file(N);
            println!(
                "export file: {N} records, {} bytes ({} bytes/record)",
                file.len(),
                file.len() as u64 / N
            );
            file
        });
        b.iter(|| {
            let report = verify(Cursor::new(black_box(file)), &keys);
            assert!(report.is_ok(), "{report:?}");
        })
    });
    group.finish();
}

fn bench_chain(c: &mut Criterion) {
    let mut group = c.benchmark_group("chain");
    group.throughput(Throughput::Elements(1));
    let mut chain = AuditChain::new("bench").unwrap_or_else(|e| panic!("{e}"));
    let mut i = 0u64;
    group.bench_function("prepare_and_append_in_memory", |b| {
        b.iter(|| {
            i += 1;
            let event = PreparedEvent::new(request(i)).unwrap_or_else(|e| panic!("{e}"));
            black_box(chain.append(1_700_000_000_000, event));
        })
    });
    group.finish();
}

criterion_group!(benches, bench_chain, bench_verify, bench_append);
criterion_main!(benches);
