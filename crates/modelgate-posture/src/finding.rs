//! A finding: one OWASP NHI Top 10 issue, its evidence and its remedy.

use serde::{Deserialize, Serialize};

use crate::frameworks::FrameworkRefs;

/// OWASP Non-Human Identities Top 10 (2025) items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum NhiItem {
    /// NHI1 Improper Offboarding.
    #[serde(rename = "NHI1")]
    Nhi1,
    /// NHI2 Secret Leakage.
    #[serde(rename = "NHI2")]
    Nhi2,
    /// NHI3 Vulnerable Third-Party NHI.
    #[serde(rename = "NHI3")]
    Nhi3,
    /// NHI4 Insecure Authentication.
    #[serde(rename = "NHI4")]
    Nhi4,
    /// NHI5 Overprivileged NHI.
    #[serde(rename = "NHI5")]
    Nhi5,
    /// NHI6 Insecure Cloud Deployment Configurations.
    #[serde(rename = "NHI6")]
    Nhi6,
    /// NHI7 Long-Lived Secrets.
    #[serde(rename = "NHI7")]
    Nhi7,
    /// NHI8 Environment Isolation.
    #[serde(rename = "NHI8")]
    Nhi8,
    /// NHI9 NHI Reuse.
    #[serde(rename = "NHI9")]
    Nhi9,
    /// NHI10 Human Use of NHI.
    #[serde(rename = "NHI10")]
    Nhi10,
}

impl NhiItem {
    /// All ten, in order.
    pub const ALL: [NhiItem; 10] = [
        NhiItem::Nhi1,
        NhiItem::Nhi2,
        NhiItem::Nhi3,
        NhiItem::Nhi4,
        NhiItem::Nhi5,
        NhiItem::Nhi6,
        NhiItem::Nhi7,
        NhiItem::Nhi8,
        NhiItem::Nhi9,
        NhiItem::Nhi10,
    ];

    /// `NHI1` ... `NHI10`.
    pub fn code(self) -> &'static str {
        match self {
            NhiItem::Nhi1 => "NHI1",
            NhiItem::Nhi2 => "NHI2",
            NhiItem::Nhi3 => "NHI3",
            NhiItem::Nhi4 => "NHI4",
            NhiItem::Nhi5 => "NHI5",
            NhiItem::Nhi6 => "NHI6",
            NhiItem::Nhi7 => "NHI7",
            NhiItem::Nhi8 => "NHI8",
            NhiItem::Nhi9 => "NHI9",
            NhiItem::Nhi10 => "NHI10",
        }
    }

    /// The item's title in the OWASP list.
    pub fn title(self) -> &'static str {
        match self {
            NhiItem::Nhi1 => "Improper Offboarding",
            NhiItem::Nhi2 => "Secret Leakage",
            NhiItem::Nhi3 => "Vulnerable Third-Party NHI",
            NhiItem::Nhi4 => "Insecure Authentication",
            NhiItem::Nhi5 => "Overprivileged NHI",
            NhiItem::Nhi6 => "Insecure Cloud Deployment Configurations",
            NhiItem::Nhi7 => "Long-Lived Secrets",
            NhiItem::Nhi8 => "Environment Isolation",
            NhiItem::Nhi9 => "NHI Reuse",
            NhiItem::Nhi10 => "Human Use of NHI",
        }
    }
}

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

/// The check that produced a finding; each belongs to one NHI item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingFamily {
    /// Identity unused for N days.
    UnusedIdentity,
    /// No owner recorded.
    OwnerMissing,
    /// Owner has left.
    OwnerDeparted,
    /// Live credentials on a disabled or offboarded identity.
    CredentialOnDisabledIdentity,
    /// A gateway key seen in a prompt.
    GatewayKeyInPrompt,
    /// Prompts that keep carrying credentials.
    RepeatedSecretsInPrompts,
    /// Confidential data sent to a retaining or contract-isolated hosted upstream.
    ConfidentialToRiskyHosted,
    /// API key in use where a federated issuer rule exists.
    KeyWhereFederationExists,
    /// API key used outside the token endpoint.
    KeyOutsideTokenEndpoint,
    /// Role or model granted and unused.
    UnusedEntitlement,
    /// Access-review item left unanswered past its due date.
    OverdueReviewItem,
    /// Issuer rule with weak claim conditions.
    WeakIssuerRule,
    /// Credential lifetime beyond the policy.
    LifetimeExceeded,
    /// Credential past its rotation date.
    RotationOverdue,
    /// Traffic to an upstream of another environment.
    CrossEnvironmentUpstream,
    /// Federated subjects from several environments.
    SubjectsFromSeveralEnvironments,
    /// One identity used by many workloads.
    SharedIdentity,
    /// Interactive clients, browser origins or office-hours use.
    HumanUse,
}

