//! The framework mapping: controls the gateway enforces, and each finding
//! family, mapped to NIST CSF 2.0 and NIST AI RMF 1.0 identifiers.

use serde::{Deserialize, Serialize};

use crate::family::FindingFamily;

/// NIST CSF 2.0 subcategories this crate maps to.
/// (CSF 1.1's PR.AC-4 became PR.AA-05 in 2.0.)
pub const CSF_IDS: [&str; 14] = [
    "PR.AA-01", "PR.AA-02", "PR.AA-03", "PR.AA-04", "PR.AA-05", "PR.PS-04", "DE.CM-03", "DE.CM-06",
    "DE.CM-09", "DE.AE-02", "RS.AN-06", "RS.AN-07", "GV.RR-02", "GV.SC-07",
];

/// NIST AI RMF 1.0 subcategories this crate maps to.
pub const AI_RMF_IDS: [&str; 10] = [
    "GOVERN 1.6",
    "GOVERN 1.7",
    "GOVERN 6.1",
    "GOVERN 6.2",
    "MAP 4.1",
    "MAP 4.2",
    "MEASURE 2.7",
    "MANAGE 2.4",
    "MANAGE 3.1",
    "MANAGE 4.1",
];

/// Framework identifiers attached to a finding or control.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkRefs {
    /// NIST CSF 2.0 subcategories.
    pub csf: Vec<String>,
    /// NIST AI RMF 1.0 subcategories.
    pub ai_rmf: Vec<String>,
}

/// A control the gateway enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Control {
    /// Stable id.
    pub id: &'static str,
    /// What the gateway does.
    pub description: &'static str,
    /// NIST CSF 2.0 subcategories it supports.
    pub csf: &'static [&'static str],
    /// NIST AI RMF 1.0 subcategories it supports.
    pub ai_rmf: &'static [&'static str],
}

/// The controls the gateway enforces.
pub const CONTROLS: &[Control] = &[
    Control {
        id: "identity-inventory",
        description: "Every caller is a registered identity with a required owner, kind and environment; `modelgate inventory` lists them with credentials, roles and upstreams used",
        csf: &["PR.AA-01", "GV.RR-02"],
        ai_rmf: &["GOVERN 1.6"],
    },
    Control {
        id: "workload-federation",
        description: "Workload identity tokens (GitHub Actions, Kubernetes, SPIFFE, OIDC) exchanged for gateway tokens under pinned issuers, algorithm allow-lists and claim rules",
        csf: &["PR.AA-02", "PR.AA-03", "PR.AA-04"],
        ai_rmf: &["MEASURE 2.7"],
    },
    Control {
        id: "short-lived-tokens",
        description: "Gateway access tokens live minutes, are signed with Ed25519 and checked for issuer, audience, expiry and revocation on every request",
        csf: &["PR.AA-01", "PR.AA-03", "PR.AA-04"],
        ai_rmf: &["MEASURE 2.7"],
    },
    Control {
        id: "key-lifecycle",
        description: "API keys require an expiry capped by policy, are stored hashed, rotate with a grace window and revoke at once",
        csf: &["PR.AA-01"],
        ai_rmf: &["MANAGE 2.4"],
    },
    Control {
        id: "offboarding",
        description: "Offboarding disables an identity, revokes every key and refuses every token in one transaction",
        csf: &["PR.AA-01"],
        ai_rmf: &["GOVERN 1.7", "MANAGE 2.4"],
    },
    Control {
        id: "least-privilege",
        description: "Roles grant standing access, just-in-time grants expire, access reviews keep or revoke each entitlement",
        csf: &["PR.AA-05"],
        ai_rmf: &["MEASURE 2.7"],
    },
    Control {
        id: "policy-as-code",
        description: "Cedar policy decides every request with identity, data class, findings and upstream properties in context; deny by default",
        csf: &["PR.AA-05"],
        ai_rmf: &["MAP 4.2"],
    },
    Control {
        id: "prompt-screening",
        description: "Prompts screened for secrets and personal data before any upstream sees them; block, redact or keep on self-hosted models",
        csf: &["DE.CM-09", "DE.AE-02"],
        ai_rmf: &["MEASURE 2.7", "MAP 4.2"],
    },
    Control {
        id: "data-class-routing",
        description: "Routing honours data class, residency, retention and isolation of each upstream",
        csf: &["GV.SC-07", "PR.AA-05"],
        ai_rmf: &["GOVERN 6.1", "MAP 4.1", "MAP 4.2"],
    },
    Control {
        id: "tamper-evident-audit",
        description: "Every request, allowed or denied, is recorded in a hash-chained, signed audit log that a third party can verify; no audit write, no forward",
        csf: &["PR.PS-04", "RS.AN-06", "RS.AN-07"],
        ai_rmf: &["MANAGE 4.1"],
    },
    Control {
        id: "usage-monitoring",
        description: "Per-identity usage (upstreams, subjects, addresses, user agents, hours) and provider traffic monitored and turned into posture findings",
        csf: &["DE.CM-03", "DE.CM-06", "DE.AE-02"],
        ai_rmf: &["MANAGE 3.1", "MANAGE 4.1"],
    },
    Control {
        id: "upstream-readiness",
        description: "Each upstream names owners for patching, incident response and offboarding and a rotation policy; `require_readiness` refuses unready upstreams",
        csf: &["GV.RR-02", "GV.SC-07"],
        ai_rmf: &["GOVERN 6.1", "GOVERN 6.2"],
    },
    Control {
        id: "upstream-fallback",
        description: "Circuit breakers and fallback targets keep a model reachable when one provider fails",
        csf: &["GV.SC-07"],
        ai_rmf: &["GOVERN 6.2", "MEASURE 2.7"],
    },
];

