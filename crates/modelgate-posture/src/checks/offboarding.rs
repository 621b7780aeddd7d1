//! NHI1 Improper Offboarding: unused identities, missing or departed
//! owners, live credentials on disabled identities.

use super::helpers::{name_of, when};
use crate::finding::{Evidence, Finding, FindingFamily, Severity};
use crate::settings::PostureSettings;
use crate::snapshot::{CredentialType, IdentityStatus, PostureSnapshot};
use crate::time::days_between;

pub(super) fn check(s: &PostureSnapshot, settings: &PostureSettings, out: &mut Vec<Finding>) {
    for identity in &s.identities {
        if identity.status == IdentityStatus::Offboarded {
            live_credentials(s, &identity.id, Severity::Critical, out);
            continue;
        }
        let evidence = || Evidence {
            identities: vec![identity.id.clone()],
            ..Evidence::default()
        };
        if identity.status == IdentityStatus::Active {
            let last = identity.last_used_at.unwrap_or(identity.created_at);
            if days_between(last, s.now) >= i64::from(settings.unused_days) {
                let fact = match identity.last_used_at {
                    Some(t) => format!("last used {}", when(s.now, t)),
                    None => format!("never used; created {}", when(s.now, identity.created_at)),
                };
                out.push(Finding::new(
                    FindingFamily::UnusedIdentity,
                    &identity.id,
                    Severity::Medium,
                    format!(
                        "Identity {} unused for {} days or more",
                        identity.name, settings.unused_days
                    ),
                    Evidence {
                        facts: vec![fact],
                        ..evidence()
                    },
                    format!("modelgate identity offboard {}", identity.name),
                ));
            }
        }
        let set_owner = format!(
            "register a successor under a current owner (modelgate identity create --name \
             {name}-v2 --owner NEW_OWNER --kind {} --environment {}), move the workload to it, \
             then modelgate identity offboard {name}",
            identity.kind,
            identity.environment,
            name = identity.name
        );
        match identity.owner() {
            None => out.push(Finding::new(
                FindingFamily::OwnerMissing,
                &identity.id,
                Severity::High,
                format!("Identity {} has no owner", identity.name),
                evidence(),
                set_owner,
            )),
            Some(owner) if identity.owner_departed => out.push(Finding::new(
                FindingFamily::OwnerDeparted,
                &identity.id,
                Severity::High,
                format!("Owner of identity {} has left", identity.name),
                Evidence {
                    facts: vec![format!("owner {owner} is marked departed")],
                    ..evidence()
                },
                set_owner,
            )),
            Some(_) => {}
        }
        if identity.status == IdentityStatus::Disabled {
            live_credentials(s, &identity.id, Severity::High, out);
        }
    }
}

/// One finding per credential still accepted on a non-active identity.
fn live_credentials(s: &PostureSnapshot, id: &str, severity: Severity, out: &mut Vec<Finding>) {
    let name = name_of(s, id);
    let status = s.identity(id).map_or("unknown", |i| i.status.as_str());
    for cred in s.credentials_of(id).filter(|c| c.is_live(s.now)) {
        let remediation = match cred.credential_type {
            CredentialType::ApiKey => format!("modelgate key revoke {}", cred.id),
            CredentialType::AccessToken => {
                format!("modelgate token revoke {} --identity {name}", cred.id)
            }
            CredentialType::Federated => format!("modelgate identity offboard {name}"),
        };
        out.push(Finding::new(
            FindingFamily::CredentialOnDisabledIdentity,
            &cred.id,
            severity,
            format!(
                "Live {} {} on {status} identity {name}",
                cred.credential_type.as_str(),
                cred.id
            ),
            Evidence {
                identities: vec![id.to_owned()],
                credentials: vec![cred.id.clone()],
                ..Evidence::default()
            },
            remediation,
        ));
    }
}
