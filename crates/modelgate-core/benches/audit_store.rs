//! Durable audit appends through the store sink (SQLite, synced WAL commit
//! per batch), with many concurrent appenders: the default sink's
//! throughput. Reported in records/s ("elem/s").
//!
//! `audit_appender`: the store's [`AuditAppender`] alone, fixed batches of
//! ~600-byte lines, on SQLite and, when `MODELGATE_BENCH_PG_URL` names a
//! PostgreSQL database (`MODELGATE_BENCH_PG_PASSWORD`, `MODELGATE_BENCH_PG_CA`
//! beside it; start a durable one with `scripts/pg-cluster start DIR
//! --durable`), on PostgreSQL too, in the same run. The store sink group
//! then runs on PostgreSQL as well.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelgate_audit::{AuditConfig, AuditEvent, AuditLog, AuditSigner, RequestRecord};
use modelgate_core::audit::StoreAuditSink;
use modelgate_store::{AuditAppender, AuditEntryRow, PostgresOptions, Store};

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

/// The PostgreSQL store named by `MODELGATE_BENCH_PG_*`, if any.
async fn postgres_store() -> Option<Store> {
    let url = std::env::var("MODELGATE_BENCH_PG_URL").ok()?;
    let mut options = PostgresOptions::new(url);
    options.password = std::env::var("MODELGATE_BENCH_PG_PASSWORD").ok();
    options.ca_file = std::env::var_os("MODELGATE_BENCH_PG_CA").map(Into::into);
    let store = Store::open_postgres(&options, modelgate_store::SchemaPolicy::Migrate)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Some(store)
}

/// A batch of `size` request records with lines of ~600 bytes (a real
/// request record's length), seqs set per use.
fn batch(replica: &str, size: usize) -> Vec<AuditEntryRow> {
    (0..size)
        .map(|i| AuditEntryRow {
            replica: replica.to_owned(),
            time: 1_764_000_000_000 + i as i64,
            line: format!(
                "{{\"v\":1,\"seq\":{i},\"time\":1764000000000,\"kind\":\"request\",\
                 \"request_id\":\"req_{i:016x}\",\"phase\":\"complete\",\
                 \"identity\":\"svc-checkout\",\"credential_id\":\"key_01HZX3Q8aBcDeFgHiJkL\",\
                 \"client_addr\":\"10.1.2.3:51234\",\"user_agent\":\"OpenAI/Python 1.99.0\",\
                 \"operation\":\"chat\",\"model\":\"gpt-4o-mini\",\"upstream\":\"openai-eu\",\
                 \"decision\":\"allow\",\"action\":\"forwarded\",\"status\":200,\
                 \"tokens_in\":42,\"tokens_out\":128,\"prev\":\"{:064x}\",\"hmac\":\"{:064x}\"}}",
                u128::MAX - i as u128,
                i as u128 * 7_919,
            ),
            kind: Some("request".into()),
            identity: Some("svc-checkout".into()),
            model: Some("gpt-4o-mini".into()),
            decision: Some("allow".into()),
            action: Some("forwarded".into()),
            status: Some(200),
            bodies_expire: Some(1_764_086_400_000),
            ..AuditEntryRow::default()
        })
        .collect()
}

/// Appends `iters` batches of `rows.len()` records, seqs from `next_seq`.
fn append_batches(
    appender: &mut AuditAppender,
    rows: &mut [AuditEntryRow],
    next_seq: &mut i64,
    iters: u64,
) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        // Seqs and times rise as in a real chain (the indexes grow at
        // their right edge).
        for row in rows.iter_mut() {
            row.seq = *next_seq;
            row.time = 1_764_000_000_000 + *next_seq;
            row.bodies_expire = Some(row.time + 86_400_000);
            *next_seq += 1;
        }
        appender.append(rows).unwrap_or_else(|e| panic!("{e}"));
    }
    started.elapsed()
}

/// The appender alone, on the blocking thread it is made for (this one:
/// criterion's closures run outside the runtime).
fn bench_appender(c: &mut Criterion, stores: &[(&str, &Store)]) {
    // A replica of its own per run, so a database reused between runs
    // takes the new seqs.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut group = c.benchmark_group("audit_appender");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    for (name, store) in stores {
        let mut appender = store.audit_appender().unwrap_or_else(|e| panic!("{e}"));
        for size in [64usize, 256, 1024] {
            let mut rows = batch(&format!("bench-{run}-{size}"), size);
            let mut next_seq = 1;
            group.throughput(Throughput::Elements(size as u64));
            group.bench_function(format!("{name}/{size}_rows"), |b| {
                b.iter_custom(|iters| {
                    append_batches(&mut appender, &mut rows, &mut next_seq, iters)
                })
            });
        }
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sqlite = runtime.block_on(async {
        Store::open_sqlite(&dir.path().join("bench.db"))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    });
    let postgres = runtime.block_on(postgres_store());
    let mut stores = vec![("sqlite", &sqlite)];
    if let Some(store) = &postgres {
        stores.push(("postgres", store));
    }
    bench_appender(c, &stores);

    let mut group = c.benchmark_group("audit_store_sink");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(1));
    for (name, store) in &stores {
        let replica = format!("bench-{}", std::process::id());
        let log = runtime.block_on(async {
            let signer =
                Arc::new(AuditSigner::from_seed(&[7u8; 32]).unwrap_or_else(|e| panic!("{e}")));
            let sink =
                StoreAuditSink::open(store, replica.clone()).unwrap_or_else(|e| panic!("{e}"));
            AuditLog::start(vec![Box::new(sink)], signer, AuditConfig::new(replica))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        });
        // SQLite keeps the names of earlier runs.
        let prefix = if *name == "sqlite" {
            String::new()
        } else {
            format!("{name}_")
        };
        for tasks in [1u64, 64, 256] {
            group.bench_function(format!("{prefix}{tasks}_tasks"), |b| {
                b.iter_custom(|iters| {
                    let total = iters.max(tasks);
                    let elapsed = runtime.block_on(durable_appends(&log, tasks, total));
                    elapsed.mul_f64(iters as f64 / (total - total % tasks) as f64)
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
