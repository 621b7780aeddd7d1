//! A clean posture state, and mutations that each break one rule.
#![allow(dead_code, missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;

use modelgate_posture::snapshot::*;

/// 2026-11-27T00:00:00Z.
pub const NOW: i64 = 1_795_737_600;
pub const DAY: i64 = 86_400;

pub fn days_ago(d: i64) -> i64 {
    NOW - d * DAY
}

fn observed(value: &str, count: u64, records: &[&str]) -> Observed {
    Observed {
        value: value.to_owned(),
        count,
        record_ids: records.iter().map(|r| (*r).to_owned()).collect(),
    }
}

fn ownership(who: &str) -> Ownership {
    Ownership {
        patching: Some(format!("{who}-platform")),
        incident_response: Some(format!("{who}-oncall")),
        offboarding: Some(format!("{who}-platform")),
        rotation_days: Some(30),
    }
}

pub fn upstream(name: &str, deployment: Deployment, env: &str) -> UpstreamRecord {
    let hosted = deployment == Deployment::Hosted;
    UpstreamRecord {
        name: name.to_owned(),
        kind: "openai".to_owned(),
        deployment,
        region: if hosted { "us" } else { "eu-central" }.to_owned(),
        retention_days: if hosted { 30 } else { 0 },
        isolation: if hosted {
            Isolation::Contractual
        } else {
            Isolation::Technical
        },
        environment: env.to_owned(),
        ownership: ownership("ml"),
        admits_data_classes: None,
    }
}

/// A state with no finding and no readiness gap.
pub fn clean() -> PostureSnapshot {
    let flat = vec![20u64; 24];
    PostureSnapshot {
        now: NOW,
        identities: vec![
            IdentityRecord {
                id: "id_billing".to_owned(),
                name: "billing-ci-prod".to_owned(),
                kind: "ci_job".to_owned(),
                owner: Some("team-billing".to_owned()),
                owner_departed: false,
                environment: "prod".to_owned(),
                status: IdentityStatus::Active,
                created_at: days_ago(200),
                last_used_at: Some(days_ago(1)),
            },
            IdentityRecord {
                id: "id_search".to_owned(),
                name: "search-rag".to_owned(),
                kind: "retrieval".to_owned(),
                owner: Some("team-search".to_owned()),
                owner_departed: false,
                environment: "prod".to_owned(),
                status: IdentityStatus::Active,
                created_at: days_ago(120),
                last_used_at: Some(NOW - 7200),
            },
        ],
        credentials: vec![
            CredentialRecord {
                id: "fed_billing".to_owned(),
                identity: "id_billing".to_owned(),
                credential_type: CredentialType::Federated,
                created_at: days_ago(100),
                expires_at: None,
                last_used_at: Some(days_ago(1)),
                revoked: false,
                used_outside_token_endpoint: false,
            },
            CredentialRecord {
                id: "key_search1".to_owned(),
                identity: "id_search".to_owned(),
                credential_type: CredentialType::ApiKey,
                created_at: days_ago(10),
                expires_at: Some(NOW + 20 * DAY),
                last_used_at: Some(days_ago(1)),
                revoked: false,
                used_outside_token_endpoint: false,
            },
            // Old, revoked: never a finding.
            CredentialRecord {
                id: "key_search0".to_owned(),
                identity: "id_search".to_owned(),
                credential_type: CredentialType::ApiKey,
                created_at: days_ago(400),
                expires_at: None,
                last_used_at: Some(days_ago(12)),
                revoked: true,
                used_outside_token_endpoint: true,
            },
        ],
        entitlements: vec![
            Entitlement {
                identity: "id_billing".to_owned(),
                kind: EntitlementKind::Role,
                name: "ci-caller".to_owned(),
                source: "direct".to_owned(),
                granted_at: days_ago(100),
                expires_at: None,
                last_used_at: Some(days_ago(1)),
            },
            Entitlement {
                identity: "id_search".to_owned(),
                kind: EntitlementKind::Model,
                name: "gpt-4o".to_owned(),
                source: "direct".to_owned(),
                granted_at: days_ago(50),
                expires_at: None,
                last_used_at: Some(days_ago(1)),
            },
            // An expired just-in-time grant, never used: not a finding.
            Entitlement {
                identity: "id_search".to_owned(),
                kind: EntitlementKind::Model,
                name: "claude-sonnet".to_owned(),
                source: "jit:grant_7".to_owned(),
                granted_at: days_ago(200),
                expires_at: Some(days_ago(199)),
                last_used_at: None,
            },
        ],
        issuers: vec![IssuerRecord {
            name: "github".to_owned(),
            preset: "github_actions".to_owned(),
            rules: vec![ClaimRule {
                identity: "billing-ci-prod".to_owned(),
                claims: BTreeMap::from([(
                    "sub".to_owned(),
                    "repo:acme/billing:environment:prod".to_owned(),
                )]),
            }],
        }],
        upstreams: vec![
            upstream("vllm-prod", Deployment::SelfHosted, "prod"),
            upstream("openai", Deployment::Hosted, "prod"),
        ],
        usage: vec![
            IdentityUsage {
                identity: "id_billing".to_owned(),
                requests: 480,
                last_activity_at: Some(days_ago(1)),
                upstreams: vec![UpstreamUse {
                    upstream: "vllm-prod".to_owned(),
                    environment: "prod".to_owned(),
                    data_classes: vec!["confidential".to_owned()],
                    requests: 480,
                    record_ids: vec!["rec_100".to_owned()],
                }],
                screen_findings: vec![ScreenCount {
                    kind: "email".to_owned(),
                    category: "personal_data".to_owned(),
                    requests: 9,
                    record_ids: vec!["rec_101".to_owned()],
                }],
                federation_subjects: vec![SubjectUse {
                    issuer: "github".to_owned(),
                    subject: "repo:acme/billing:environment:prod".to_owned(),
                    environment: Some("prod".to_owned()),
                    count: 480,
                    record_ids: vec!["rec_102".to_owned()],
                }],
                client_addresses: vec![
                    observed("10.0.0.5", 240, &[]),
                    observed("10.0.0.6", 240, &[]),
                ],
                user_agents: vec![observed("modelgate-ci/1.0", 480, &[])],
                browser_origins: vec![],
                hourly_activity: flat.clone(),
            },
            IdentityUsage {
                identity: "id_search".to_owned(),
                requests: 480,
                last_activity_at: Some(NOW - 7200),
                upstreams: vec![UpstreamUse {
                    upstream: "openai".to_owned(),
                    environment: "prod".to_owned(),
                    data_classes: vec!["public".to_owned(), "internal".to_owned()],
                    requests: 480,
                    record_ids: vec!["rec_200".to_owned()],
                }],
                // Below the repeated-secrets threshold (3).
                screen_findings: vec![ScreenCount {
                    kind: "aws_access_key_id".to_owned(),
                    category: "credential".to_owned(),
                    requests: 2,
                    record_ids: vec!["rec_201".to_owned(), "rec_202".to_owned()],
                }],
                federation_subjects: vec![],
                client_addresses: vec![observed("10.1.0.7", 480, &[])],
                user_agents: vec![observed("search-rag/2.3 python-httpx/0.27", 480, &[])],
                browser_origins: vec![],
                hourly_activity: flat,
            },
        ],
        reviews: vec![],
        ..PostureSnapshot::default()
    }
}

