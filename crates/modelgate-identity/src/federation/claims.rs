//! Registered claims (RFC 7519) of a signature-verified token, with strict
//! types: a claim of the wrong JSON type is an error, never ignored.

use serde_json::{Map, Value};

use super::error::FederationError;

/// What the standard checks need to know about the issuer.
pub(crate) struct Expectations<'a> {
    /// Configured issuer name (for errors).
    pub name: &'a str,
    /// Exact `iss`.
    pub issuer: &'a str,
    /// The audience `aud` must contain.
    pub audience: &'a str,
    /// Clock skew allowed, in seconds.
    pub leeway: i64,
}

/// The checked standard claims.
#[derive(Debug, PartialEq)]
pub(crate) struct Standard {
    /// `sub`.
    pub subject: String,
    /// `exp`, rounded down to whole seconds.
    pub expires_at: i64,
}

/// Reads `iss` before the signature is verified, only to choose the issuer.
/// `Ok(None)` when absent.
pub(crate) fn unverified_issuer(
    claims: &Map<String, Value>,
) -> Result<Option<&str>, FederationError> {
    match claims.get("iss") {
        None => Ok(None),
        Some(Value::String(iss)) => Ok(Some(iss)),
        Some(_) => Err(FederationError::malformed("iss is not a string")),
    }
}

/// Checks `exp`, `nbf`, `iat`, `iss`, `aud` and `sub` at time `now`.
pub(crate) fn check(
    claims: &Map<String, Value>,
    expect: &Expectations<'_>,
    now: i64,
) -> Result<Standard, FederationError> {
    let issuer = || expect.name.to_owned();
    let now = now as f64;
    let leeway = expect.leeway as f64;

    let exp = numeric(claims, "exp")?.ok_or_else(|| FederationError::MissingClaim {
        issuer: issuer(),
        claim: "exp",
    })?;
    if exp <= now - leeway {
        return Err(FederationError::Expired { issuer: issuer() });
    }
    if let Some(nbf) = numeric(claims, "nbf")?
        && nbf > now + leeway
    {
        return Err(FederationError::NotYetValid { issuer: issuer() });
    }
    if let Some(iat) = numeric(claims, "iat")?
        && iat > now + leeway
    {
        return Err(FederationError::IssuedInFuture { issuer: issuer() });
    }
    match claims.get("iss") {
        Some(Value::String(iss)) if iss == expect.issuer => {}
        // Unreachable after issuer selection, but never assumed.
        _ => return Err(FederationError::UnknownIssuer),
    }
    if !audience_contains(claims.get("aud"), expect.audience)? {
        return Err(FederationError::WrongAudience { issuer: issuer() });
    }
    let subject = match claims.get("sub") {
        Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
        Some(Value::String(_)) => return Err(FederationError::malformed("sub is empty")),
        Some(_) => return Err(FederationError::malformed("sub is not a string")),
        None => {
            return Err(FederationError::MissingClaim {
                issuer: issuer(),
                claim: "sub",
            });
        }
    };
    Ok(Standard {
        subject,
        // Saturating float-to-int conversion; exp is finite (JSON numbers are).
        expires_at: exp.floor() as i64,
    })
}

/// A NumericDate claim: absent, or a JSON number (integer or fraction).
fn numeric(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<f64>, FederationError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(Some)
            .ok_or(FederationError::malformed("a time claim is out of range")),
        Some(_) => Err(FederationError::malformed(
            "a time claim (exp, nbf or iat) is not a number",
        )),
    }
}

/// `aud` as a string or an array of strings; any other shape is malformed.
/// Absent means "does not contain".
fn audience_contains(aud: Option<&Value>, wanted: &str) -> Result<bool, FederationError> {
    match aud {
        None => Ok(false),
        Some(Value::String(one)) => Ok(one == wanted),
        Some(Value::Array(many)) => {
            let mut found = false;
            for item in many {
                match item {
                    Value::String(s) => found |= s == wanted,
                    _ => return Err(FederationError::malformed("aud has a non-string entry")),
                }
            }
            Ok(found)
        }
        Some(_) => Err(FederationError::malformed("aud is not a string or array")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn expect() -> Expectations<'static> {
        Expectations {
            name: "t",
            issuer: "https://issuer.example",
            audience: "modelgate",
            leeway: 30,
        }
    }

    fn run(claims: Value) -> Result<Standard, FederationError> {
        let Value::Object(map) = claims else {
            panic!("not an object")
        };
        check(&map, &expect(), NOW)
    }

    fn base() -> Value {
        json!({"iss": "https://issuer.example", "aud": "modelgate", "sub": "s", "exp": NOW + 60})
    }

    fn with(key: &str, value: Value) -> Value {
        let mut v = base();
        v[key] = value;
        v
    }

    #[test]
    fn accepts_good_claims_and_fractional_times() {
        let got = run(with("exp", json!(NOW as f64 + 60.9))).unwrap();
        assert_eq!(got.expires_at, NOW + 60);
        assert_eq!(got.subject, "s");
        assert!(run(with("aud", json!(["other", "modelgate"]))).is_ok());
    }

    #[test]
    fn leeway_bounds() {
        assert!(run(with("exp", json!(NOW - 29))).is_ok());
        assert_eq!(
            run(with("exp", json!(NOW - 30))).unwrap_err().label(),
            "expired"
        );
        assert!(run(with("nbf", json!(NOW + 30))).is_ok());
        assert_eq!(
            run(with("nbf", json!(NOW + 31))).unwrap_err().label(),
            "not_yet_valid"
        );
        assert!(run(with("iat", json!(NOW + 30))).is_ok());
        assert_eq!(
            run(with("iat", json!(NOW + 31))).unwrap_err().label(),
            "issued_in_future"
        );
    }

    #[test]
    fn types_are_strict() {
        for (key, value) in [
            ("exp", json!("1900000000")),
            ("nbf", json!(null)),
            ("iat", json!(true)),
            ("aud", json!(["modelgate", 1])),
            ("aud", json!({"a": "modelgate"})),
            ("sub", json!(42)),
            ("sub", json!("")),
        ] {
            assert_eq!(
                run(with(key, value)).unwrap_err().label(),
                "malformed",
                "{key}"
            );
        }
        assert_eq!(
            run(with("aud", json!([]))).unwrap_err().label(),
            "wrong_audience"
        );
        let mut no_sub = base();
        no_sub.as_object_mut().unwrap().remove("sub");
        assert_eq!(run(no_sub).unwrap_err().label(), "missing_claim");
    }
}
