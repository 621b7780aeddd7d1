//! Each finding family appears from a state built to show it, alone, and
//! none appears in the clean state.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use modelgate_posture::{FindingFamily, NhiItem, PostureSettings, findings};

fn families(s: &modelgate_posture::PostureSnapshot) -> BTreeSet<String> {
    findings(s, &PostureSettings::default())
        .iter()
        .map(|f| {
            serde_json::to_value(f.family)
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn clean_state_has_no_finding() {
    let found = findings(&common::clean(), &PostureSettings::default());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn each_mutation_produces_exactly_its_family() {
    for (family, mutate) in common::mutations() {
        let mut s = common::clean();
        mutate(&mut s);
        let got = families(&s);
        assert_eq!(
            got,
            BTreeSet::from([family.to_owned()]),
            "mutation {family} produced {got:?}"
        );
    }
}

#[test]
fn mutations_cover_every_family_and_all_ten_items() {
    let named: BTreeSet<String> = common::mutations()
        .iter()
        .map(|(f, _)| (*f).to_owned())
        .collect();
    for family in FindingFamily::ALL {
        let wire = serde_json::to_value(family).unwrap();
        assert!(
            named.contains(wire.as_str().unwrap()),
            "{family:?} untested"
        );
    }
    let all = findings(&common::dirty(), &PostureSettings::default());
    for item in NhiItem::ALL {
        assert!(all.iter().any(|f| f.nhi == item), "{item:?} missing");
    }
    assert_eq!(families(&common::dirty()).len(), FindingFamily::ALL.len());
}

#[test]
fn finding_ids_are_stable_and_unique() {
    let a = findings(&common::dirty(), &PostureSettings::default());
    let b = findings(&common::dirty(), &PostureSettings::default());
    assert_eq!(a, b);
    let ids: BTreeSet<&str> = a.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids.len(), a.len());
}

#[test]
fn remediations_use_the_cli_shape() {
    let all = findings(&common::dirty(), &PostureSettings::default());
    let by_id = |id: &str| {
        all.iter()
            .find(|f| f.id == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert_eq!(
        by_id("nhi1.unused:id_billing").remediation,
        "modelgate identity offboard billing-ci-prod"
    );
    assert_eq!(
        by_id("nhi1.live_credential:key_legacy").remediation,
        "modelgate key revoke key_legacy"
    );
    assert_eq!(
        by_id("nhi7.rotation:key_search1").remediation,
        "modelgate key rotate key_search1"
    );
    // The leaked key is billing-ci-prod's, found in a prompt of
    // search-rag: the finding names that key and its owner, not the
    // sender's keys.
    let leak = by_id("nhi2.gateway_key:key_billing7");
    assert_eq!(leak.evidence.audit_records, vec!["rec_251"]);
    assert_eq!(leak.evidence.credentials, vec!["key_billing7"]);
    assert_eq!(leak.evidence.identities, vec!["id_billing", "id_search"]);
    assert_eq!(
        leak.evidence.identity_names,
        vec!["billing-ci-prod", "search-rag"]
    );
    assert_eq!(
        leak.title,
        "modelgate API key key_billing7 of billing-ci-prod appeared in a prompt of search-rag and was revoked"
    );
    assert!(
        leak.remediation.starts_with(
            "issue billing-ci-prod a new key (modelgate key create --identity billing-ci-prod"
        ),
        "{}",
        leak.remediation
    );
    assert!(
        !leak.remediation.contains("key_search1"),
        "{}",
        leak.remediation
    );
    for f in &all {
        assert!(!f.frameworks.csf.is_empty() && !f.frameworks.ai_rmf.is_empty());
        assert!(!f.evidence.identities.is_empty() || !f.evidence.issuers.is_empty());
    }
}

#[test]
fn thresholds_come_from_settings() {
    let mut s = common::clean();
    common::identity_mut(&mut s, "id_billing").last_used_at = Some(common::days_ago(30));
    let strict = PostureSettings {
        unused_days: 30,
        ..PostureSettings::default()
    };
    assert!(findings(&s, &PostureSettings::default()).is_empty());
    let f = findings(&s, &strict);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].id, "nhi1.unused:id_billing");
}

#[test]
fn browser_origin_and_office_hours_are_human_signals() {
    let mut s = common::clean();
    common::usage_mut(&mut s, "id_billing")
        .browser_origins
        .push(modelgate_posture::snapshot::Observed {
            value: "https://intranet.example.com".to_owned(),
            count: 2,
            record_ids: vec!["rec_300".to_owned()],
        });
    let f = findings(&s, &PostureSettings::default());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence.audit_records, vec!["rec_300"]);

    let mut s = common::clean();
    let mut hours = vec![0u64; 24];
    hours[9..17].fill(10);
    common::usage_mut(&mut s, "id_search").hourly_activity = hours.clone();
    let f = findings(&s, &PostureSettings::default());
    assert_eq!(f.len(), 1, "{f:#?}");
    assert!(f[0].evidence.facts[0].contains("100% of requests between 08:00 and 18:00"));

    // Too few requests to judge a pattern.
    let mut s = common::clean();
    for h in hours.iter_mut() {
        *h = (*h).min(1);
    }
    common::usage_mut(&mut s, "id_search").hourly_activity = hours;
    assert!(findings(&s, &PostureSettings::default()).is_empty());
}

#[test]
fn dangling_references_do_not_panic() {
    let mut s = common::clean();
    s.usage.push(modelgate_posture::snapshot::IdentityUsage {
        identity: "id_ghost".to_owned(),
        upstreams: vec![modelgate_posture::snapshot::UpstreamUse {
            upstream: "nowhere".to_owned(),
            environment: "prod".to_owned(),
            data_classes: vec!["regulated".to_owned()],
            requests: 1,
            record_ids: vec![],
        }],
        hourly_activity: vec![u64::MAX; 30],
        ..Default::default()
    });
    // Counts near u64::MAX on a real identity must not overflow either.
    common::usage_mut(&mut s, "id_search").hourly_activity = vec![u64::MAX; 30];
    s.entitlements
        .push(modelgate_posture::snapshot::Entitlement {
            identity: "id_ghost".to_owned(),
            kind: modelgate_posture::snapshot::EntitlementKind::Role,
            name: "r".to_owned(),
            source: "direct".to_owned(),
            granted_at: i64::MIN,
            expires_at: None,
            last_used_at: None,
        });
    let f = findings(&s, &PostureSettings::default());
    assert!(
        f.iter()
            .any(|f| f.id == "nhi5.unused_entitlement:id_ghost:role:r")
    );
}

#[test]
fn subject_environment_falls_back_to_the_github_subject() {
    let mut s = common::clean();
    let u = common::usage_mut(&mut s, "id_billing");
    u.federation_subjects[0].environment = None;
    u.federation_subjects
        .push(modelgate_posture::snapshot::SubjectUse {
            issuer: "github".to_owned(),
            subject: "repo:acme/billing:environment:dev".to_owned(),
            environment: None,
            count: 1,
            record_ids: vec![],
        });
    let f = findings(&s, &PostureSettings::default());
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].id, "nhi8.multi_env_subjects:id_billing");
    assert_eq!(f[0].evidence.facts, vec!["environments: dev, prod"]);
}

