//! Access tokens: minting, verification and every refusal.

mod token_support;

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use modelgate_identity::{
    AccessTokenSettings, AccessTokens, Actor, AuthError, AuthMethod, IdentityError, IdentityKind,
    TokenRejection, looks_like_jwt,
};
use ring::hmac;
use serde_json::json;
use token_support::{
    AUDIENCE, ISSUER, NOW, TEST_KID, b64, claims, env, env_with, forge, header, identity,
    new_identity, payload, replica, settings, token_header,
};

fn actor(subject: &str) -> Actor {
    Actor {
        subject: subject.to_owned(),
    }
}

fn rejected(result: Result<modelgate_identity::Principal, AuthError>) -> TokenRejection {
    match result {
        Err(AuthError::InvalidToken(why)) => why,
        other => panic!("expected InvalidToken, got {other:?}"),
    }
}

#[tokio::test]
async fn round_trip_to_principal() {
    let env = env().await;
    let who = identity(&env, "billing").await;
    let minted = env
        .tokens
        .mint(&who, Some("chat embeddings"), &[], None, NOW)
        .unwrap();
    assert_eq!(minted.lifetime_secs, 900);
    assert_eq!(minted.expires_at, NOW + 900);
    assert_eq!(minted.jti.len(), 22);
    let token = minted.token.expose();
    assert!(looks_like_jwt(token));

    assert_eq!(
        token_header(token),
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": TEST_KID})
    );
    let body = payload(token);
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["aud"], AUDIENCE);
    assert_eq!(body["sub"], who.id.as_str());
    assert_eq!(body["client_id"], "billing");
    assert_eq!(body["iat"], NOW);
    assert_eq!(body["nbf"], NOW);
    assert_eq!(body["exp"], NOW + 900);
    assert_eq!(body["jti"], minted.jti.as_str());
    assert_eq!(body["scope"], "chat embeddings");
    assert_eq!(body["mg_kind"], "service");
    assert_eq!(body["mg_env"], "prod");
    assert_eq!(body["mg_owner"], "team-payments");
    assert!(body.get("act").is_none());

    let p = env.tokens.verify(token, NOW + 10).unwrap();
    assert_eq!(p.identity_id, who.id);
    assert_eq!(p.identity_name, "billing");
    assert_eq!(p.kind, IdentityKind::Service);
    assert_eq!(p.owner, "team-payments");
    assert_eq!(p.environment, "prod");
    assert_eq!(p.credential_id, minted.jti);
    assert_eq!(p.auth_method, AuthMethod::AccessToken);
    assert_eq!(p.auth_method.as_str(), "access_token");
    assert!(p.delegation.is_empty());
    assert_eq!(p.scope.as_deref(), Some("chat embeddings"));

    // No scope: no claim, no principal scope.
    let bare = env.tokens.mint(&who, None, &[], None, NOW).unwrap();
    assert!(payload(bare.token.expose()).get("scope").is_none());
    assert_eq!(
        env.tokens.verify(bare.token.expose(), NOW).unwrap().scope,
        None
    );
    assert_ne!(bare.jti, minted.jti);
}

