//! No error or debug output on any token, keyring, KEK or lifecycle path
//! shows an access token, a signing key, the KEK, or a recognisable part of
//! any of them.

mod token_support;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use modelgate_identity::{Actor, KeyEncryptionKey, SigningKeyring};
use token_support::{NOW, env, identity, payload};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn assert_clean(what: &str, text: &str, forbidden: &[String]) {
    for f in forbidden {
        assert!(!text.contains(f.as_str()), "{what} leaked {f:?}: {text}");
    }
}

#[tokio::test]
async fn nothing_prints_a_token_or_a_key() {
    let env = env().await;
    let who = identity(&env, "billing").await;
    let minted = env.tokens.mint(&who, Some("chat"), &[], None, NOW).unwrap();
    let token = minted.token.expose().to_owned();
    let parts: Vec<&str> = token.split('.').collect();
    let kek_b64 = env.kek.to_base64();
    let kek_bytes = STANDARD.decode(&kek_b64).unwrap();
    // The Ed25519 seed sits at the end of the PKCS#8 document's first
    // OCTET STRING; check the whole document and slices of it.
    let pkcs8 = &env.pkcs8;
    let mut forbidden = vec![
        token.clone(),
        parts[1][10..40].to_owned(),
        parts[2][..24].to_owned(),
        parts[2][40..].to_owned(),
        kek_b64[..20].to_owned(),
        hex(&kek_bytes)[..20].to_owned(),
        URL_SAFE_NO_PAD.encode(&kek_bytes)[..20].to_owned(),
        hex(pkcs8)[32..64].to_owned(),
        STANDARD.encode(pkcs8)[20..44].to_owned(),
        format!("{:?}", &pkcs8[16..20])
            .trim_matches(['[', ']'])
            .to_owned(),
        format!("{:?}", &kek_bytes[..4])
            .trim_matches(['[', ']'])
            .to_owned(),
    ];
    forbidden.retain(|f| f.len() >= 8);

    // Secrets' own output.
    let mut texts: Vec<(String, String)> = vec![
        ("token display".into(), format!("{}", minted.token)),
        ("token debug".into(), format!("{:?}", minted.token)),
        ("minted debug".into(), format!("{minted:?}")),
        ("kek debug".into(), format!("{:?}", env.kek)),
        ("keyring debug".into(), format!("{:?}", env.keyring)),
        ("tokens debug".into(), format!("{:?}", env.tokens)),
        ("service debug".into(), format!("{:?}", env.svc)),
        ("jwks".into(), env.tokens.jwks().to_string()),
    ];

    // Every refusal a presented token can reach, including near-misses.
    let mut body = payload(&token);
    body["scope"] = serde_json::json!("admin");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&body).unwrap()),
        parts[2]
    );
    let presented = [
        token.clone(),
        tampered,
        format!("{token}x"),
        token[..token.len() - 1].to_owned(),
        format!("Bearer {token}"),
        format!("{token}{}", "A".repeat(9_000)),
        token.replacen("eyJ", "eyK", 1),
    ];
    for (i, p) in presented.iter().enumerate() {
        for now in [NOW, NOW + 10_000] {
            if let Err(err) = env.tokens.verify(p, now) {
                texts.push((format!("verify {i}"), format!("{err} {err:?}")));
            }
        }
        // Administrative paths a pasted token could reach by mistake.
        let svc = &env.svc;
        let errs = [
            svc.identity(p).await.unwrap_err(),
            svc.offboard_identity(p, NOW).await.unwrap_err(),
            svc.disable_identity(p, NOW).await.unwrap_err(),
            svc.enable_identity(p, NOW).await.unwrap_err(),
            svc.rotate_key(p, Duration::ZERO, NOW).await.unwrap_err(),
            svc.mint_access_token(p, None, &[], None, NOW)
                .await
                .unwrap_err(),
            env.tokens
                .mint(&who, Some(&format!("{p}\"")), &[], None, NOW)
                .unwrap_err(),
            env.tokens
                .mint(
                    &who,
                    None,
                    &[Actor {
                        subject: format!("{p}\n"),
                    }],
                    None,
                    NOW,
                )
                .unwrap_err(),
        ];
        for err in errs {
            texts.push((format!("admin {i}"), format!("{err} {err:?}")));
        }
        let kek_err = KeyEncryptionKey::parse(p).unwrap_err();
        texts.push((format!("kek parse {i}"), format!("{kek_err} {kek_err:?}")));
    }
    // The KEK itself, mangled, fed back as text.
    for bad in [
        &kek_b64[..40],
        &format!("{kek_b64}AA"),
        &hex(&kek_bytes)[..60],
    ] {
        let err = KeyEncryptionKey::parse(bad).unwrap_err();
        texts.push(("kek parse".into(), format!("{err} {err:?}")));
    }

    // Revoked and offboarded refusals.
    env.tokens
        .revoke_jti(&minted.jti, &who.id, minted.expires_at, NOW)
        .await
        .unwrap();
    let err = env.tokens.verify(&token, NOW).unwrap_err();
    texts.push(("revoked".into(), format!("{err} {err:?}")));

    // A wrong KEK at startup.
    let wrong = KeyEncryptionKey::generate().unwrap();
    let err = SigningKeyring::load(env.store.clone(), wrong)
        .await
        .unwrap_err();
    texts.push(("wrong kek".into(), format!("{err} {err:?}")));

    // Store failures on every path.
    env.store.close().await;
    for err in [
        env.svc.offboard_identity("billing", NOW).await.unwrap_err(),
        env.svc
            .rotate_key("key_00000000000000000000", Duration::ZERO, NOW)
            .await
            .unwrap_err(),
        env.tokens
            .revoke_jti(&minted.jti, &who.id, minted.expires_at, NOW)
            .await
            .unwrap_err(),
        env.tokens.refresh(NOW + 1).await.unwrap_err(),
    ] {
        texts.push(("store".into(), format!("{err} {err:?}")));
    }

    assert!(texts.len() > 60, "{}", texts.len());
    for (what, text) in &texts {
        assert_clean(what, text, &forbidden);
    }
}
