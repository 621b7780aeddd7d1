//! `federated_jwt`: external JWTs as the token-exchange endpoint verifies
//! them, against one issuer whose JWKS holds the RFC 7515 and RFC 8037
//! example keys (served from memory).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use modelgate_identity::federation::{ClaimRule, Federation, IssuerSettings, JwksSource, Preset};
use serde_json::Value;

use crate::keys::{
    FEDERATED_AUDIENCE, FEDERATED_IDENTITY, FEDERATED_ISSUER, FEDERATED_JWKS_URL,
    FEDERATED_SUBJECT, NOW, federated_jwks,
};
use crate::runtime::block_on;

/// Serves the fixed JWKS at its URL and nothing else.
struct FixedJwks;

impl JwksSource for FixedJwks {
    fn fetch<'a>(
        &'a self,
        url: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(async move {
            if url == FEDERATED_JWKS_URL {
                Ok(federated_jwks())
            } else {
                Err("not found".to_owned())
            }
        })
    }
}

/// The issuer's settings: OIDC preset, RS256, ES256 and EdDSA allowed, one
/// rule mapping [`FEDERATED_SUBJECT`] to [`FEDERATED_IDENTITY`].
pub fn settings() -> IssuerSettings {
    IssuerSettings {
        name: "fuzz".to_owned(),
        preset: Preset::Oidc,
        issuer: Some(FEDERATED_ISSUER.to_owned()),
        audience: FEDERATED_AUDIENCE.to_owned(),
        jwks_url: Some(FEDERATED_JWKS_URL.to_owned()),
        jwks_file: None,
        algorithms: Some(vec!["RS256".into(), "ES256".into(), "EdDSA".into()]),
        refresh_interval: None,
        cache_ttl: None,
        leeway: None,
        max_token_bytes: None,
        rules: vec![ClaimRule {
            identity: FEDERATED_IDENTITY.to_owned(),
            claims: BTreeMap::from([("sub".to_owned(), FEDERATED_SUBJECT.to_owned())]),
        }],
    }
}

fn federation() -> &'static Federation {
    static FEDERATION: OnceLock<Federation> = OnceLock::new();
    FEDERATION.get_or_init(
        || match Federation::new(vec![settings()], Arc::new(FixedJwks)) {
            Ok(federation) => federation,
            Err(e) => panic!("federation setup failed: {e}"),
        },
    )
}

/// Verifies `data` as an external JWT. An accepted token maps to the one
/// configured identity, and its subject is its `sub`.
pub fn federated_jwt(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(subject) = block_on(federation().verify(token, NOW)) else {
        return;
    };
    assert_eq!(subject.identity, FEDERATED_IDENTITY);
    assert_eq!(subject.issuer, FEDERATED_ISSUER);
    assert_eq!(subject.subject, FEDERATED_SUBJECT);
    assert_eq!(
        subject.claims.get("sub").and_then(Value::as_str),
        Some(subject.subject.as_str())
    );
    assert!(subject.expires_at + 300 > NOW, "accepted an expired token");
}