#[tokio::test]
async fn act_chain_is_nested_and_decoded_in_order() {
    let env = env().await;
    let who = identity(&env, "billing").await;
    let chain = [actor("agent-runner"), actor("https://ci.example/workflow")];
    let minted = env.tokens.mint(&who, None, &chain, None, NOW).unwrap();
    assert_eq!(
        payload(minted.token.expose())["act"],
        json!({"sub": "agent-runner", "act": {"sub": "https://ci.example/workflow"}})
    );
    let p = env.tokens.verify(minted.token.expose(), NOW).unwrap();
    assert_eq!(p.delegation, chain);

    // Too deep, or an invalid subject: refused at mint.
    let deep: Vec<Actor> = (0..9).map(|i| actor(&format!("a{i}"))).collect();
    let err = env.tokens.mint(&who, None, &deep, None, NOW).unwrap_err();
    assert!(
        matches!(err, IdentityError::DelegationTooDeep { max: 8 }),
        "{err}"
    );
    assert!(env.tokens.mint(&who, None, &deep[..8], None, NOW).is_ok());
    for bad in ["", "line\nbreak"] {
        let err = env
            .tokens
            .mint(&who, None, &[actor(bad)], None, NOW)
            .unwrap_err();
        assert!(matches!(err, IdentityError::InvalidActor), "{err}");
    }

    // A forged token deeper than 8 is refused at verify.
    let mut act = json!({"sub": "a0"});
    for i in 1..10 {
        act = json!({"sub": format!("a{i}"), "act": act});
    }
    let mut body = claims(&who);
    body["act"] = act;
    let token = forge(&env.pair, &header(), &body);
    assert_eq!(
        rejected(env.tokens.verify(&token, NOW)),
        TokenRejection::DelegationTooDeep
    );
}

#[tokio::test]
async fn lifetime_caps() {
    let mut s = settings();
    s.max_lifetime_by_kind = BTreeMap::from([(IdentityKind::CiJob, Duration::from_secs(300))]);
    let env = env_with(s).await;
    let svc = &env.svc;
    let service = identity(&env, "billing").await;
    let ci = svc
        .create_identity(new_identity("deploy", IdentityKind::CiJob), NOW)
        .await
        .unwrap();
    let life = |who, requested: Option<u64>| {
        env.tokens
            .mint(who, None, &[], requested.map(Duration::from_secs), NOW)
            .map(|m| (m.lifetime_secs, m.expires_at - NOW))
    };
    // Default 15 min; requested shorter; longer cut to the 1 h maximum.
    assert_eq!(life(&service, None).unwrap(), (900, 900));
    assert_eq!(life(&service, Some(60)).unwrap(), (60, 60));
    assert_eq!(life(&service, Some(1_800)).unwrap(), (1_800, 1_800));
    assert_eq!(life(&service, Some(86_400)).unwrap(), (3_600, 3_600));
    // Per-kind cap (5 min for CI jobs) wins over default and request.
    assert_eq!(life(&ci, None).unwrap(), (300, 300));
    assert_eq!(life(&ci, Some(60)).unwrap(), (60, 60));
    assert_eq!(life(&ci, Some(3_600)).unwrap(), (300, 300));
    // Under a second is refused.
    assert!(matches!(
        env.tokens
            .mint(&service, None, &[], Some(Duration::from_millis(500)), NOW),
        Err(IdentityError::LifetimeTooShort)
    ));
    // The settings' helper says the same.
    assert_eq!(
        env.tokens
            .settings()
            .lifetime_for(IdentityKind::CiJob, None)
            .unwrap(),
        Duration::from_secs(300)
    );
}

#[tokio::test]
async fn settings_are_validated() {
    let env = env().await;
    let bad = [
        AccessTokenSettings {
            issuer: " ".into(),
            ..settings()
        },
        AccessTokenSettings {
            audience: String::new(),
            ..settings()
        },
        AccessTokenSettings {
            default_lifetime: Duration::from_secs(7_200),
            ..settings()
        },
        AccessTokenSettings {
            max_lifetime_by_kind: BTreeMap::from([(IdentityKind::Agent, Duration::ZERO)]),
            ..settings()
        },
    ];
    for s in bad {
        let err = AccessTokens::new(env.store.clone(), env.keyring.clone(), s, NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(err, IdentityError::InvalidTokenSettings(_)),
            "{err}"
        );
    }
    let d = AccessTokenSettings::default();
    assert_eq!(d.default_lifetime, Duration::from_secs(900));
    assert_eq!(d.max_lifetime, Duration::from_secs(3_600));
    assert!(d.max_lifetime_by_kind.is_empty());
}