/// The framework references of a finding family.
pub fn refs_for(family: FindingFamily) -> FrameworkRefs {
    use FindingFamily as F;
    let (csf, ai_rmf): (&[&str], &[&str]) = match family {
        F::UnusedIdentity => (&["PR.AA-01"], &["GOVERN 1.7", "MANAGE 2.4"]),
        F::OwnerMissing => (&["PR.AA-01", "GV.RR-02"], &["GOVERN 1.6"]),
        F::OwnerDeparted => (&["PR.AA-01", "GV.RR-02"], &["GOVERN 1.7"]),
        F::CredentialOnDisabledIdentity => (&["PR.AA-01"], &["GOVERN 1.7", "MANAGE 2.4"]),
        F::GatewayKeyInPrompt => (
            &["PR.AA-01", "DE.CM-09", "DE.AE-02"],
            &["MEASURE 2.7", "MANAGE 4.1"],
        ),
        F::RepeatedSecretsInPrompts => (&["DE.CM-09", "DE.AE-02"], &["MEASURE 2.7"]),
        F::ConfidentialToRiskyHosted => (
            &["GV.SC-07", "DE.CM-06"],
            &["GOVERN 6.1", "MAP 4.1", "MAP 4.2", "MANAGE 3.1"],
        ),
        F::KeyWhereFederationExists => (&["PR.AA-02", "PR.AA-03"], &["MEASURE 2.7"]),
        F::KeyOutsideTokenEndpoint => (&["PR.AA-03"], &["MEASURE 2.7"]),
        F::UnusedEntitlement => (&["PR.AA-05"], &["MEASURE 2.7"]),
        F::OverdueReviewItem => (&["PR.AA-05", "GV.RR-02"], &["MEASURE 2.7"]),
        F::WeakIssuerRule => (&["PR.AA-02", "PR.AA-04"], &["MEASURE 2.7"]),
        F::LifetimeExceeded | F::RotationOverdue => (&["PR.AA-01"], &["MEASURE 2.7"]),
        F::CrossEnvironmentUpstream => (&["PR.AA-05", "DE.CM-09"], &["MEASURE 2.7"]),
        F::SubjectsFromSeveralEnvironments => (&["PR.AA-02", "PR.AA-05"], &["MEASURE 2.7"]),
        F::SharedIdentity => (&["PR.AA-02", "DE.CM-03"], &["MEASURE 2.7"]),
        F::HumanUse => (&["PR.AA-02", "DE.CM-03", "DE.AE-02"], &["MEASURE 2.7"]),
    };
    FrameworkRefs {
        csf: csf.iter().map(|s| (*s).to_owned()).collect(),
        ai_rmf: ai_rmf.iter().map(|s| (*s).to_owned()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_refs() -> (Vec<String>, Vec<String>) {
        let mut csf = Vec::new();
        let mut rmf = Vec::new();
        for c in CONTROLS {
            csf.extend(c.csf.iter().map(|s| (*s).to_owned()));
            rmf.extend(c.ai_rmf.iter().map(|s| (*s).to_owned()));
        }
        for f in FindingFamily::ALL {
            let r = refs_for(f);
            assert!(!r.csf.is_empty() && !r.ai_rmf.is_empty(), "{f:?} unmapped");
            csf.extend(r.csf);
            rmf.extend(r.ai_rmf);
        }
        (csf, rmf)
    }

    #[test]
    fn only_known_ids_are_used() {
        let (csf, rmf) = all_refs();
        for id in &csf {
            assert!(CSF_IDS.contains(&id.as_str()), "unknown CSF id {id}");
        }
        for id in &rmf {
            assert!(AI_RMF_IDS.contains(&id.as_str()), "unknown AI RMF id {id}");
        }
    }

    #[test]
    fn every_required_id_is_covered() {
        let (csf, rmf) = all_refs();
        for id in CSF_IDS {
            assert!(csf.iter().any(|c| c == id), "CSF {id} not mapped");
        }
        for id in AI_RMF_IDS {
            assert!(rmf.iter().any(|c| c == id), "AI RMF {id} not mapped");
        }
    }

    #[test]
    fn control_ids_are_unique() {
        let mut ids: Vec<_> = CONTROLS.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CONTROLS.len());
    }
}
