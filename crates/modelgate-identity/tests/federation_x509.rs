//! X.509-SVIDs: a SPIFFE ID from a client certificate maps to an identity
//! by the `spiffe` issuers' rules, only through rules that pin its trust
//! domain, and exactly one identity must match.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common_federation;

use std::sync::Arc;

use common_federation::*;
use modelgate_identity::federation::{
    Federation, FederationError, IssuerSettings, JwksSource, SpiffeId,
};
use serde_json::{Value, json};

fn issuer(name: &str, preset: &str, rules: Value) -> Value {
    json!({
        "name": name,
        "preset": preset,
        "issuer": format!("https://{name}.example.org"),
        "audience": AUDIENCE,
        "rules": rules,
    })
}

fn federation(issuers: Vec<Value>) -> Federation {
    let settings: Vec<IssuerSettings> = issuers.into_iter().map(settings).collect();
    let source: Arc<dyn JwksSource> = MemorySource::new();
    Federation::new(settings, source).unwrap()
}

fn map(fed: &Federation, id: &str) -> Result<String, FederationError> {
    fed.map_spiffe_id(&SpiffeId::parse(id).unwrap())
        .map(|(_, identity)| identity)
}

#[test]
fn a_spiffe_id_maps_through_the_rules_that_pin_its_trust_domain() {
    let fed = federation(vec![
        issuer(
            "spire",
            "spiffe",
            json!([
                {"identity": "billing", "claims": {"sub": "spiffe://example.org/ns/prod/sa/billing"}},
                {"identity": "batch", "claims": {"sub": "spiffe://example.org/ns/*/sa/batch"}},
                // Does not pin a trust domain: never used for certificates.
                {"identity": "anyone", "claims": {"sub": "spiffe://*/ns/prod/sa/anyone"}},
                // Constrains another claim: never matches a certificate.
                {"identity": "aud-bound", "claims": {"sub": "spiffe://example.org/ns/prod/sa/aud", "aud": "x"}},
            ]),
        ),
        // A rule of a non-SPIFFE issuer is never consulted.
        issuer(
            "oidc",
            "oidc",
            json!([{"identity": "oidc-user", "claims": {"sub": "spiffe://example.org/ns/prod/sa/oidc"}}]),
        ),
    ]);
    assert_eq!(
        map(&fed, "spiffe://example.org/ns/prod/sa/billing").unwrap(),
        "billing"
    );
    assert_eq!(
        map(&fed, "spiffe://example.org/ns/dev/sa/batch").unwrap(),
        "batch"
    );
    for unmapped in [
        "spiffe://example.org/ns/prod/sa/anyone",
        "spiffe://example.org/ns/prod/sa/aud",
        "spiffe://example.org/ns/prod/sa/oidc",
        "spiffe://example.org/ns/prod/sa/billing2",
    ] {
        assert!(
            matches!(
                map(&fed, unmapped),
                Err(FederationError::NoMatchingRule { .. })
            ),
            "{unmapped}"
        );
    }
    assert_eq!(
        map(&fed, "spiffe://other.org/ns/prod/sa/billing"),
        Err(FederationError::UnknownIssuer),
        "a trust domain no rule names"
    );
}

#[test]
fn two_identities_for_one_spiffe_id_are_ambiguous() {
    let fed = federation(vec![issuer(
        "spire",
        "spiffe",
        json!([
            {"identity": "one", "claims": {"sub": "spiffe://example.org/ns/prod/*"}},
            {"identity": "two", "claims": {"sub": "spiffe://example.org/ns/*/sa/api"}},
        ]),
    )]);
    assert!(matches!(
        map(&fed, "spiffe://example.org/ns/prod/sa/api"),
        Err(FederationError::AmbiguousRule { .. })
    ));
    assert_eq!(
        map(&fed, "spiffe://example.org/ns/prod/sa/web").unwrap(),
        "one"
    );
}