pub fn identity_mut<'a>(s: &'a mut PostureSnapshot, id: &str) -> &'a mut IdentityRecord {
    s.identities.iter_mut().find(|i| i.id == id).unwrap()
}

pub fn usage_mut<'a>(s: &'a mut PostureSnapshot, id: &str) -> &'a mut IdentityUsage {
    s.usage.iter_mut().find(|u| u.identity == id).unwrap()
}

pub fn credential_mut<'a>(s: &'a mut PostureSnapshot, id: &str) -> &'a mut CredentialRecord {
    s.credentials.iter_mut().find(|c| c.id == id).unwrap()
}

pub type Mutation = fn(&mut PostureSnapshot);

fn unused_identity(s: &mut PostureSnapshot) {
    identity_mut(s, "id_billing").last_used_at = Some(days_ago(120));
}
fn owner_missing(s: &mut PostureSnapshot) {
    identity_mut(s, "id_search").owner = Some("  ".to_owned());
}
fn owner_departed(s: &mut PostureSnapshot) {
    let i = identity_mut(s, "id_billing");
    i.owner = Some("Dana O'Neil <dana@example.com> | ops".to_owned());
    i.owner_departed = true;
}
fn live_key_on_disabled(s: &mut PostureSnapshot) {
    s.identities.push(IdentityRecord {
        id: "id_legacy".to_owned(),
        name: "legacy-batch".to_owned(),
        kind: "service".to_owned(),
        owner: Some("team-data".to_owned()),
        owner_departed: false,
        environment: "prod".to_owned(),
        status: IdentityStatus::Disabled,
        created_at: days_ago(300),
        last_used_at: Some(days_ago(200)),
    });
    s.credentials.push(CredentialRecord {
        id: "key_legacy".to_owned(),
        identity: "id_legacy".to_owned(),
        credential_type: CredentialType::ApiKey,
        created_at: days_ago(40),
        expires_at: Some(NOW + 40 * DAY),
        last_used_at: None,
        revoked: false,
        used_outside_token_endpoint: false,
    });
}
/// A key of billing-ci-prod found in a prompt search-rag sent: screening
/// counted it, and the gateway recorded (and revoked) the key.
fn gateway_key_in_prompt(s: &mut PostureSnapshot) {
    usage_mut(s, "id_search").screen_findings.push(ScreenCount {
        kind: "modelgate_api_key".to_owned(),
        category: "credential".to_owned(),
        requests: 1,
        record_ids: vec!["rec_250".to_owned()],
    });
    s.leaked_keys.push(modelgate_posture::snapshot::LeakedKey {
        key: "key_billing7".to_owned(),
        identity: "id_billing".to_owned(),
        found_in: Some("id_search".to_owned()),
        revoked: true,
        found_at: NOW - 3_600,
        record_ids: vec!["rec_251".to_owned()],
        found_by: Default::default(),
    });
}
fn repeated_secrets(s: &mut PostureSnapshot) {
    usage_mut(s, "id_search").screen_findings[0].requests = 5;
}
fn confidential_to_hosted(s: &mut PostureSnapshot) {
    usage_mut(s, "id_search").upstreams[0]
        .data_classes
        .push("confidential".to_owned());
}
fn key_where_federation(s: &mut PostureSnapshot) {
    s.issuers.push(IssuerRecord {
        name: "prod-cluster".to_owned(),
        preset: "kubernetes".to_owned(),
        rules: vec![ClaimRule {
            identity: "search-rag".to_owned(),
            claims: BTreeMap::from([(
                "sub".to_owned(),
                "system:serviceaccount:search:rag".to_owned(),
            )]),
        }],
    });
}
fn key_outside_token_endpoint(s: &mut PostureSnapshot) {
    credential_mut(s, "key_search1").used_outside_token_endpoint = true;
}
fn unused_entitlement(s: &mut PostureSnapshot) {
    s.entitlements[0].last_used_at = Some(days_ago(90));
}
fn overdue_review(s: &mut PostureSnapshot) {
    let mut review = modelgate_posture::Review::start(s, days_ago(30), days_ago(16));
    // One answered item is not overdue.
    let first = review.items[0].id.clone();
    let owner = review.items[0].owner.clone().unwrap();
    review
        .answer(
            &first,
            &owner,
            modelgate_posture::ReviewDecision::Keep,
            days_ago(20),
        )
        .unwrap();
    s.reviews.push(review);
}
fn weak_issuer_rule(s: &mut PostureSnapshot) {
    s.issuers[0].rules[0]
        .claims
        .insert("sub".to_owned(), "repo:acme/*".to_owned());
}
fn lifetime_exceeded(s: &mut PostureSnapshot) {
    credential_mut(s, "key_search1").expires_at = None;
}
fn rotation_overdue(s: &mut PostureSnapshot) {
    credential_mut(s, "key_search1").created_at = days_ago(70);
}
fn cross_environment(s: &mut PostureSnapshot) {
    s.upstreams
        .push(upstream("vllm-staging", Deployment::SelfHosted, "staging"));
    usage_mut(s, "id_billing").upstreams.push(UpstreamUse {
        upstream: "vllm-staging".to_owned(),
        environment: "staging".to_owned(),
        data_classes: vec!["internal".to_owned()],
        requests: 12,
        record_ids: vec!["rec_130".to_owned(), "rec_131".to_owned()],
    });
}
fn subjects_from_several_environments(s: &mut PostureSnapshot) {
    usage_mut(s, "id_billing")
        .federation_subjects
        .push(SubjectUse {
            issuer: "github".to_owned(),
            subject: "repo:acme/billing:environment:staging".to_owned(),
            environment: Some("staging".to_owned()),
            count: 3,
            record_ids: vec!["rec_140".to_owned()],
        });
}
fn shared_identity(s: &mut PostureSnapshot) {
    let u = usage_mut(s, "id_search");
    for (i, ua) in ["node-fetch/1.0", "Go-http-client/1.1", "okhttp/4.12"]
        .iter()
        .enumerate()
    {
        u.user_agents
            .push(observed(ua, 10, &[&format!("rec_26{i}")]));
    }
}
fn human_use(s: &mut PostureSnapshot) {
    usage_mut(s, "id_search").user_agents.push(observed(
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        4,
        &["rec_270"],
    ));
}

