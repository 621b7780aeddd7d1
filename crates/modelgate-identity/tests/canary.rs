//! No error, from any path a presented key can reach, shows the key, its
//! hash, or a recognisable part of either.

mod common;

use std::time::Duration;

use common::{DAY, NOW, new_identity, service};
use modelgate_identity::{ApiKey, GeneratedKey, IdentityError, NewIdentity, parse_api_key};

/// Substrings that must never appear: the body of the key (without the
/// prefix and the 4 hint characters), slices of it, and its hash in hex and
/// decimal-byte form.
fn forbidden(canary: &GeneratedKey) -> Vec<String> {
    let key = canary.secret.expose();
    let body = &key[4..46];
    let hex: String = canary.hash.iter().map(|b| format!("{b:02x}")).collect();
    let bytes = format!("{:?}", &canary.hash[..4]);
    vec![
        body.to_owned(),
        body[..8].to_owned(),
        body[20..28].to_owned(),
        body[34..42].to_owned(),
        hex[..16].to_owned(),
        hex[..16].to_uppercase(),
        bytes.trim_matches(|c| c == '[' || c == ']').to_owned(),
    ]
}

fn assert_clean(what: &str, texts: [String; 2], forbidden: &[String]) {
    for text in texts {
        for f in forbidden {
            assert!(!text.contains(f.as_str()), "{what} leaked {f:?}: {text}");
        }
    }
}

#[tokio::test]
async fn no_error_contains_the_canary() {
    let (_dir, svc) = service().await;
    svc.create_identity(new_identity("billing"), NOW)
        .await
        .unwrap();
    let canary = svc
        .issue_key("billing", Duration::from_secs(DAY), None, NOW)
        .await
        .unwrap();
    let generated = GeneratedKey {
        hash: canary.secret.hash(),
        hint: canary.hint.clone(),
        secret: ApiKey::parse(canary.secret.expose()).unwrap(),
    };
    let key = canary.secret.expose().to_owned();
    let bad = forbidden(&generated);

    // The issued key and its wrappers print only the hint.
    assert_clean(
        "issued key",
        [format!("{}", canary.secret), format!("{canary:?}")],
        &bad,
    );
    assert_clean(
        "generated key",
        [String::new(), format!("{generated:?}")],
        &bad,
    );

    // Authentication failures of every kind, with the canary or near-misses.
    let mut typo = key.clone();
    typo.replace_range(20..21, if &key[20..21] == "Q" { "R" } else { "Q" });
    let presented = [
        key.clone(),
        typo,
        format!("{key}x"),
        key[..49].to_owned(),
        format!("Bearer {key}"),
        key.replace("mgk_", "mgx_"),
        key.to_lowercase(),
    ];
    for p in &presented {
        if let Err(err) = svc.authenticate_api_key(p, canary.expires_at).await {
            assert_clean("auth error", [format!("{err}"), format!("{err:?}")], &bad);
        }
        if let Err(err) = parse_api_key(p) {
            assert_clean("format error", [format!("{err}"), format!("{err:?}")], &bad);
        }
    }
    svc.revoke_key(&canary.id, NOW + 1).await.unwrap();
    let err = svc.authenticate_api_key(&key, NOW + 2).await.unwrap_err();
    assert_clean("revoked", [format!("{err}"), format!("{err:?}")], &bad);

    // Administrative paths that a pasted key could reach by mistake.
    let mut errors: Vec<IdentityError> = Vec::new();
    for p in &presented {
        errors.push(
            svc.issue_key(p, Duration::from_secs(DAY), None, NOW)
                .await
                .unwrap_err(),
        );
        errors.push(svc.revoke_key(p, NOW).await.unwrap_err());
        errors.push(svc.list_keys(Some(p)).await.unwrap_err());
        errors.push(svc.identity(p).await.unwrap_err());
        for field in 0..4 {
            let mut new: NewIdentity = new_identity("fine");
            match field {
                0 => new.name = p.clone(),
                1 => new.environment = p.clone(),
                2 => new.owner = format!("{p}\n"),
                _ => new.purpose = format!("{p}\u{1b}"),
            }
            errors.push(svc.create_identity(new, NOW).await.unwrap_err());
        }
        errors.push(
            svc.issue_key(
                "billing",
                Duration::from_secs(DAY),
                Some(format!("{p}\u{0}")),
                NOW,
            )
            .await
            .unwrap_err(),
        );
    }
    for err in &errors {
        assert_clean(
            "identity error",
            [format!("{err}"), format!("{err:?}")],
            &bad,
        );
    }

    // Store failures during authentication.
    svc.store().close().await;
    let err = svc.authenticate_api_key(&key, NOW).await.unwrap_err();
    assert_clean("store error", [format!("{err}"), format!("{err:?}")], &bad);
}
