//! Replays every committed corpus entry (`fuzz/corpus/<target>/`) and crash
//! reproducer (`fuzz/artifacts/<target>/`) through its target, without
//! instrumentation: a fixed crash stays fixed, and the targets keep running
//! on what the fuzzer found. Every directory must name a target, and every
//! target must have a corpus.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use modelgate_fuzz::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir` (none if it does not exist), sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != ".gitkeep"))
        .collect();
    files.sort();
    files
}

/// Runs every file of `kind/<target>/` through its target; returns the
/// files that panicked and how many ran.
fn replay(kind: &str) -> (Vec<String>, usize) {
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, target) in TARGETS {
        for file in files(&fuzz_dir().join(kind).join(name)) {
            let data = std::fs::read(&file).unwrap();
            ran += 1;
            if catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
                failed.push(file.display().to_string());
            }
        }
    }
    (failed, ran)
}

#[test]
fn every_corpus_entry_runs_clean() {
    let (failed, ran) = replay("corpus");
    assert!(failed.is_empty(), "targets panicked on: {failed:#?}");
    assert!(ran > 0);
}

#[test]
fn every_crash_reproducer_runs_clean() {
    let (failed, _) = replay("artifacts");
    assert!(failed.is_empty(), "targets panicked on: {failed:#?}");
}

#[test]
fn every_target_has_a_corpus_and_every_directory_a_target() {
    for (name, _) in TARGETS {
        assert!(
            !files(&fuzz_dir().join("corpus").join(name)).is_empty(),
            "no corpus for {name}"
        );
        let harness = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        assert!(harness.is_file(), "no fuzz target file for {name}");
    }
    for kind in ["corpus", "artifacts"] {
        for entry in std::fs::read_dir(fuzz_dir().join(kind)).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            assert!(
                TARGETS.iter().any(|(t, _)| *t == name),
                "fuzz/{kind}/{name} names no target"
            );
        }
    }
}

/// The token seeds are accepted, so the fuzzer starts past the signature
/// and claim checks (a change of key or settings would silently waste them).
#[test]
fn the_token_seeds_are_accepted() {
    use modelgate_fuzz::keys::NOW;
    let dir = fuzz_dir().join("corpus/access_token");
    for seed in ["seed-plain", "seed-delegated"] {
        let token = std::fs::read_to_string(dir.join(seed)).unwrap();
        let verified = modelgate_fuzz::access_tokens().verify(&token, NOW);
        assert!(verified.is_ok(), "{seed}: {verified:?}");
    }
}
