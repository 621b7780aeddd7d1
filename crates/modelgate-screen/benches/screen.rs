//! Screening throughput: clean prose, clean code, non-ASCII prose,
//! candidate-dense text (64 KiB each) and 2 KiB prompts; plus a stream of
//! 64-byte chunks. Targets: ≥ 1 GB/s per core on clean prose and code,
//! ≥ 200 MB/s on candidate-dense text.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use modelgate_screen::Screener;
use modelgate_screen::corpus::{BenchText, DEFAULT_SEED, bench_text};

const LEN: usize = 64 * 1024;

fn scan(c: &mut Criterion) {
    let screener = Screener::builtin();
    let mut group = c.benchmark_group("scan");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    for (name, kind, len) in [
        ("prose_64k", BenchText::Prose, LEN),
        ("code_64k", BenchText::Code, LEN),
        ("non_ascii_64k", BenchText::NonAscii, LEN),
        ("dense_64k", BenchText::Dense, LEN),
        ("prompt_2k", BenchText::Prompt, 2048),
    ] {
        let text = bench_text(kind, len, DEFAULT_SEED);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| b.iter(|| screener.scan(black_box(&text))));
    }
    group.finish();
}

fn stream(c: &mut Criterion) {
    let screener = Screener::builtin();
    let text = bench_text(BenchText::Prose, LEN, DEFAULT_SEED);
    let mut group = c.benchmark_group("stream");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("prose_64k_in_256b_chunks", |b| {
        b.iter(|| {
            let mut s = screener.stream();
            let mut out = 0;
            for chunk in text.as_bytes().chunks(256) {
                // Bench text is ASCII-only prose, so byte chunks are valid UTF-8.
                out += s.push(std::str::from_utf8(chunk).unwrap_or("")).text.len();
            }
            out + s.finish().text.len()
        })
    });
    group.finish();
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build");
    group
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
        .sample_size(10);
    group.bench_function("builtin", |b| b.iter(Screener::builtin));
    group.finish();
}

criterion_group!(benches, scan, stream, build);
criterion_main!(benches);
