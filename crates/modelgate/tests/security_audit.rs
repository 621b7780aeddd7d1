//! Issue 14, defect 5: the audit key must never vouch for a tampered tail.
//! Through the live gateway and the CLI: records after the last checkpoint
//! changed in the store while the gateway was down are not signed at the
//! next start (a loud fault: `/readyz`, an audit record, a metric, calls
//! refused), nor sealed by an export; a checkpoint key written into the
//! store's plain column is not trusted by the exporter, the writer or
//! `modelgate audit verify`; an untampered restart still signs and
//! verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use modelgate_audit::{AuditSigner, ChainHead, Digest};
use rusqlite::{Connection, params};
use serde_json::Value;

const TAIL_REASON: &str = "audit log tail does not verify against its last checkpoint";

/// One chat route; checkpoints only at start and stop, so that calls leave
/// records after the last checkpoint until the gateway stops.
fn config(mock: &MockHandle) -> String {
    format!(
        "{}\n[[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"a-openai\", model = \"demo-chat\" }}]\n\n[audit]\ncheckpoint_every = 100000\ncheckpoint_interval = \"1h\"\n",
        upstreams_on(mock, "a", "")
    )
}

/// The store's SQLite file, changed behind the gateway's back (these tests
/// start their gateways with `sqlite_only`).
fn db(gw: &TestGateway) -> Connection {
    Connection::open(gw.store.sqlite_path()).unwrap()
}

/// A line of chain `gateway` in the store.
#[derive(Debug, Clone)]
struct Row {
    id: i64,
    seq: i64,
    checkpoint: bool,
    line: String,
}

