//! What the KEK rotation tests share (`exposure_kek.rs`,
//! `exposure_kek_refusals.rs`): the test KEK's config line and the sealed
//! values in a store, read around the gateway.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

/// The `[tokens]` line naming the test gateways' KEK (`TEST_KEK`).
pub const OLD_KEK_LINE: &str = "kek = \"env:MG_TEST_KEK\"\n";

/// Every sealed value in the store at `db`: (what it is, the associated
/// data it is sealed with, the sealed bytes), read with rusqlite.
pub fn sealed_values(db: &Path) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut out = Vec::new();
    let mut rows = conn
        .prepare("SELECT kid, sealed_private_key FROM signing_keys")
        .unwrap();
    for row in rows
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .unwrap()
    {
        let (kid, sealed) = row.unwrap();
        out.push((format!("signing key {kid}"), kid.into_bytes(), sealed));
    }
    let mut rows = conn
        .prepare("SELECT purpose, key_id, sealed FROM audit_keys")
        .unwrap();
    for row in rows
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .unwrap()
    {
        let (purpose, key_id, sealed) = row.unwrap();
        let aad = format!("modelgate-audit-key\n{purpose}\n{key_id}").into_bytes();
        out.push((format!("audit key {key_id}"), aad, sealed));
    }
    out
}
