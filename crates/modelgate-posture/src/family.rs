//! The OWASP NHI Top 10 (2025) items and the finding families (the checks)
//! that belong to them; shared by findings and the framework mapping.

use serde::{Deserialize, Serialize};

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
}
