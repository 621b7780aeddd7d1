//! Every example policy under `examples/policies/` passes its test file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use modelgate_policy::{CompiledPolicies, run_tests};

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies")
}

#[test]
fn every_example_policy_passes_its_test_file() {
    let dir = examples_dir();
    let set = CompiledPolicies::from_dir(&[], &dir).unwrap();
    let mut tests: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".test.toml"))
        .collect();
    tests.sort();

    // Each policy file has its own test file.
    for policy in set.files() {
        let stem = policy
            .name
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            tests
                .iter()
                .any(|t| t.file_name().unwrap().to_string_lossy() == format!("{stem}.test.toml")),
            "{stem}.cedar has no test file"
        );
    }
    assert_eq!(set.files().len(), 6);

    let report = run_tests(&set, &tests).unwrap();
    assert!(report.passed(), "{report}");
    assert!(
        report.cases.len() >= 30,
        "only {} cases",
        report.cases.len()
    );
    // Every test file exercises both outcomes.
    for test in &tests {
        let of_file: Vec<_> = report.cases.iter().filter(|c| &c.file == test).collect();
        assert!(
            of_file.iter().any(|c| c.decision.allowed),
            "{}",
            test.display()
        );
        assert!(
            of_file.iter().any(|c| !c.decision.allowed),
            "{}",
            test.display()
        );
    }
}

#[test]
fn a_wrong_expectation_fails_with_what_was_decided() {
    let set = CompiledPolicies::from_dir(&[], &examples_dir()).unwrap();
    let text = std::fs::read_to_string(examples_dir().join("ci-embeddings-only.test.toml"))
        .unwrap()
        .replacen(
            "reason = \"only call embeddings\"",
            "reason = \"something else\"",
            1,
        );
    let results =
        modelgate_policy::run_test_text(&set, Path::new("edited.test.toml"), &text).unwrap();
    let failed: Vec<_> = results.iter().filter(|c| !c.passed()).collect();
    assert_eq!(failed.len(), 1);
    let why = failed[0].failure.as_deref().unwrap();
    assert!(why.contains("something else"), "{why}");
    assert!(why.contains("ci-embeddings-only"), "{why}");
}
