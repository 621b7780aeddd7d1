//! Durable audit appends through the store sink (SQLite, synced WAL commit
//! per batch), with many concurrent appenders: the default sink's
//! throughput. Reported in records/s ("elem/s").

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelgate_audit::{AuditConfig, AuditEvent, AuditLog, AuditSigner, RequestRecord};
use modelgate_core::audit::StoreAuditSink;
use modelgate_store::Store;

fn request(i: u64) -> AuditEvent {
    AuditEvent::Request(RequestRecord {
        request_id: format!("req_{i:016x}"),
        phase: Some(
            if i.is_multiple_of(2) {
                "admit"
            } else {
                "complete"
            }
            .into(),
        ),
        identity: Some("svc-checkout".into()),
        credential_id: Some("key_01HZX3Q8aBcDeFgHiJkL".into()),
        credential_kind: Some("api_key".into()),
        auth_method: Some("api_key".into()),
        client_addr: Some("10.1.2.3:51234".into()),
        user_agent: Some("OpenAI/Python 1.99.0".into()),
        operation: Some("chat".into()),
        model: Some("gpt-4o-mini".into()),
        upstream: Some("openai-eu".into()),
        deployment: Some("hosted".into()),
        region: Some("eu-west".into()),
        decision: Some("allow".into()),
        action: Some("forwarded".into()),
        status: Some(200),
        gateway_us: Some(310),
        upstream_us: Some(120_000),
        tokens_in: Some(42),
        tokens_out: Some(128),
        ..Default::default()
    })
}

async fn durable_appends(log: &AuditLog, tasks: u64, total: u64) -> Duration {
    let per_task = total / tasks;
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let log = log.clone();
        handles.push(tokio::spawn(async move {
            for i in 0..per_task {
                if let Err(e) = log.append(request(t * per_task + i)).await {
                    panic!("append failed: {e}");
                }
            }
        }));
    }
    for h in handles {
        if let Err(e) = h.await {
            panic!("{e}");
        }
    }
    started.elapsed()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let log = runtime.block_on(async {
        let store = Store::open_sqlite(&dir.path().join("bench.db"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let signer = Arc::new(AuditSigner::from_seed(&[7u8; 32]).unwrap_or_else(|e| panic!("{e}")));
        let sink = StoreAuditSink::open(&store, "bench").unwrap_or_else(|e| panic!("{e}"));
        AuditLog::start(vec![Box::new(sink)], signer, AuditConfig::new("bench"))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    let mut group = c.benchmark_group("audit_store_sink");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(1));
    for tasks in [1u64, 64, 256] {
        group.bench_function(format!("{tasks}_tasks"), |b| {
            b.iter_custom(|iters| {
                let total = iters.max(tasks);
                let elapsed = runtime.block_on(durable_appends(&log, tasks, total));
                elapsed.mul_f64(iters as f64 / (total - total % tasks) as f64)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