#[tokio::test]
async fn scope_is_validated_at_mint() {
    let env = env().await;
    let who = identity(&env, "billing").await;
    for bad in ["", "two  spaces", "quote\"", " lead"] {
        let err = env
            .tokens
            .mint(&who, Some(bad), &[], None, NOW)
            .unwrap_err();
        assert!(matches!(err, IdentityError::InvalidScope), "{err}");
    }
}

#[tokio::test]
async fn forged_header_refusals() {
    let env = env().await;
    let who = identity(&env, "billing").await;
    let body = claims(&who);
    // The forge helper itself produces an acceptable token.
    let good = forge(&env.pair, &header(), &body);
    assert_eq!(env.tokens.verify(&good, NOW).unwrap().identity_id, who.id);

    // typ: accepted forms, then wrong or missing.
    for typ in ["AT+JWT", "application/at+jwt"] {
        let h = json!({"alg": "EdDSA", "typ": typ, "kid": TEST_KID});
        assert!(env.tokens.verify(&forge(&env.pair, &h, &body), NOW).is_ok());
    }
    for h in [
        json!({"alg": "EdDSA", "typ": "JWT", "kid": TEST_KID}),
        json!({"alg": "EdDSA", "kid": TEST_KID}),
    ] {
        assert_eq!(
            rejected(env.tokens.verify(&forge(&env.pair, &h, &body), NOW)),
            TokenRejection::WrongType
        );
    }
    // Unknown kid, or none.
    for h in [
        json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "nope"}),
        json!({"alg": "EdDSA", "typ": "at+jwt"}),
    ] {
        assert_eq!(
            rejected(env.tokens.verify(&forge(&env.pair, &h, &body), NOW)),
            TokenRejection::UnknownKey
        );
    }
    // crit is not understood.
    let h = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": TEST_KID, "crit": ["exp"]});
    assert_eq!(
        rejected(env.tokens.verify(&forge(&env.pair, &h, &body), NOW)),
        TokenRejection::UnsupportedHeader
    );

    // alg none: empty signature, or the original signature kept.
    let none = json!({"alg": "none", "typ": "at+jwt", "kid": TEST_KID});
    let unsigned = format!("{}.{}.", b64(&none), b64(&body));
    assert!(matches!(
        env.tokens.verify(&unsigned, NOW),
        Err(AuthError::InvalidToken(_))
    ));
    let sig = good.rsplit('.').next().unwrap();
    let resigned = format!("{}.{}.{sig}", b64(&none), b64(&body));
    assert_eq!(
        rejected(env.tokens.verify(&resigned, NOW)),
        TokenRejection::UnsupportedAlgorithm
    );

    // HS256 with the public key as the HMAC secret (key confusion).
    let jwks = env.tokens.jwks();
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    let hs = json!({"alg": "HS256", "typ": "at+jwt", "kid": TEST_KID});
    let input = format!("{}.{}", b64(&hs), b64(&body));
    for secret in [x.as_bytes().to_vec(), URL_SAFE_NO_PAD.decode(x).unwrap()] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
        let mac = hmac::sign(&key, input.as_bytes());
        let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
        assert_eq!(
            rejected(env.tokens.verify(&token, NOW)),
            TokenRejection::UnsupportedAlgorithm
        );
    }
}

