//! What the KEK rotation tests share (`exposure_kek.rs`,
//! `exposure_kek_refusals.rs`): the test KEK's config line and the sealed
//! values in a store, read around the gateway.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use super::store::{PgCluster, TestStore};

/// The `[tokens]` line naming the test gateways' KEK (`TEST_KEK`).
pub const OLD_KEK_LINE: &str = "kek = \"env:MG_TEST_KEK\"\n";

/// Every sealed value in `store`: (what it is, the associated data it is
/// sealed with, the sealed bytes), read with rusqlite or, on PostgreSQL,
/// with `psql`.
pub fn sealed_values(store: &TestStore) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let db = match store {
        TestStore::Sqlite(db) => db,
        TestStore::Postgres { cluster, database } => return pg_sealed_values(cluster, database),
    };
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

/// [`sealed_values`] of a PostgreSQL store.
fn pg_sealed_values(cluster: &PgCluster, database: &str) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let rows = |sql: &str| -> Vec<Vec<String>> {
        let out = cluster.psql(database, sql);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|line| !line.is_empty())
            .map(|line| line.split('|').map(str::to_owned).collect())
            .collect()
    };
    let mut out = Vec::new();
    for row in rows("SELECT kid, encode(sealed_private_key, 'hex') FROM signing_keys ORDER BY kid")
    {
        let kid = row[0].clone();
        out.push((
            format!("signing key {kid}"),
            kid.clone().into_bytes(),
            unhex(&row[1]),
        ));
    }
    for row in rows(
        "SELECT purpose, key_id, encode(sealed, 'hex') FROM audit_keys ORDER BY purpose, key_id",
    ) {
        let aad = format!("modelgate-audit-key\n{}\n{}", row[0], row[1]).into_bytes();
        out.push((format!("audit key {}", row[1]), aad, unhex(&row[2])));
    }
    out
}

/// Bytes from hex digits.
fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}
