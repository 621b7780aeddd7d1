//! Ownership readiness: each missing owner or rotation policy is a gap with
//! a reason, and an upstream with any gap may not take traffic.

#![allow(clippy::unwrap_used)]

mod common;

use modelgate_posture::snapshot::{Deployment, Ownership};
use modelgate_posture::{GapKind, readiness, route_allowed};

#[test]
fn complete_ownership_is_ready() {
    let s = common::clean();
    assert!(readiness(&s.upstreams).is_empty());
    for u in &s.upstreams {
        assert_eq!(route_allowed(u), Ok(()));
    }
}

#[test]
fn a_missing_owner_is_a_gap() {
    let mut u = common::upstream("openai", Deployment::Hosted, "prod");
    u.ownership.incident_response = None;
    let gaps = readiness(std::slice::from_ref(&u));
    assert_eq!(gaps.len(), 1);
    assert_eq!(gaps[0].kind, GapKind::IncidentOwner);
    assert_eq!(gaps[0].upstream, "openai");
    assert!(gaps[0].reason.contains("ownership.incident_response"));
    let refusal = route_allowed(&u).unwrap_err();
    assert!(refusal.starts_with("not ready: upstream openai lacks an incident-response owner"));
}

#[test]
fn blank_owners_and_zero_rotation_are_gaps() {
    let mut u = common::upstream("vllm", Deployment::SelfHosted, "prod");
    u.ownership = Ownership {
        patching: Some("   ".to_owned()),
        incident_response: Some(String::new()),
        offboarding: Some("ml-platform".to_owned()),
        rotation_days: Some(0),
    };
    let kinds: Vec<GapKind> = readiness(&[u]).iter().map(|g| g.kind).collect();
    assert_eq!(
        kinds,
        vec![
            GapKind::PatchingOwner,
            GapKind::IncidentOwner,
            GapKind::RotationPolicy
        ]
    );
}

#[test]
fn no_ownership_at_all_is_four_gaps_per_upstream() {
    let mut a = common::upstream("a", Deployment::Hosted, "prod");
    let mut b = common::upstream("b", Deployment::Hosted, "prod");
    a.ownership = Ownership::default();
    b.ownership = Ownership::default();
    let gaps = readiness(&[a, b]);
    assert_eq!(gaps.len(), 8);
    assert!(gaps[..4].iter().all(|g| g.upstream == "a"));
    assert!(gaps[4..].iter().all(|g| g.upstream == "b"));
}

#[test]
fn ownership_parses_from_snapshot_json() {
    let json = r#"{"name":"x","kind":"openai","deployment":"hosted","region":"us",
        "isolation":"contractual","environment":"prod",
        "ownership":{"patching":"p","incident_response":"i","offboarding":"o","rotation_days":30}}"#;
    let u: modelgate_posture::snapshot::UpstreamRecord = serde_json::from_str(json).unwrap();
    assert!(readiness(&[u]).is_empty());
    let bad = json.replace("\"rotation_days\"", "\"rotation\"");
    assert!(serde_json::from_str::<modelgate_posture::snapshot::UpstreamRecord>(&bad).is_err());
}
