//! Sizing the connection pool: the token endpoint's store work (a
//! federated subject token noted for replay, the identity read, the minted
//! token recorded: two writes and a read, as one exchange does) from many
//! concurrent tasks, at pool sizes 2, 4, 8 and 16, on SQLite and, when
//! `MODELGATE_BENCH_PG_URL` names a PostgreSQL database
//! (`MODELGATE_BENCH_PG_PASSWORD` and `MODELGATE_BENCH_PG_CA` beside it), on
//! PostgreSQL in the same run.
//!
//! `cargo bench -p modelgate-store --bench pool` prints one row per backend,
//! pool size and concurrency: exchanges per second and the p50/p99 latency
//! of one exchange's store work. A multi-thread runtime with two workers:
//! the gateway's shape on this machine.

// Benchmark setup: a failure should abort loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use modelgate_store::{
    IdentityRecord, IssuedTokenRecord, PostgresOptions, SchemaPolicy, SqliteOptions, Store,
};

const POOL_SIZES: [u32; 4] = [2, 4, 8, 16];
const CONCURRENCY: [usize; 2] = [16, 64];
const MEASURE: Duration = Duration::from_secs(3);
const WARM_UP: Duration = Duration::from_millis(500);
const IDENTITIES: usize = 64;

fn identity(i: usize) -> IdentityRecord {
    IdentityRecord {
        id: format!("id_{i:04}"),
        name: format!("bench-{i:04}"),
        kind: "service".to_owned(),
        owner: "team-bench".to_owned(),
        environment: "prod".to_owned(),
        purpose: "pool sizing".to_owned(),
        status: "active".to_owned(),
        created_at: 1_000,
        last_used_at: None,
    }
}

/// One exchange's store work; `n` makes its ids unique across the run.
async fn exchange(store: &Store, run: &str, n: u64, now: i64) {
    let i = (n as usize) % IDENTITIES;
    let fresh = store
        .note_subject_token(
            "https://issuer.example",
            &format!("{run}-sub-{n}"),
            now + 600,
            now,
        )
        .await
        .unwrap();
    assert!(fresh);
    let who = store
        .identity_by_name(&format!("bench-{i:04}"))
        .await
        .unwrap()
        .unwrap();
    let jti = format!("{run}-jti-{n}");
    store
        .record_issued_token(&IssuedTokenRecord {
            jti: jti.clone(),
            identity_id: who.id,
            family: jti,
            issued_at: now,
            expires_at: now + 600,
        })
        .await
        .unwrap();
}

struct Outcome {
    per_second: f64,
    p50_us: u64,
    p99_us: u64,
}

async fn measure(store: Arc<Store>, run: &str, concurrency: usize) -> Outcome {
    let now = modelgate_types::clock::unix_now();
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measuring_from = start + WARM_UP;
    let until = measuring_from + MEASURE;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (store, next, run) = (Arc::clone(&store), Arc::clone(&next), run.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let began = Instant::now();
                if began >= until {
                    return latencies;
                }
                exchange(&store, &run, next.fetch_add(1, Ordering::Relaxed), now).await;
                if began >= measuring_from {
                    latencies.push(began.elapsed().as_micros() as u64);
                }
            }
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_unstable();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    Outcome {
        per_second: all.len() as f64 / MEASURE.as_secs_f64(),
        p50_us: at(0.50),
        p99_us: at(0.99),
    }
}

async fn seed(store: &Store) {
    for i in 0..IDENTITIES {
        match store.insert_identity(&identity(i)).await {
            Ok(()) | Err(modelgate_store::StoreError::Conflict(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

fn postgres_options(max_connections: u32) -> Option<PostgresOptions> {
    let url = std::env::var("MODELGATE_BENCH_PG_URL").ok()?;
    let mut options = PostgresOptions::new(url);
    options.password = std::env::var("MODELGATE_BENCH_PG_PASSWORD").ok();
    options.ca_file = std::env::var_os("MODELGATE_BENCH_PG_CA").map(Into::into);
    options.max_connections = max_connections;
    Some(options)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let run = format!("r{}", std::process::id());
    println!("| backend | pool | tasks | exchanges/s | p50 µs | p99 µs |");
    println!("|---|---|---|---|---|---|");
    runtime.block_on(async {
        for size in POOL_SIZES {
            let mut backends = Vec::new();
            let sqlite = SqliteOptions {
                max_connections: size,
                ..SqliteOptions::default()
            };
            let path = dir.path().join(format!("pool-{size}.db"));
            backends.push((
                "sqlite",
                Store::open_sqlite_with(&path, &sqlite).await.unwrap(),
            ));
            if let Some(options) = postgres_options(size) {
                let store = Store::open_postgres(&options, SchemaPolicy::Migrate)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                backends.push(("postgres", store));
            }
            for (name, store) in backends {
                seed(&store).await;
                let store = Arc::new(store);
                for tasks in CONCURRENCY {
                    let label = format!("{run}-{name}-{size}-{tasks}");
                    let o = measure(Arc::clone(&store), &label, tasks).await;
                    println!(
                        "| {name} | {size} | {tasks} | {:.0} | {} | {} |",
                        o.per_second, o.p50_us, o.p99_us
                    );
                }
                store.close().await;
            }
        }
    });
}
