//! Random identifiers for stored objects: `idn_` + 20 base62 characters for
//! identities, `key_` + 20 for API keys, `grt_` + 20 for grants. Identifiers are not secrets.

use crate::base62::{self, RandomnessError};

/// Prefix of identity ids.
pub const IDENTITY_ID_PREFIX: &str = "idn_";
/// Prefix of API key ids.
pub const KEY_ID_PREFIX: &str = "key_";
/// Prefix of just-in-time grant ids.
pub const GRANT_ID_PREFIX: &str = "grt_";
/// Number of random base62 characters after an id's prefix.
pub const ID_RANDOM_LEN: usize = 20;

fn new_id(prefix: &str) -> Result<String, RandomnessError> {
    Ok(format!("{prefix}{}", base62::random(ID_RANDOM_LEN)?))
}

fn is_id(prefix: &str, text: &str) -> bool {
    text.strip_prefix(prefix)
        .is_some_and(|rest| rest.len() == ID_RANDOM_LEN && rest.bytes().all(base62::is_base62))
}

/// A fresh identity id (`idn_...`).
pub fn new_identity_id() -> Result<String, RandomnessError> {
    new_id(IDENTITY_ID_PREFIX)
}

/// A fresh API key id (`key_...`).
pub fn new_key_id() -> Result<String, RandomnessError> {
    new_id(KEY_ID_PREFIX)
}

/// A fresh grant id (`grt_...`).
pub fn new_grant_id() -> Result<String, RandomnessError> {
    new_id(GRANT_ID_PREFIX)
}

/// Whether `text` has the shape of a grant id.
pub fn is_grant_id(text: &str) -> bool {
    is_id(GRANT_ID_PREFIX, text)
}

/// Whether `text` has the shape of an identity id.
pub fn is_identity_id(text: &str) -> bool {
    is_id(IDENTITY_ID_PREFIX, text)
}

/// Whether `text` has the shape of an API key id.
pub fn is_key_id(text: &str) -> bool {
    is_id(KEY_ID_PREFIX, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn id_format() {
        let idn = new_identity_id().unwrap();
        let key = new_key_id().unwrap();
        assert_eq!(idn.len(), 24);
        assert_eq!(key.len(), 24);
        assert!(idn.starts_with("idn_") && is_identity_id(&idn));
        assert!(key.starts_with("key_") && is_key_id(&key));
        assert!(!is_key_id(&idn) && !is_identity_id(&key));
        assert!(!is_key_id("key_short"));
        let grt = new_grant_id().unwrap();
        assert!(grt.starts_with("grt_") && is_grant_id(&grt) && !is_key_id(&grt));
        assert!(!is_key_id("key_!!!!!!!!!!!!!!!!!!!!"));
    }

    #[test]
    fn ids_are_unique() {
        let ids: HashSet<String> = (0..1000).map(|_| new_key_id().unwrap()).collect();
        assert_eq!(ids.len(), 1000);
    }
}
