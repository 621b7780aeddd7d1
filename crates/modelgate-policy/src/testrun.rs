//! Running policy test files (`modelgate policy test FILE...`).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::compiled::CompiledPolicies;
use crate::decision::Decision;
use crate::error::LoadError;
use crate::testfile::{Expectation, TestFile};

/// A test file that could not be run (as opposed to a case that failed).
#[derive(Debug, thiserror::Error)]
pub enum TestFileError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid test file (TOML error with line and column).
    #[error("{}: {message}", file.display())]
    Format {
        /// The file.
        file: PathBuf,
        /// What is wrong, and where.
        message: String,
    },
    /// The policies could not be compiled with the file's `[[role]]`s.
    #[error("{}: policies do not compile with this file's roles: {source}", file.display())]
    Compile {
        /// The file.
        file: PathBuf,
        /// Why.
        #[source]
        source: LoadError,
    },
}

/// The outcome of one case.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The test file.
    pub file: PathBuf,
    /// The case's name.
    pub name: String,
    /// What was expected.
    pub expected: Expectation,
    /// What the policies decided.
    pub decision: Decision,
    /// Why the case failed; `None` when it passed.
    pub failure: Option<String>,
}

impl CaseResult {
    /// Whether the decision matched every expectation of the case.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Every case of a test run.
#[derive(Clone, Debug, Default)]
pub struct TestReport {
    /// Results in file and case order.
    pub cases: Vec<CaseResult>,
}

impl TestReport {
    /// Whether every case passed.
    pub fn passed(&self) -> bool {
        self.cases.iter().all(CaseResult::passed)
    }

    /// The cases that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CaseResult> {
        self.cases.iter().filter(|c| !c.passed())
    }
}

impl fmt::Display for TestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for case in &self.cases {
            match &case.failure {
                None => writeln!(f, "ok    {}: {}", case.file.display(), case.name)?,
                Some(why) => writeln!(f, "FAIL  {}: {}: {why}", case.file.display(), case.name)?,
            }
        }
        let failed = self.failures().count();
        write!(f, "{} passed, {failed} failed", self.cases.len() - failed)
    }
}

/// Runs every case of `files` against `set` (or against the set's policy
/// files compiled with a test file's own `[[role]]`s, when it has some).
pub fn run_tests(set: &CompiledPolicies, files: &[PathBuf]) -> Result<TestReport, TestFileError> {
    let mut report = TestReport::default();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|source| TestFileError::Read {
            file: file.clone(),
            source,
        })?;
        report.cases.extend(run_test_text(set, file, &text)?);
    }
    Ok(report)
}

/// Runs the cases of one test file's text; `file` names it in results.
pub fn run_test_text(
    set: &CompiledPolicies,
    file: &Path,
    text: &str,
) -> Result<Vec<CaseResult>, TestFileError> {
    let parsed: TestFile = toml::from_str(text).map_err(|e| TestFileError::Format {
        file: file.to_path_buf(),
        message: e.to_string(),
    })?;
    let own;
    let set = match &parsed.roles {
        None => set,
        Some(roles) => {
            own = CompiledPolicies::compile(roles, set.files().to_vec()).map_err(|source| {
                TestFileError::Compile {
                    file: file.to_path_buf(),
                    source,
                }
            })?;
            &own
        }
    };
    let mut results = Vec::with_capacity(parsed.cases.len());
    for case in &parsed.cases {
        let facts = case
            .facts
            .or(&parsed.defaults)
            .to_facts(&parsed.upstreams)
            .map_err(|message| TestFileError::Format {
                file: file.to_path_buf(),
                message: format!("case {:?}: {message}", case.name),
            })?;
        let decision = set.decide(&facts);
        let failure = check(
            case.expect,
            case.reason.as_deref(),
            case.policy.as_deref(),
            &decision,
        );
        results.push(CaseResult {
            file: file.to_path_buf(),
            name: case.name.clone(),
            expected: case.expect,
            decision,
            failure,
        });
    }
    Ok(results)
}

fn check(
    expect: Expectation,
    reason: Option<&str>,
    policy: Option<&str>,
    decision: &Decision,
) -> Option<String> {
    let said = |d: &Decision| {
        let verdict = if d.allowed { "allow" } else { "deny" };
        let reason = d
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        format!("{verdict}{reason} by [{}]", d.policy_ids.join(", "))
    };
    if expect.is_allow() != decision.allowed {
        let want = if expect.is_allow() { "allow" } else { "deny" };
        return Some(format!("expected {want}, got {}", said(decision)));
    }
    if let Some(want) = reason {
        let got = decision.reason.as_deref().unwrap_or("");
        if !got.contains(want) {
            return Some(format!(
                "reason does not contain {want:?}: got {}",
                said(decision)
            ));
        }
    }
    match policy {
        Some(want) if !decision.policy_ids.iter().any(|id| id == want) => Some(format!(
            "policy {want:?} did not decide: got {}",
            said(decision)
        )),
        _ => None,
    }
}
