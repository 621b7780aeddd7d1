//! X.509-SVIDs: a SPIFFE ID taken from a client certificate's URI SAN (the
//! listener's TLS handshake already verified the certificate against the
//! configured CA bundle) maps to an identity by the same claim rules a
//! JWT-SVID's `sub` goes through.
//!
//! Only the rules of `spiffe` issuers take part, and of those only rules
//! whose `sub` pattern pins the ID's trust domain (its literal text before
//! any `*` starts with `spiffe://TRUST_DOMAIN/`): a certificate of one
//! trust domain can never match a rule written for another. The claims a
//! rule sees are `{"sub": "<SPIFFE ID>"}` alone, so a rule that also
//! constrains other claims (`aud`, ...) never matches a certificate.

use std::fmt;

use serde_json::{Map, Value};

use super::Federation;
use super::error::FederationError;
use super::preset::Preset;

/// Longest SPIFFE ID accepted, in bytes (the SPIFFE specification's limit).
const MAX_SPIFFE_ID: usize = 2048;

/// A syntactically valid SPIFFE ID of a workload:
/// `spiffe://TRUST_DOMAIN/PATH`, with a non-empty path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpiffeId {
    text: String,
    trust_domain_end: usize,
}

impl SpiffeId {
    /// Parses `text` by the SPIFFE ID rules: scheme `spiffe`, a trust
    /// domain of `a-z 0-9 . - _`, a path of non-empty segments of
    /// `a-z A-Z 0-9 . - _` that are not `.` or `..`, no query, fragment,
    /// port or user info. `None` when it is not one.
    pub fn parse(text: &str) -> Option<SpiffeId> {
        if text.len() > MAX_SPIFFE_ID {
            return None;
        }
        let rest = text.strip_prefix("spiffe://")?;
        let (domain, path) = rest.split_once('/')?;
        let domain_ok = !domain.is_empty()
            && domain
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b));
        let path_ok = path.split('/').all(|segment| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
        });
        (domain_ok && path_ok).then(|| SpiffeId {
            text: text.to_owned(),
            trust_domain_end: "spiffe://".len() + domain.len(),
        })
    }

    /// The whole ID.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The trust domain.
    pub fn trust_domain(&self) -> &str {
        &self.text["spiffe://".len()..self.trust_domain_end]
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Federation {
    /// The identity an X.509-SVID's SPIFFE ID maps to, and the name of the
    /// `spiffe` issuer whose rule matched. [`FederationError::UnknownIssuer`]
    /// when no `spiffe` issuer has a rule for the ID's trust domain;
    /// `NoMatchingRule` or `AmbiguousRule` as for a JWT-SVID.
    pub fn map_spiffe_id(&self, id: &SpiffeId) -> Result<(String, String), FederationError> {
        let scope = format!("spiffe://{}/", id.trust_domain());
        let mut claims = Map::new();
        claims.insert("sub".to_owned(), Value::String(id.as_str().to_owned()));
        let mut any_rule = None;
        let mut found: Option<(&str, &str)> = None;
        for issuer in self
            .issuers
            .iter()
            .filter(|i| i.config.preset == Preset::Spiffe)
        {
            let name = issuer.config.name.as_str();
            for rule in issuer
                .config
                .rules
                .iter()
                .filter(|r| r.subject_prefixes().any(|p| p.starts_with(&scope)))
            {
                any_rule = Some(name);
                if !rule.matches(&claims) {
                    continue;
                }
                match found {
                    None => found = Some((name, rule.identity())),
                    Some((_, identity)) if identity == rule.identity() => {}
                    Some(_) => {
                        return Err(FederationError::AmbiguousRule {
                            issuer: name.to_owned(),
                        });
                    }
                }
            }
        }
        match (found, any_rule) {
            (Some((issuer, identity)), _) => Ok((issuer.to_owned(), identity.to_owned())),
            (None, Some(issuer)) => Err(FederationError::NoMatchingRule {
                issuer: issuer.to_owned(),
                claim: "sub".to_owned(),
            }),
            (None, None) => Err(FederationError::UnknownIssuer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spiffe_id_syntax() {
        let id = SpiffeId::parse("spiffe://example.org/ns/prod/sa/billing").unwrap();
        assert_eq!(id.trust_domain(), "example.org");
        for bad in [
            "spiffe://example.org",
            "spiffe://example.org/",
            "spiffe:///path",
            "spiffe://Example.org/a",
            "spiffe://example.org/a//b",
            "spiffe://example.org/a/../b",
            "spiffe://example.org/a?x=1",
            "spiffe://example.org:8443/a",
            "spiffe://user@example.org/a",
            "https://example.org/a",
        ] {
            assert!(SpiffeId::parse(bad).is_none(), "{bad}");
        }
    }
}
