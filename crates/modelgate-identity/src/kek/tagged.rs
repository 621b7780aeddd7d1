//! The header that names the KEK a value is sealed with:
//! `"MGKEK" ‖ 0x01 ‖ kek id (8 bytes)`, in front of `nonce ‖ ciphertext ‖
//! tag`. The header is part of the associated data, so it cannot be
//! changed without the value failing to open.
//!
//! Values sealed before KEK ids existed carry no header; they are opened by
//! trying each configured KEK.

use super::id::KekId;

/// Magic and format version.
const MAGIC: &[u8; 6] = b"MGKEK\x01";
/// Length of the header.
pub(super) const HEADER_LEN: usize = MAGIC.len() + 8;

/// The header naming `id`.
pub(super) fn header(id: KekId) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..MAGIC.len()].copy_from_slice(MAGIC);
    out[MAGIC.len()..].copy_from_slice(&id.0);
    out
}

/// The KEK id, the header and the rest of a value that starts with a
/// header; `None` for a value without one.
pub(super) fn split(sealed: &[u8]) -> Option<(KekId, &[u8], &[u8])> {
    let (head, body) = sealed.split_at_checked(HEADER_LEN)?;
    let id = head.strip_prefix(MAGIC.as_slice())?;
    let id: [u8; 8] = id.try_into().ok()?;
    Some((KekId(id), head, body))
}

/// The associated data of a tagged value: its header, then the caller's.
pub(super) fn aad(header: &[u8], aad: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + aad.len());
    out.extend_from_slice(header);
    out.extend_from_slice(aad);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn header_round_trips_and_untagged_values_have_none() {
        let id = KekId([1, 2, 3, 4, 5, 6, 7, 8]);
        let mut value = header(id).to_vec();
        value.extend_from_slice(b"rest");
        let (got, head, body) = split(&value).unwrap();
        assert_eq!(got, id);
        assert_eq!(head, &header(id));
        assert_eq!(body, b"rest");
        assert!(split(b"MGKEK\x01short").is_none());
        assert!(split(b"MGKEK\x02abcdefghrest").is_none());
        assert!(split(&[0u8; 40]).is_none());
        assert_eq!(aad(b"h", b"a"), b"ha");
    }
}
