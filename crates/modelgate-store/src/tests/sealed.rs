use super::{open, temp_db};
use crate::{AuditKeyRecord, SealedReplacement, SealedTable, SigningKeyRecord};

fn signing_key(kid: &str, sealed: u8) -> SigningKeyRecord {
    SigningKeyRecord {
        kid: kid.to_owned(),
        algorithm: "EdDSA".to_owned(),
        public_key: vec![1; 32],
        sealed_private_key: vec![sealed; 60],
        created_at: 1_000,
        state: "active".to_owned(),
        verify_until: None,
    }
}

fn audit_key(sealed: u8) -> AuditKeyRecord {
    AuditKeyRecord {
        key_id: "a1".to_owned(),
        purpose: "hmac".to_owned(),
        public_key: None,
        sealed: vec![sealed; 60],
        created_at: 1_000,
        active: true,
    }
}

fn replacement(table: SealedTable, key_id: &str, from: u8, to: u8) -> SealedReplacement {
    SealedReplacement {
        table,
        key_id: key_id.to_owned(),
        expected: vec![from; 60],
        replacement: vec![to; 61],
    }
}

#[tokio::test]
async fn replacements_land_together_and_bump_the_revision() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_signing_key(&signing_key("k1", 1))
        .await
        .unwrap();
    assert!(store.insert_audit_key(&audit_key(2)).await.unwrap());
    let before = store.revision().await.unwrap();
    let changed = store
        .replace_sealed_values(&[
            replacement(SealedTable::SigningKey, "k1", 1, 3),
            replacement(SealedTable::AuditKey, "a1", 2, 4),
        ])
        .await
        .unwrap();
    assert_eq!(changed, 2);
    assert_eq!(store.revision().await.unwrap(), before + 1);
    let keys = store.list_signing_keys().await.unwrap();
    assert_eq!(keys[0].sealed_private_key, vec![3; 61]);
    assert_eq!(store.audit_keys().await.unwrap()[0].sealed, vec![4; 61]);
    assert_eq!(store.replace_sealed_values(&[]).await.unwrap(), 0);
    assert_eq!(store.revision().await.unwrap(), before + 1, "nothing to do");
}

#[tokio::test]
async fn a_value_changed_meanwhile_changes_nothing() {
    let (_dir, path) = temp_db();
    let store = open(&path).await;
    store
        .insert_signing_key(&signing_key("k1", 1))
        .await
        .unwrap();
    assert!(store.insert_audit_key(&audit_key(2)).await.unwrap());
    let before = store.revision().await.unwrap();
    for stale in [
        replacement(SealedTable::AuditKey, "a1", 9, 4),
        replacement(SealedTable::AuditKey, "gone", 2, 4),
    ] {
        let err = store
            .replace_sealed_values(&[replacement(SealedTable::SigningKey, "k1", 1, 3), stale])
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("run the command again"), "{text}");
    }
    assert_eq!(
        store.list_signing_keys().await.unwrap()[0].sealed_private_key,
        vec![1; 60]
    );
    assert_eq!(store.audit_keys().await.unwrap()[0].sealed, vec![2; 60]);
    assert_eq!(store.revision().await.unwrap(), before);
    let debug = format!("{:?}", replacement(SealedTable::SigningKey, "k1", 1, 3));
    assert_eq!(
        debug,
        "SealedReplacement { table: SigningKey, key_id: \"k1\", .. }"
    );
}
