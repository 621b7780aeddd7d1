//! Test files that cannot be run are errors, not failed cases.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use modelgate_policy::{CompiledPolicies, TestFileError, run_test_text, run_tests};

fn set() -> CompiledPolicies {
    CompiledPolicies::compile(&[], vec![]).unwrap()
}

#[test]
fn malformed_toml_names_file_and_line() {
    let err = run_test_text(
        &set(),
        Path::new("t.test.toml"),
        "[[case]]\nname = \"x\"\nexpect = \n",
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, TestFileError::Format { .. }), "{text}");
    assert!(text.starts_with("t.test.toml:"), "{text}");
    assert!(text.contains("line 3"), "{text}");
}

#[test]
fn a_case_without_expect_or_with_a_bad_field_is_refused() {
    for text in [
        "[[case]]\nname = \"x\"\n",
        "[[case]]\nname = \"x\"\nexpect = \"allow\"\nmodle = \"gpt\"\n",
        "[[case]]\nexpect = \"allow\"\n",
        "[[case]]\nname = \"x\"\nexpect = \"perhaps\"\n",
        "[[case]]\nname = \"x\"\nexpect = \"allow\"\nupstream = \"undeclared\"\n",
    ] {
        let err = run_test_text(&set(), Path::new("t.test.toml"), text).unwrap_err();
        assert!(matches!(err, TestFileError::Format { .. }), "{text}: {err}");
    }
}

#[test]
fn invalid_roles_in_a_test_file_are_reported() {
    let text = "[[role]]\nname = \"bad name\"\nmodels = [\"*\"]\nactions = [\"chat\"]\n";
    let err = run_test_text(&set(), Path::new("t.test.toml"), text).unwrap_err();
    assert!(matches!(err, TestFileError::Compile { .. }), "{err}");
}

#[test]
fn a_missing_file_is_a_read_error() {
    let err = run_tests(&set(), &["/nonexistent/x.test.toml".into()]).unwrap_err();
    assert!(matches!(err, TestFileError::Read { .. }), "{err}");
}

#[test]
fn a_file_without_roles_uses_the_sets_roles() {
    let text = "[[case]]\nname = \"no role\"\nexpect = \"deny\"\nreason = \"holds no role\"\n\
                [[case]]\nname = \"wrongly expected\"\nexpect = \"allow\"\n";
    let results = run_test_text(&set(), Path::new("t.test.toml"), text).unwrap();
    assert!(results[0].passed(), "{:?}", results[0].failure);
    assert!(!results[1].passed());
    assert!(
        results[1]
            .failure
            .as_deref()
            .unwrap()
            .contains("expected allow, got deny")
    );
}