#[tokio::test]
async fn tampering_and_malformed_tokens() {
    let env = env().await;
    let who = identity(&env, "billing").await;
    let minted = env.tokens.mint(&who, Some("chat"), &[], None, NOW).unwrap();
    let token = minted.token.expose();
    let parts: Vec<&str> = token.split('.').collect();

    // Payload changed (scope widened), signature kept.
    let mut body = payload(token);
    body["scope"] = json!("chat admin");
    let tampered = format!("{}.{}.{}", parts[0], b64(&body), parts[2]);
    assert_eq!(
        rejected(env.tokens.verify(&tampered, NOW)),
        TokenRejection::BadSignature
    );
    // One flipped signature character.
    let mut sig = parts[2].to_owned();
    let flip = if sig.starts_with('A') { "B" } else { "A" };
    sig.replace_range(0..1, flip);
    let flipped = format!("{}.{}.{sig}", parts[0], parts[1]);
    assert_eq!(
        rejected(env.tokens.verify(&flipped, NOW)),
        TokenRejection::BadSignature
    );

    let oversized = format!("{token}{}", "A".repeat(9 * 1024));
    assert_eq!(
        rejected(env.tokens.verify(&oversized, NOW)),
        TokenRejection::TooLarge
    );
    // A token just under the limit but padded with a fourth segment.
    for bad in [
        String::new(),
        "eyJ".to_owned(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{token}.extra"),
        format!("{}..{}", parts[0], parts[2]),
        format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], parts[1], &parts[2][..40]),
        format!("{}+.{}.{}", parts[0], parts[1], parts[2]),
        token.replace('.', " "),
    ] {
        assert_eq!(
            rejected(env.tokens.verify(&bad, NOW)),
            TokenRejection::Malformed,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn claim_refusals() {
    let env = env().await;
    let who = identity(&env, "billing").await;
    let verify =
        |body: &serde_json::Value, now| env.tokens.verify(&forge(&env.pair, &header(), body), now);

    // Expiry: exp is exclusive, with 5 s of leeway and no more.
    let body = claims(&who);
    assert!(verify(&body, NOW + 904).is_ok());
    assert!(matches!(
        verify(&body, NOW + 905),
        Err(AuthError::TokenExpired)
    ));
    let minted = env.tokens.mint(&who, None, &[], None, NOW).unwrap();
    assert!(matches!(
        env.tokens.verify(minted.token.expose(), NOW + 3_600),
        Err(AuthError::TokenExpired)
    ));

    let cases: Vec<(&str, serde_json::Value, TokenRejection)> = vec![
        (
            "iss",
            json!("https://evil.test"),
            TokenRejection::WrongIssuer,
        ),
        (
            "aud",
            json!("https://other.test"),
            TokenRejection::WrongAudience,
        ),
        (
            "aud",
            json!(["https://other.test"]),
            TokenRejection::WrongAudience,
        ),
        (
            "exp",
            json!((NOW + 900).to_string()),
            TokenRejection::BadClaims,
        ),
        ("exp", json!(1.7e9), TokenRejection::BadClaims),
        ("iat", json!(null), TokenRejection::BadClaims),
        ("nbf", json!(NOW + 60), TokenRejection::NotYetValid),
        ("iat", json!(NOW + 60), TokenRejection::NotYetValid),
        ("mg_kind", json!("robot"), TokenRejection::BadClaims),
        ("sub", json!("someone"), TokenRejection::BadClaims),
        ("jti", json!("short"), TokenRejection::BadClaims),
        ("client_id", json!(42), TokenRejection::BadClaims),
        // Longer than the one-hour maximum.
        ("exp", json!(NOW + 7_200), TokenRejection::BadLifetime),
        ("exp", json!(NOW), TokenRejection::BadLifetime),
    ];
    for (claim, value, want) in cases {
        let mut body = claims(&who);
        body[claim] = value.clone();
        assert_eq!(rejected(verify(&body, NOW)), want, "{claim} = {value}");
    }
    // An audience list that contains ours is fine.
    let mut body = claims(&who);
    body["aud"] = json!(["https://other.test", AUDIENCE]);
    assert!(verify(&body, NOW).is_ok());
    // Missing required claims.
    for claim in ["exp", "jti", "sub", "client_id", "mg_owner", "nbf"] {
        let mut body = claims(&who);
        body.as_object_mut().unwrap().remove(claim);
        assert_eq!(
            rejected(verify(&body, NOW)),
            TokenRejection::BadClaims,
            "{claim}"
        );
    }
}

#[tokio::test]
async fn tokens_from_another_issuer_or_audience_are_refused() {
    let env = env().await;
    let who = identity(&env, "billing").await;
    // Same keys, other settings: a signature that verifies, claims that do not.
    for other in [
        AccessTokenSettings {
            issuer: "https://other-gateway.test".into(),
            ..settings()
        },
        AccessTokenSettings {
            audience: "https://other-api.test".into(),
            ..settings()
        },
    ] {
        let minter = AccessTokens::new(env.store.clone(), env.keyring.clone(), other, NOW)
            .await
            .unwrap();
        let minted = minter.mint(&who, None, &[], None, NOW).unwrap();
        assert!(minter.verify(minted.token.expose(), NOW).is_ok());
        let why = rejected(env.tokens.verify(minted.token.expose(), NOW));
        assert!(
            matches!(
                why,
                TokenRejection::WrongIssuer | TokenRejection::WrongAudience
            ),
            "{why:?}"
        );
    }
}

#[tokio::test]
async fn revocation_is_immediate_here_and_after_refresh_elsewhere() {
    let env = env().await;
    let who = identity(&env, "billing").await;
    let (_store2, other) = replica(env.dir.path(), &env.kek).await;
    let minted = env.tokens.mint(&who, None, &[], None, NOW).unwrap();
    let token = minted.token.expose();
    let keep = env.tokens.mint(&who, None, &[], None, NOW).unwrap();
    assert!(other.verify(token, NOW).is_ok());

    assert!(
        env.tokens
            .revoke_jti(&minted.jti, &who.id, minted.expires_at, NOW + 1)
            .await
            .unwrap()
    );
    assert!(
        !env.tokens
            .revoke_jti(&minted.jti, &who.id, minted.expires_at, NOW + 2)
            .await
            .unwrap()
    );
    assert!(matches!(
        env.tokens.verify(token, NOW + 2),
        Err(AuthError::TokenRevoked)
    ));
    // The other replica still accepts it until it refreshes...
    assert!(other.verify(token, NOW + 2).is_ok());
    assert!(other.refresh(NOW + 2).await.unwrap());
    // ...then refuses it; nothing changed since, so no reload.
    assert!(matches!(
        other.verify(token, NOW + 2),
        Err(AuthError::TokenRevoked)
    ));
    assert!(!other.refresh(NOW + 3).await.unwrap());
    assert!(other.verify(keep.token.expose(), NOW + 3).is_ok());
    assert_eq!(other.revocations().revoked_count(), 1);

    // After the token's expiry the record is pruned everywhere.
    assert_eq!(
        env.tokens
            .prune_revocations(minted.expires_at)
            .await
            .unwrap(),
        1
    );
    assert!(!other.refresh(minted.expires_at).await.unwrap());
    assert_eq!(other.revocations().revoked_count(), 0);
}

#[tokio::test]
async fn offboarding_refuses_tokens_here_at_once_and_elsewhere_after_refresh() {
    let env = env().await;
    let who = identity(&env, "billing").await;
    let (_store2, other) = replica(env.dir.path(), &env.kek).await;
    let minted = env.tokens.mint(&who, None, &[], None, NOW).unwrap();
    let token = minted.token.expose();

    env.svc.offboard_identity("billing", NOW + 1).await.unwrap();
    assert!(matches!(
        env.tokens.verify(token, NOW + 1),
        Err(AuthError::IdentityDisabled)
    ));
    assert!(other.verify(token, NOW + 1).is_ok());
    assert!(other.refresh(NOW + 1).await.unwrap());
    assert!(matches!(
        other.verify(token, NOW + 1),
        Err(AuthError::IdentityDisabled)
    ));
    // The stale identity value cannot be used to mint either.
    let err = env.tokens.mint(&who, None, &[], None, NOW + 2).unwrap_err();
    assert!(matches!(err, IdentityError::StaleIdentity { .. }), "{err}");
    let err = env
        .svc
        .mint_access_token("billing", None, &[], None, NOW + 2)
        .await
        .unwrap_err();
    assert!(
        matches!(err, IdentityError::IdentityNotActive { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn disable_and_enable_through_the_service() {
    let env = env().await;
    let who = identity(&env, "billing").await;
    let minted = env
        .svc
        .mint_access_token("billing", None, &[], None, NOW)
        .await
        .unwrap();
    let token = minted.token.expose();
    env.svc.disable_identity("billing", NOW + 1).await.unwrap();
    assert!(matches!(
        env.tokens.verify(token, NOW + 1),
        Err(AuthError::IdentityDisabled)
    ));
    let again = env.svc.enable_identity("billing", NOW + 2).await.unwrap();
    assert!(again.is_active());
    assert_eq!(
        env.tokens.verify(token, NOW + 2).unwrap().identity_id,
        who.id
    );
}

#[tokio::test]
async fn looks_like_jwt_shapes() {
    assert!(looks_like_jwt("eyJhbGciOi.eyJzdWIi.c2ln"));
    assert!(!looks_like_jwt("mgk_0123456789"));
    assert!(!looks_like_jwt("eyJhbGciOi.eyJzdWIi"));
    assert!(!looks_like_jwt("eyJa.b.c.d"));
    assert!(!looks_like_jwt("abc.def.ghi"));
}

#[tokio::test]
async fn mint_without_a_service_token_attachment_is_refused() {
    let env = env().await;
    identity(&env, "billing").await;
    let bare = modelgate_identity::IdentityService::new(env.store.clone(), Default::default());
    let err = bare
        .mint_access_token("billing", None, &[], None, NOW)
        .await
        .unwrap_err();
    assert!(matches!(err, IdentityError::TokensNotConfigured), "{err}");
}

#[tokio::test]
async fn remembered_tokens_are_still_checked_on_every_use() {
    for capacity in [0, 2, 10_000] {
        let env = env_with(AccessTokenSettings {
            verified_cache_capacity: capacity,
            ..settings()
        })
        .await;
        let who = identity(&env, "billing").await;
        let t = &env.tokens;
        let minted: Vec<_> = (0..3)
            .map(|_| t.mint(&who, None, &[], None, NOW).unwrap())
            .collect();
        // Verify each twice: more tokens than a capacity of 2 holds.
        for _ in 0..2 {
            for m in &minted {
                assert!(t.verify(m.token.expose(), NOW + 1).is_ok(), "{capacity}");
            }
        }
        let token = minted[0].token.expose();
        assert!(matches!(
            t.verify(token, NOW + 905),
            Err(AuthError::TokenExpired)
        ));
        env.svc.disable_identity("billing", NOW + 2).await.unwrap();
        assert!(matches!(
            t.verify(token, NOW + 2),
            Err(AuthError::IdentityDisabled)
        ));
        env.svc.enable_identity("billing", NOW + 3).await.unwrap();
        assert!(t.verify(token, NOW + 3).is_ok());
        t.revoke_jti(&minted[0].jti, &who.id, minted[0].expires_at, NOW + 4)
            .await
            .unwrap();
        assert!(matches!(
            t.verify(token, NOW + 4),
            Err(AuthError::TokenRevoked)
        ));
        // A near-copy is not a memo hit.
        let mut changed = minted[1].token.expose().to_owned();
        changed.push('A');
        assert!(matches!(
            t.verify(&changed, NOW + 4),
            Err(AuthError::InvalidToken(_))
        ));
        assert!(t.verify(minted[1].token.expose(), NOW + 4).is_ok());
    }
}

#[tokio::test]
async fn repeated_claims_are_refused() {
    let env = env().await;
    let who = identity(&env, "billing").await;
    let body = claims(&who).to_string();
    // Append a second `exp` far in the future: a lenient parser taking the
    // last one would extend the token.
    let doubled = format!("{},\"exp\":{}}}", &body[..body.len() - 1], NOW + 999_999);
    let input = format!(
        "{}.{}",
        b64(&header()),
        URL_SAFE_NO_PAD.encode(doubled.as_bytes())
    );
    let sig = env.pair.sign(input.as_bytes());
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()));
    assert_eq!(
        rejected(env.tokens.verify(&token, NOW)),
        TokenRejection::BadClaims
    );
}