/// Each mutation with the one family it must produce.
pub fn mutations() -> Vec<(&'static str, Mutation)> {
    vec![
        ("unused_identity", unused_identity),
        ("owner_missing", owner_missing),
        ("owner_departed", owner_departed),
        ("credential_on_disabled_identity", live_key_on_disabled),
        ("gateway_key_in_prompt", gateway_key_in_prompt),
        ("repeated_secrets_in_prompts", repeated_secrets),
        ("confidential_to_risky_hosted", confidential_to_hosted),
        ("key_where_federation_exists", key_where_federation),
        ("key_outside_token_endpoint", key_outside_token_endpoint),
        ("unused_entitlement", unused_entitlement),
        ("overdue_review_item", overdue_review),
        ("weak_issuer_rule", weak_issuer_rule),
        ("lifetime_exceeded", lifetime_exceeded),
        ("rotation_overdue", rotation_overdue),
        ("cross_environment_upstream", cross_environment),
        (
            "subjects_from_several_environments",
            subjects_from_several_environments,
        ),
        ("shared_identity", shared_identity),
        ("human_use", human_use),
    ]
}

/// Every mutation at once, plus an unready upstream with a hostile name:
/// the fixture behind the golden reports.
pub fn dirty() -> PostureSnapshot {
    let mut s = clean();
    for (_, m) in mutations() {
        m(&mut s);
    }
    let mut lab = upstream("gpu-lab & <test>", Deployment::SelfHosted, "dev");
    lab.ownership.patching = None;
    lab.ownership.rotation_days = None;
    s.upstreams.push(lab);
    s
}
