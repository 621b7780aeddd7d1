//! A finding: one OWASP NHI Top 10 issue, its evidence and its remedy.

use serde::{Deserialize, Serialize};

pub use crate::family::{FindingFamily, NhiItem};
use crate::frameworks::FrameworkRefs;

/// How urgent a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Hygiene.
    Low,
    /// Fix this cycle.
    Medium,
    /// Fix this week.
    High,
    /// Fix now.
    Critical,
}

impl Severity {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// What a finding points at: ids only, never secret values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// Identity ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identities: Vec<String>,
    /// The names of those identities, in the same order (the id again for
    /// an identity the snapshot does not hold); filled by
    /// [`crate::findings`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity_names: Vec<String>,
    /// Credential ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<String>,
    /// Upstream names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upstreams: Vec<String>,
    /// Issuer names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub issuers: Vec<String>,
    /// Audit record ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit_records: Vec<String>,
    /// Facts that support the finding (ages, counts, patterns).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<String>,
}

/// One posture finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id: the family code and the subject, such as
    /// `nhi1.unused:id_42`; the same state yields the same ids.
    pub id: String,
    /// Which check produced it.
    pub family: FindingFamily,
    /// The OWASP NHI Top 10 item.
    pub nhi: NhiItem,
    /// Urgency.
    pub severity: Severity,
    /// One line saying what is wrong.
    pub title: String,
    /// What supports it.
    pub evidence: Evidence,
    /// A command (or config change) that fixes it.
    pub remediation: String,
    /// NIST CSF 2.0 and AI RMF 1.0 references.
    pub frameworks: FrameworkRefs,
}

impl Evidence {
    /// The identities as `name (id)`, or the id alone when no name is known.
    pub fn identities_named(&self) -> Vec<String> {
        self.identities
            .iter()
            .enumerate()
            .map(|(i, id)| match self.identity_names.get(i) {
                Some(name) if name != id => format!("{name} ({id})"),
                _ => id.clone(),
            })
            .collect()
    }
}

impl Finding {
    /// A finding of `family` about `subject`, with the family's NHI item and
    /// framework references filled in.
    pub fn new(
        family: FindingFamily,
        subject: &str,
        severity: Severity,
        title: String,
        evidence: Evidence,
        remediation: String,
    ) -> Finding {
        Finding {
            id: format!("{}:{subject}", family.code()),
            family,
            nhi: family.nhi(),
            severity,
            title,
            evidence,
            remediation,
            frameworks: crate::frameworks::refs_for(family),
        }
    }
}

/// `value` as one word of a POSIX shell command line: as is when it holds
/// only safe characters, otherwise in single quotes (remediation commands
/// name owners such as `Dana O'Neil <dana@example.com>`).
pub(crate) fn shell_word(value: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !value.is_empty() && value.chars().all(safe) {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shell_words_are_quoted_when_needed() {
        use super::shell_word;
        assert_eq!(shell_word("team-a@example.com"), "team-a@example.com");
        assert_eq!(shell_word("Dana O'Neil | ops"), "'Dana O'\\''Neil | ops'");
        assert_eq!(shell_word(""), "''");
    }
}