#[test]
fn an_unrecorded_gateway_key_does_not_blame_the_senders_keys() {
    let mut s = common::clean();
    common::usage_mut(&mut s, "id_search").screen_findings.push(
        modelgate_posture::snapshot::ScreenCount {
            kind: "modelgate_api_key".to_owned(),
            category: "credential".to_owned(),
            requests: 1,
            record_ids: vec!["rec_250".to_owned()],
        },
    );
    let found = findings(&s, &PostureSettings::default());
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert!(f.evidence.credentials.is_empty(), "{f:#?}");
    assert!(!f.remediation.contains("key_search1"), "{}", f.remediation);
    assert!(
        f.remediation.contains("revoke_leaked_keys = true"),
        "{}",
        f.remediation
    );
    s.controls.revoke_leaked_keys = true;
    let found = findings(&s, &PostureSettings::default());
    assert!(!found[0].remediation.contains("revoke_leaked_keys = true"));
}

#[test]
fn a_control_already_in_place_is_not_advised() {
    let mut s = common::clean();
    common::usage_mut(&mut s, "id_search").screen_findings.push(
        modelgate_posture::snapshot::ScreenCount {
            kind: "aws_access_key_id".to_owned(),
            category: "credential".to_owned(),
            requests: 5,
            record_ids: vec![],
        },
    );
    let advice = |s: &modelgate_posture::PostureSnapshot| {
        findings(s, &PostureSettings::default())
            .into_iter()
            .find(|f| f.id == "nhi2.repeated_secrets:id_search")
            .unwrap()
            .remediation
    };
    assert!(advice(&s).contains("set action = \"block\""));
    s.controls.credentials_blocked = true;
    let text = advice(&s);
    assert!(!text.contains("set action"), "{text}");
    assert!(text.contains("already blocks"), "{text}");
}

