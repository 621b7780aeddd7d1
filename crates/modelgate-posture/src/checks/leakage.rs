//! NHI2 Secret Leakage: gateway keys in prompts, and identities whose
//! prompts keep carrying credentials.
//!
//! A leaked gateway key is named by the `key.leaked` records (the key's id
//! and its owner, never its value), not by the identity that sent the
//! prompt: the sender's own keys are not the ones to rotate.

use super::helpers::{name_of, record_ids};
use crate::finding::{Evidence, Finding, FindingFamily, Severity, shell_word};
use crate::settings::PostureSettings;
use crate::snapshot::{IdentityUsage, LeakedKey, PostureSnapshot};

pub(super) fn check(s: &PostureSnapshot, settings: &PostureSettings, out: &mut Vec<Finding>) {
    for leaked in &s.leaked_keys {
        out.push(leaked_key(s, leaked));
    }
    for usage in &s.usage {
        unidentified_gateway_key(s, settings, usage, out);
        repeated_secrets(s, settings, usage, out);
    }
}

fn leaked_key(s: &PostureSnapshot, leaked: &LeakedKey) -> Finding {
    let owner = name_of(s, &leaked.identity);
    let sender = leaked.found_in.as_deref().map(|id| name_of(s, id));
    let place = match sender {
        Some(sender) if sender == owner => format!("a prompt of {owner} itself"),
        Some(sender) => format!("a prompt of {sender}"),
        None => "a prompt".to_owned(),
    };
    let mut identities = vec![leaked.identity.clone()];
    identities.extend(
        leaked
            .found_in
            .iter()
            .filter(|f| **f != leaked.identity)
            .cloned(),
    );
    let search = sender.map_or_else(String::new, |sender| {
        format!(
            ", and find how it reached the prompts of {sender} (modelgate audit search --identity {})",
            shell_word(sender)
        )
    });
    // The screen stage writes `key.leaked` only for a key it revoked (or
    // found revoked already); a key it did not revoke (revocation off, or
    // revoking failed) leaves no record and is `unidentified_gateway_key`'s.
    let title = format!(
        "modelgate API key {} of {owner} appeared in {place} and was revoked",
        leaked.key
    );
    let fact = format!("the gateway revoked {} when it found it", leaked.key);
    let remediation = format!(
        "issue {owner} a new key (modelgate key create --identity {} --expires-in 30d) \
         where the revoked one ran{search}",
        shell_word(owner)
    );
    Finding::new(
        FindingFamily::GatewayKeyInPrompt,
        &leaked.key,
        Severity::High,
        title,
        Evidence {
            identities,
            credentials: vec![leaked.key.clone()],
            audit_records: record_ids(&leaked.record_ids),
            facts: vec![fact],
            ..Evidence::default()
        },
        remediation,
    )
}

/// Gateway keys screening saw in an identity's prompts that no `key.leaked`
/// record names (not a live key of this gateway, revocation is off, or
/// revoking failed): reported when the sender's requests that carried a
/// gateway key outnumber the `key.leaked` records naming it as the sender.
fn unidentified_gateway_key(
    s: &PostureSnapshot,
    settings: &PostureSettings,
    usage: &IdentityUsage,
    out: &mut Vec<Finding>,
) {
    let is_gateway_key = |kind: &str| settings.gateway_key_kinds.iter().any(|k| k == kind);
    let gateway: Vec<_> = usage
        .screen_findings
        .iter()
        .filter(|f| f.requests > 0 && is_gateway_key(&f.kind))
        .collect();
    let requests: u64 = gateway.iter().map(|f| f.requests).sum();
    // Each request whose gateway key the gateway recognised left a
    // `key.leaked` record naming the sender; fewer records than requests
    // means some key was not recognised, even if others were.
    let recorded: u64 = s
        .leaked_keys
        .iter()
        .map(|k| records_from(k, &usage.identity))
        .sum();
    if gateway.is_empty() || recorded >= requests {
        return;
    }
    let name = name_of(s, &usage.identity);
    let mut facts = vec![format!("{requests} request(s) carried a gateway key")];
    if recorded > 0 {
        facts.push(format!(
            "key.leaked records name a key in only {recorded} of them"
        ));
    }
    let remediation = if s.controls.revoke_leaked_keys {
        format!(
            "find the key in the prompt source of {name}; if modelgate key list shows it, \
             modelgate key revoke KEY_ID (the gateway revokes live keys it recognises at once)"
        )
    } else {
        format!(
            "set revoke_leaked_keys = true under [screen] so the gateway revokes such keys at once; \
             find the key in the prompt source of {name} and modelgate key revoke KEY_ID"
        )
    };
    out.push(Finding::new(
        FindingFamily::GatewayKeyInPrompt,
        &usage.identity,
        Severity::Critical,
        format!(
            "A modelgate API key appeared in prompts sent by {name}; which key is not recorded"
        ),
        Evidence {
            identities: vec![usage.identity.clone()],
            audit_records: record_ids(gateway.iter().flat_map(|f| &f.record_ids)),
            facts,
            ..Evidence::default()
        },
        remediation,
    ));
}

/// The `key.leaked` records of `leaked` naming `sender` as the identity
/// whose prompt carried it (older snapshots without `found_by`: one per
/// record id when `found_in` is the sender).
fn records_from(leaked: &LeakedKey, sender: &str) -> u64 {
    if leaked.found_by.is_empty() {
        if leaked.found_in.as_deref() != Some(sender) {
            return 0;
        }
        return u64::try_from(leaked.record_ids.len().max(1)).unwrap_or(u64::MAX);
    }
    leaked.found_by.get(sender).copied().unwrap_or(0)
}

fn repeated_secrets(
    s: &PostureSnapshot,
    settings: &PostureSettings,
    usage: &IdentityUsage,
    out: &mut Vec<Finding>,
) {
    let is_gateway_key = |kind: &str| settings.gateway_key_kinds.iter().any(|k| k == kind);
    let secrets: Vec<_> = usage
        .screen_findings
        .iter()
        .filter(|f| f.category == "credential" && !is_gateway_key(&f.kind))
        .collect();
    let requests: u64 = secrets.iter().map(|f| f.requests).sum();
    if requests < settings.repeated_secret_requests.max(1) {
        return;
    }
    let name = name_of(s, &usage.identity);
    let mut kinds: Vec<&str> = secrets.iter().map(|f| f.kind.as_str()).collect();
    kinds.sort_unstable();
    kinds.dedup();
    let remediation = if s.controls.credentials_blocked {
        format!(
            "[screen] already blocks prompts carrying credentials; have the owner of {name} \
             remove them from the prompt source"
        )
    } else {
        format!(
            "set action = \"block\" for category credential under [screen] in modelgate.toml, \
             run modelgate config check, and have the owner of {name} fix the prompt source"
        )
    };
    out.push(Finding::new(
        FindingFamily::RepeatedSecretsInPrompts,
        &usage.identity,
        Severity::High,
        format!("Prompts of {name} keep carrying credentials"),
        Evidence {
            identities: vec![usage.identity.clone()],
            audit_records: record_ids(secrets.iter().flat_map(|f| &f.record_ids)),
            facts: vec![format!(
                "{requests} request(s) with credentials ({})",
                kinds.join(", ")
            )],
            ..Evidence::default()
        },
        remediation,
    ));
}
