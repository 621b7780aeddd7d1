#![allow(clippy::unwrap_used)]

use super::*;

fn kek() -> KeyEncryptionKey {
    KeyEncryptionKey::generate().unwrap()
}

/// A value as sealed before KEK ids: no header.
fn legacy(k: &KeyEncryptionKey, plain: &[u8], aad: &[u8]) -> Vec<u8> {
    k.current.seal(plain, aad).unwrap()
}

#[test]
fn seal_names_the_current_kek_and_round_trips() {
    let k = kek();
    let sealed = k.seal(b"private key bytes", b"kid-1").unwrap();
    assert_eq!(
        sealed.len(),
        tagged::HEADER_LEN + 17 + SEAL_OVERHEAD,
        "header, nonce, body, tag"
    );
    assert_eq!(KeyEncryptionKey::named_kek(&sealed), Some(k.id()));
    assert_eq!(k.open(&sealed, b"kid-1").unwrap(), b"private key bytes");
    assert_eq!(
        k.sealed_by(&sealed, b"kid-1").unwrap(),
        SealedBy {
            kek: k.id(),
            tagged: true
        }
    );
    assert_ne!(k.seal(b"private key bytes", b"kid-1").unwrap(), sealed);
    assert_eq!(k.open(&sealed, b"kid-2"), Err(KekError::Open));
    for i in [
        0,
        tagged::HEADER_LEN - 1,
        tagged::HEADER_LEN,
        sealed.len() - 1,
    ] {
        let mut tampered = sealed.clone();
        tampered[i] ^= 1;
        assert!(k.open(&tampered, b"kid-1").is_err(), "byte {i}");
    }
    assert_eq!(k.open(&[], b""), Err(KekError::Open));
    let empty = k.seal(b"", b"").unwrap();
    assert_eq!(k.open(&empty, b"").unwrap(), b"");
}

#[test]
fn a_previous_kek_opens_what_it_sealed_and_the_current_one_seals() {
    let old = kek();
    let new = kek();
    let by_old = old.seal(b"secret", b"aad").unwrap();
    let legacy_old = legacy(&old, b"secret", b"aad");
    let ring = new.clone().with_previous([old.clone()]);
    assert_eq!(ring.id(), new.id());
    assert_eq!(ring.previous_ids(), vec![old.id()]);
    assert_eq!(ring.open(&by_old, b"aad").unwrap(), b"secret");
    assert_eq!(ring.open(&legacy_old, b"aad").unwrap(), b"secret");
    assert_eq!(
        ring.sealed_by(&legacy_old, b"aad").unwrap(),
        SealedBy {
            kek: old.id(),
            tagged: false
        }
    );
    let fresh = ring.seal(b"secret", b"aad").unwrap();
    assert_eq!(KeyEncryptionKey::named_kek(&fresh), Some(new.id()));
    assert_eq!(new.open(&fresh, b"aad").unwrap(), b"secret");
}

#[test]
fn the_old_kek_alone_is_refused_with_the_kek_id_it_lacks() {
    let old = kek();
    let new = kek();
    let by_new = new.seal(b"secret", b"aad").unwrap();
    let err = old.open(&by_new, b"aad").unwrap_err();
    assert_eq!(err, KekError::UnknownKek(new.id()));
    let text = err.to_string();
    assert!(text.contains("unknown key-encryption key"), "{text}");
    assert!(text.contains(&new.id().to_string()), "{text}");
    assert!(!text.contains(&new.to_base64()) && !text.contains(&old.to_base64()));
    // A value without a header that no KEK opens: the plain refusal.
    assert_eq!(
        old.open(&legacy(&new, b"secret", b"aad"), b"aad"),
        Err(KekError::Open)
    );
}

#[test]
fn a_header_swapped_for_another_configured_kek_does_not_open() {
    let old = kek();
    let new = kek();
    let ring = new.clone().with_previous([old.clone()]);
    let mut sealed = ring.seal(b"secret", b"aad").unwrap();
    sealed[6..tagged::HEADER_LEN].copy_from_slice(&old.id().0);
    assert_eq!(ring.open(&sealed, b"aad"), Err(KekError::Open));
}

#[test]
fn reseal_moves_values_to_the_current_kek_once() {
    let old = kek();
    let new = kek();
    let ring = new.clone().with_previous([old.clone()]);
    for value in [
        old.seal(b"secret", b"aad").unwrap(),
        legacy(&old, b"secret", b"aad"),
        legacy(&new, b"secret", b"aad"),
    ] {
        let moved = ring.reseal(&value, b"aad").unwrap().unwrap();
        assert_eq!(new.open(&moved, b"aad").unwrap(), b"secret");
        assert_eq!(
            old.open(&moved, b"aad"),
            Err(KekError::UnknownKek(new.id()))
        );
        assert_eq!(ring.reseal(&moved, b"aad").unwrap(), None, "second pass");
    }
    let unknown = kek().seal(b"secret", b"aad").unwrap();
    assert!(matches!(
        ring.reseal(&unknown, b"aad"),
        Err(KekError::UnknownKek(_))
    ));
}

#[test]
fn previous_kek_duplicates_are_kept_once() {
    let old = kek();
    let new = kek();
    let ring = new
        .clone()
        .with_previous([old.clone(), new.clone(), old.clone()]);
    assert_eq!(ring.previous_ids(), vec![old.id()]);
    let nested = kek().with_previous([ring.clone()]);
    assert_eq!(nested.previous_ids(), vec![new.id(), old.id()]);
}

#[test]
fn debug_shows_ids_only() {
    let old = kek();
    let ring = kek().with_previous([old.clone()]);
    let text = format!("{ring:?}");
    assert!(text.contains(&ring.id().to_string()), "{text}");
    assert!(text.contains(&old.id().to_string()), "{text}");
    assert!(!text.contains(&ring.to_base64()) && !text.contains(&old.to_base64()));
}