#[test]
fn findings_name_the_identities_beside_their_ids() {
    let report = modelgate_posture::Report::build(&common::dirty(), &PostureSettings::default());
    let md = report
        .render(modelgate_posture::ReportFormat::Markdown)
        .unwrap();
    assert!(
        md.contains("- identities: billing-ci-prod (id\\_billing)"),
        "{md}"
    );
    let unused = report
        .findings
        .iter()
        .find(|f| f.id == "nhi1.unused:id_billing")
        .unwrap();
    assert_eq!(unused.evidence.identity_names, vec!["billing-ci-prod"]);
}

#[test]
fn a_ceiling_already_set_is_not_advised_again() {
    let mut s = common::clean();
    let upstream = common::usage_mut(&mut s, "id_search").upstreams[0]
        .upstream
        .clone();
    common::usage_mut(&mut s, "id_search").upstreams[0]
        .data_classes
        .push("confidential".to_owned());
    let advice = |s: &modelgate_posture::PostureSnapshot| {
        findings(s, &PostureSettings::default())
            .into_iter()
            .find(|f| f.family == FindingFamily::ConfidentialToRiskyHosted)
            .unwrap()
            .remediation
    };
    assert!(advice(&s).starts_with("lower max_data_class"));
    let record = s.upstreams.iter_mut().find(|u| u.name == upstream).unwrap();
    record.admits_data_classes = Some(vec!["public".to_owned(), "internal".to_owned()]);
    let text = advice(&s);
    assert!(!text.contains("lower max_data_class"), "{text}");
    assert!(text.contains("already keeps confidential away"), "{text}");
}

/// The sender `id_search` sent `requests` prompts carrying a gateway key;
/// `key.leaked` records name a key of `id_billing` in `recorded` of them.
fn leaks_seen(requests: u64, recorded: u64) -> modelgate_posture::PostureSnapshot {
    let mut s = common::clean();
    common::usage_mut(&mut s, "id_search").screen_findings.push(
        modelgate_posture::snapshot::ScreenCount {
            kind: "modelgate_api_key".to_owned(),
            category: "credential".to_owned(),
            requests,
            record_ids: vec!["rec_250".to_owned()],
        },
    );
    s.leaked_keys.push(modelgate_posture::snapshot::LeakedKey {
        key: "key_billing7".to_owned(),
        identity: "id_billing".to_owned(),
        found_in: Some("id_search".to_owned()),
        revoked: true,
        found_at: common::NOW - 3_600,
        record_ids: vec!["rec_251".to_owned()],
        found_by: [("id_search".to_owned(), recorded)].into(),
    });
    s
}

#[test]
fn an_unrecorded_gateway_key_is_reported_beside_a_recorded_one() {
    let found = findings(&leaks_seen(3, 1), &PostureSettings::default());
    let ids: Vec<_> = found.iter().map(|f| f.id.as_str()).collect();
    assert!(ids.contains(&"nhi2.gateway_key:key_billing7"), "{ids:?}");
    let unnamed = found
        .iter()
        .find(|f| f.id == "nhi2.gateway_key:id_search")
        .unwrap_or_else(|| panic!("no unrecorded-key finding: {ids:?}"));
    assert_eq!(
        unnamed.evidence.facts,
        vec![
            "3 request(s) carried a gateway key",
            "key.leaked records name a key in only 1 of them"
        ]
    );
}

#[test]
fn a_recorded_key_sent_again_is_not_reported_as_unrecorded() {
    let found = findings(&leaks_seen(3, 3), &PostureSettings::default());
    let ids: Vec<_> = found.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, vec!["nhi2.gateway_key:key_billing7"]);
    assert!(
        found[0].title.ends_with("and was revoked"),
        "{}",
        found[0].title
    );
}