fn rows(gw: &TestGateway) -> Vec<Row> {
    let conn = db(gw);
    let mut query = conn
        .prepare(
            "SELECT id, seq, checkpoint, line FROM audit_entries WHERE replica = 'gateway' ORDER BY id",
        )
        .unwrap();
    query
        .query_map([], |r| {
            Ok(Row {
                id: r.get(0)?,
                seq: r.get(1)?,
                checkpoint: r.get::<_, i64>(2)? == 1,
                line: r.get(3)?,
            })
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The records after the last checkpoint.
fn unsigned(gw: &TestGateway) -> Vec<Row> {
    let all = rows(gw);
    let last_cp = all.iter().rposition(|r| r.checkpoint).unwrap();
    all[last_cp + 1..].to_vec()
}

/// Makes `calls` chat calls and waits until their admit and complete
/// records are in the store, after the last checkpoint.
async fn calls_leave_a_tail(gw: &TestGateway, calls: usize) -> Vec<Row> {
    for _ in 0..calls {
        let r = gw
            .openai("/v1/chat/completions", &chat("chat", false))
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    for _ in 0..100 {
        let tail = unsigned(gw);
        if tail.len() >= 2 * calls {
            return tail;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the calls' records never reached the store: {:#?}",
        rows(gw)
    );
}

fn checkpoint_seqs(gw: &TestGateway) -> Vec<i64> {
    rows(gw)
        .iter()
        .filter(|r| r.checkpoint)
        .map(|r| r.seq)
        .collect()
}

fn set_line(gw: &TestGateway, id: i64, line: &str) {
    db(gw)
        .execute(
            "UPDATE audit_entries SET line = ?1 WHERE id = ?2",
            params![line, id],
        )
        .unwrap();
}

fn field(line: &str, name: &str) -> Value {
    serde_json::from_str::<Value>(line).unwrap()[name].clone()
}

/// The record line with its `time` moved by 1 ms (the hash left as is).
fn modified(line: &str) -> String {
    let time = field(line, "time").as_i64().unwrap();
    let changed = line.replacen(
        &format!("\"time\":{time},"),
        &format!("\"time\":{},", time + 1),
        1,
    );
    assert_ne!(changed, line);
    changed
}

/// The record line with `prev` set and its hash recomputed, as someone
/// rewriting the chain would: the hash over the canonical bytes.
fn rehashed(line: &str, prev: &str) -> (String, String) {
    let at = line.find("\"prev\":\"").unwrap() + 8;
    let line = format!("{}{prev}{}", &line[..at], &line[at + 64..]);
    let at = line.find(",\"hash\":\"").unwrap();
    let canonical = format!("{}}}", &line[..at]);
    let hash = Digest::of_parts(0x00, &[canonical.as_bytes()]).to_hex();
    let line = format!("{}{hash}{}", &line[..at + 9], &line[at + 9 + 64..]);
    (line, hash)
}

/// Rewrites the records from `rows[0]` on (the first one changed) with a
/// consistent hash chain; returns the new head.
fn rewrite(gw: &TestGateway, records: &[Row]) -> ChainHead {
    let mut prev = field(&records[0].line, "prev").as_str().unwrap().to_owned();
    let mut head = ChainHead::default();
    for (i, row) in records.iter().enumerate() {
        let line = if i == 0 {
            modified(&row.line)
        } else {
            row.line.clone()
        };
        let (line, hash) = rehashed(&line, &prev);
        set_line(gw, row.id, &line);
        head = ChainHead {
            seq: u64::try_from(row.seq).unwrap(),
            hash: Digest::from_hex(&hash).unwrap(),
            time: field(&line, "time").as_i64().unwrap(),
        };
        prev = hash;
    }
    head
}

/// Someone with write access to the store: a checkpoint key of their own
/// in the plain `public_key` column (its "sealed" key is not sealed with
/// the key-encryption key), and a checkpoint signed with it over `head`.
fn forge_checkpoint(gw: &TestGateway, head: &ChainHead) -> String {
    let (attacker, _) = AuditSigner::generate().unwrap();
    let conn = db(gw);
    conn.execute(
        "INSERT INTO audit_keys (key_id, purpose, public_key, sealed, created_at, active) \
         VALUES (?1, 'checkpoint', ?2, ?3, 1, 0)",
        params![
            attacker.key_id(),
            attacker.public_key().to_base64(),
            b"not sealed".to_vec()
        ],
    )
    .unwrap();
    let checkpoint = attacker.checkpoint("gateway", head, head.time);
    conn.execute(
        "INSERT INTO audit_entries (replica, seq, checkpoint, time, line) VALUES ('gateway', ?1, 1, ?2, ?3)",
        params![
            i64::try_from(head.seq).unwrap(),
            head.time,
            String::from_utf8(checkpoint.to_line()).unwrap()
        ],
    )
    .unwrap();
    attacker.key_id().to_owned()
}

fn export(gw: &TestGateway, name: &str) -> (std::process::Output, std::path::PathBuf) {
    let file = gw.dir.path().join(name);
    let out = gw.cli(&[
        "audit",
        "export",
        "--replica",
        "gateway",
        "--out",
        file.to_str().unwrap(),
    ]);
    (out, file)
}

async fn readyz(gw: &TestGateway) -> Reply {
    call("GET", &gw.url("/readyz"), &[], "").await
}

/// Waits for `/readyz` to leave its first state (the writer verifies the
/// tail on its own thread at start).
async fn settled_readyz(gw: &TestGateway) -> Reply {
    for _ in 0..50 {
        let r = readyz(gw).await;
        if r.status == 503 {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    readyz(gw).await
}

#[tokio::test]
async fn tampered_tail_is_not_sealed_at_start() {
    let mock = MockUpstream::start().await.unwrap();
    let mut gw = TestGateway::builder()
        .sqlite_only()
        .start(&config(&mock))
        .await;
    let tail = calls_leave_a_tail(&gw, 3).await;
    gw.kill9();
    let checkpoints_before = checkpoint_seqs(&gw);
    // A record after the last checkpoint is changed while the gateway is
    // down (its hash left as it was).
    let victim = &tail[1];
    set_line(&gw, victim.id, &modified(&victim.line));

    gw.restart();
    let ready = settled_readyz(&gw).await;
    assert_eq!(ready.status, 503, "readyz: {}", ready.text());
    assert_eq!(ready.json()["reason"], TAIL_REASON);
    // No new signature covers the changed record.
    let after = checkpoint_seqs(&gw);
    assert_eq!(
        after, checkpoints_before,
        "a checkpoint was signed over the tampered tail"
    );
    assert!(after.iter().all(|seq| *seq < victim.seq));
    // Fail closed: no call is forwarded while the log cannot be trusted.
    let refused = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.json()["error"]["code"], "audit_unavailable");
    // The fault is in the log (unsigned), in the logs and in the metrics.
    let fault: Vec<Row> = rows(&gw)
        .into_iter()
        .filter(|r| r.line.contains("\"action\":\"audit.tail_fault\""))
        .collect();
    assert_eq!(fault.len(), 1, "{:#?}", rows(&gw));
    assert!(
        fault[0]
            .line
            .contains(&format!("record {} (line", victim.seq)),
        "{}",
        fault[0].line
    );
    assert!(
        gw.logs()
            .contains("the log was changed after its last checkpoint"),
        "{}",
        gw.logs()
    );
    let metrics = gw.metrics().await;
    assert!(
        metrics.contains("modelgate_audit_tail_fault 1"),
        "{metrics}"
    );
    // Still nothing signed after a clean stop.
    gw.terminate();
    assert_eq!(checkpoint_seqs(&gw), checkpoints_before);
}

#[tokio::test]
async fn tampered_tail_is_not_sealed_by_export() {
    let mock = MockUpstream::start().await.unwrap();
    let mut gw = TestGateway::builder()
        .sqlite_only()
        .start(&config(&mock))
        .await;
    let tail = calls_leave_a_tail(&gw, 3).await;
    gw.kill9();
    // The records after the last checkpoint are rewritten with a consistent
    // hash chain and made to look signed with a key of the attacker's own.
    let head = rewrite(&gw, &tail);
    let attacker = forge_checkpoint(&gw, &head);

    let (out, file) = export(&gw, "tampered-tail.jsonl");
    assert!(
        !out.status.success(),
        "the export sealed a tampered tail: {}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains(&format!("not signed by a trusted key (key id {attacker})")),
        "{}",
        stderr(&out)
    );
    let written = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(!written.contains("{\"seal\":"), "{written}");
}

#[tokio::test]
async fn checkpoint_key_from_plain_column_is_not_trusted() {
    let mock = MockUpstream::start().await.unwrap();
    let mut gw = TestGateway::builder()
        .sqlite_only()
        .start(&config(&mock))
        .await;
    calls_leave_a_tail(&gw, 3).await;
    gw.terminate();
    // Signed history rewritten from its first record on: the real
    // checkpoints over it deleted, one by the attacker's key put in.
    let all = rows(&gw);
    let records: Vec<Row> = all.iter().filter(|r| !r.checkpoint).cloned().collect();
    let head = rewrite(&gw, &records);
    db(&gw)
        .execute(
            "DELETE FROM audit_entries WHERE replica = 'gateway' AND checkpoint = 1 AND seq >= 1",
            [],
        )
        .unwrap();
    let attacker = forge_checkpoint(&gw, &head);
    let untrusted = format!("not signed by a trusted key (key id {attacker})");

    let (out, _) = export(&gw, "forged.jsonl");
    assert!(
        !out.status.success(),
        "the export trusted a key from the plain column: {}",
        stdout(&out)
    );
    assert!(stderr(&out).contains(&untrusted), "{}", stderr(&out));

    // `audit verify` of the chain in the store, trusting the store's keys.
    let out = gw.cli(&["audit", "verify", "--replica", "gateway"]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stderr(&out).contains(&untrusted), "{}", stderr(&out));

    // Nor does the gateway take the forged checkpoint as its anchor.
    let checkpoints_before = checkpoint_seqs(&gw);
    gw.restart();
    let ready = settled_readyz(&gw).await;
    assert_eq!(ready.status, 503, "readyz: {}", ready.text());
    assert_eq!(ready.json()["reason"], TAIL_REASON);
    assert_eq!(checkpoint_seqs(&gw), checkpoints_before);
}

#[tokio::test]
async fn untampered_restart_still_signs_and_verifies() {
    let mock = MockUpstream::start().await.unwrap();
    let mut gw = TestGateway::builder()
        .sqlite_only()
        .start(&config(&mock))
        .await;
    let tail = calls_leave_a_tail(&gw, 3).await;
    gw.kill9();
    let last = tail.last().unwrap().seq;

    gw.restart();
    let ready = readyz(&gw).await;
    assert_eq!(ready.status, 200, "{}", ready.text());
    assert!(
        checkpoint_seqs(&gw).contains(&last),
        "no checkpoint over the tail at start"
    );
    let r = gw
        .openai("/v1/chat/completions", &chat("chat", false))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    gw.terminate();

    let (out, file) = export(&gw, "clean.jsonl");
    assert!(out.status.success(), "{}", stderr(&out));
    let key = ok(gw.cli(&["audit", "public-key"]));
    let out = gw.cli(&[
        "audit",
        "verify",
        file.to_str().unwrap(),
        "--public-key",
        key.trim(),
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let out = gw.cli(&["audit", "verify", "--replica", "gateway"]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).starts_with("OK: chain gateway"),
        "{}",
        stdout(&out)
    );
}
