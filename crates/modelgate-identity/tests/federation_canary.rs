//! No federation error, Display or Debug, contains the presented token, a
//! segment or slice of it, or a claim value.

mod common_federation;

use common_federation::*;
use modelgate_identity::federation::FederationError;
use serde_json::{Value, json};

const ISS: &str = "https://idp.example";
const CANARY_SUB: &str = "svc-canary-5f1e9b77d2";
const CANARY_CLAIM: &str = "canary-claim-8c0a4e13";
const CANARY_KID: &str = "kid-canary-3b7d";

fn canary_claims() -> Value {
    let mut c = basic_claims(ISS, CANARY_SUB);
    c["secretish"] = json!(CANARY_CLAIM);
    c
}

/// Everything that must not show: the token, each segment, slices of the
/// signature, and the canary values.
fn forbidden(token: &str) -> Vec<String> {
    let mut out = vec![
        token.to_owned(),
        CANARY_SUB.to_owned(),
        CANARY_CLAIM.to_owned(),
        CANARY_KID.to_owned(),
    ];
    for segment in token.split('.').filter(|s| s.len() >= 12) {
        out.push(segment.to_owned());
        out.push(segment[..12].to_owned());
        out.push(segment[segment.len() - 12..].to_owned());
    }
    out
}

fn assert_clean(err: &FederationError, token: &str) {
    let texts = [err.to_string(), format!("{err:?}"), err.label().to_owned()];
    for text in &texts {
        for bad in forbidden(token) {
            assert!(!text.contains(&bad), "{text:?} leaks {bad:?}");
        }
    }
}

#[tokio::test]
async fn errors_never_contain_the_token_or_claims() {
    let source = MemorySource::new();
    let issuer = TestIssuer::new(ISS, vec![TestKey::rsa(CANARY_KID)]);
    issuer.publish(&source);
    let mut settings = oidc_settings("idp", &issuer, "nobody", "nobody");
    settings["refresh_interval"] = json!("1s");
    let fed = federation(vec![settings], &source);
    let key = &issuer.keys[0];
    let good = issuer.token(&canary_claims());
    let with = |k: &str, v: Value| {
        let mut c = canary_claims();
        c[k] = v;
        issuer.token(&c)
    };

    let mut tokens = vec![
        good.clone(), // no matching rule
        issuer.token_with(&TestKey::rsa_b(CANARY_KID), json!({}), &canary_claims()), // bad signature
        with("exp", json!(NOW - 3600)),                                              // expired
        with("exp", json!(CANARY_CLAIM)), // malformed exp
        with("nbf", json!(NOW + 3600)),   // not yet valid
        with("aud", json!(CANARY_CLAIM)), // wrong audience
        with("iss", json!(format!("https://{CANARY_CLAIM}.example"))), // unknown issuer
        with("sub", json!(7)),            // malformed sub
        issuer.token_with(key, json!({"kid": "other-kid-canary"}), &canary_claims()),
        issuer.token_with(key, json!({"alg": CANARY_CLAIM}), &canary_claims()),
        issuer.token_with(key, json!({"crit": [CANARY_CLAIM]}), &canary_claims()),
        assemble(
            &format!(r#"{{"alg":"none","kid":"{CANARY_KID}"}}"#),
            &canary_claims().to_string(),
            b"",
        ),
        format!("{good}.{good}"),
        format!("{}{}", good, "A".repeat(9000)),
    ];
    tokens.push(good.replacen('.', "!", 1));
    let mut labels = Vec::new();
    for token in &tokens {
        let err = fed.verify(token, NOW + 5).await.unwrap_err();
        assert_clean(&err, token);
        labels.push(err.label());
    }
    for expected in [
        "no_matching_rule",
        "bad_signature",
        "expired",
        "malformed",
        "not_yet_valid",
        "wrong_audience",
        "unknown_issuer",
        "unknown_key",
        "unsupported_algorithm",
        "critical_header",
        "too_large",
    ] {
        assert!(
            labels.contains(&expected),
            "no case produced {expected}: {labels:?}"
        );
    }
}
