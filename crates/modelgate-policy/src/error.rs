//! Why a policy set could not be loaded.

use std::fmt;
use std::path::PathBuf;

use crate::role::RoleError;

/// One problem in one policy file, at a place in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyProblem {
    /// The file, as it was named when loaded.
    pub file: PathBuf,
    /// 1-based line, when the problem has a place.
    pub line: Option<usize>,
    /// 1-based column (in characters), when the problem has a place.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PolicyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        write!(f, ": {}", self.message)
    }
}

/// A policy set that was refused; whatever set was active stays active.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A policy file or directory could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A role definition is invalid.
    #[error(transparent)]
    Role(#[from] RoleError),
    /// Policies failed to parse or validate; every problem found is listed.
    #[error("{}", ProblemList(.0))]
    Policies(Vec<PolicyProblem>),
    /// The built-in schema or role policies were refused by Cedar: a bug in
    /// this crate, never a user's mistake.
    #[error("internal policy error: {0}")]
    Internal(String),
}

impl LoadError {
    /// The problems with places, if this is a parse or validation failure.
    pub fn problems(&self) -> &[PolicyProblem] {
        match self {
            LoadError::Policies(problems) => problems,
            _ => &[],
        }
    }
}

struct ProblemList<'a>(&'a [PolicyProblem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} policy problem{}", if n == 1 { "" } else { "s" })?;
        for problem in self.0 {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_print_file_line_and_column() {
        let err = LoadError::Policies(vec![
            PolicyProblem {
                file: "policies/a.cedar".into(),
                line: Some(3),
                column: Some(7),
                message: "unexpected token".into(),
            },
            PolicyProblem {
                file: "policies/b.cedar".into(),
                line: None,
                column: None,
                message: "unreadable".into(),
            },
        ]);
        let text = err.to_string();
        assert!(text.starts_with("2 policy problems"));
        assert!(text.contains("policies/a.cedar:3:7: unexpected token"));
        assert!(text.contains("policies/b.cedar: unreadable"));
    }
}