impl FindingFamily {
    /// Every family, in report order.
    pub const ALL: [FindingFamily; 18] = [
        FindingFamily::UnusedIdentity,
        FindingFamily::OwnerMissing,
        FindingFamily::OwnerDeparted,
        FindingFamily::CredentialOnDisabledIdentity,
        FindingFamily::GatewayKeyInPrompt,
        FindingFamily::RepeatedSecretsInPrompts,
        FindingFamily::ConfidentialToRiskyHosted,
        FindingFamily::KeyWhereFederationExists,
        FindingFamily::KeyOutsideTokenEndpoint,
        FindingFamily::UnusedEntitlement,
        FindingFamily::OverdueReviewItem,
        FindingFamily::WeakIssuerRule,
        FindingFamily::LifetimeExceeded,
        FindingFamily::RotationOverdue,
        FindingFamily::CrossEnvironmentUpstream,
        FindingFamily::SubjectsFromSeveralEnvironments,
        FindingFamily::SharedIdentity,
        FindingFamily::HumanUse,
    ];

    /// Short code used in finding ids (`nhi1.unused`).
    pub fn code(self) -> &'static str {
        match self {
            FindingFamily::UnusedIdentity => "nhi1.unused",
            FindingFamily::OwnerMissing => "nhi1.owner_missing",
            FindingFamily::OwnerDeparted => "nhi1.owner_departed",
            FindingFamily::CredentialOnDisabledIdentity => "nhi1.live_credential",
            FindingFamily::GatewayKeyInPrompt => "nhi2.gateway_key",
            FindingFamily::RepeatedSecretsInPrompts => "nhi2.repeated_secrets",
            FindingFamily::ConfidentialToRiskyHosted => "nhi3.confidential_hosted",
            FindingFamily::KeyWhereFederationExists => "nhi4.key_not_federated",
            FindingFamily::KeyOutsideTokenEndpoint => "nhi4.key_on_data_plane",
            FindingFamily::UnusedEntitlement => "nhi5.unused_entitlement",
            FindingFamily::OverdueReviewItem => "nhi5.review_overdue",
            FindingFamily::WeakIssuerRule => "nhi6.weak_rule",
            FindingFamily::LifetimeExceeded => "nhi7.lifetime",
            FindingFamily::RotationOverdue => "nhi7.rotation",
            FindingFamily::CrossEnvironmentUpstream => "nhi8.cross_env_upstream",
            FindingFamily::SubjectsFromSeveralEnvironments => "nhi8.multi_env_subjects",
            FindingFamily::SharedIdentity => "nhi9.reuse",
            FindingFamily::HumanUse => "nhi10.human_use",
        }
    }

    /// The OWASP item it belongs to.
    pub fn nhi(self) -> NhiItem {
        match self {
            FindingFamily::UnusedIdentity
            | FindingFamily::OwnerMissing
            | FindingFamily::OwnerDeparted
            | FindingFamily::CredentialOnDisabledIdentity => NhiItem::Nhi1,
            FindingFamily::GatewayKeyInPrompt | FindingFamily::RepeatedSecretsInPrompts => {
                NhiItem::Nhi2
            }
            FindingFamily::ConfidentialToRiskyHosted => NhiItem::Nhi3,
            FindingFamily::KeyWhereFederationExists | FindingFamily::KeyOutsideTokenEndpoint => {
                NhiItem::Nhi4
            }
            FindingFamily::UnusedEntitlement | FindingFamily::OverdueReviewItem => NhiItem::Nhi5,
            FindingFamily::WeakIssuerRule => NhiItem::Nhi6,
            FindingFamily::LifetimeExceeded | FindingFamily::RotationOverdue => NhiItem::Nhi7,
            FindingFamily::CrossEnvironmentUpstream
            | FindingFamily::SubjectsFromSeveralEnvironments => NhiItem::Nhi8,
            FindingFamily::SharedIdentity => NhiItem::Nhi9,
            FindingFamily::HumanUse => NhiItem::Nhi10,
        }
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
    use super::*;

    #[test]
    fn family_codes_are_unique_and_prefixed_by_their_item() {
        let mut codes: Vec<_> = FindingFamily::ALL.iter().map(|f| f.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), FindingFamily::ALL.len());
        for f in FindingFamily::ALL {
            let prefix = format!("{}.", f.nhi().code().to_lowercase());
            assert!(f.code().starts_with(&prefix), "{}", f.code());
        }
    }

    #[test]
    fn every_item_has_a_family() {
        for item in NhiItem::ALL {
            assert!(
                FindingFamily::ALL.iter().any(|f| f.nhi() == item),
                "{item:?}"
            );
        }
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        use super::shell_word;
        assert_eq!(shell_word("team-a@example.com"), "team-a@example.com");
        assert_eq!(shell_word("Dana O'Neil | ops"), "'Dana O'\\''Neil | ops'");
        assert_eq!(shell_word(""), "''");
    }
}
