//! Must-show 4 (crate side): a caller key, an upstream key and a secret
//! planted in a prompt appear nowhere in the audit log or its export under
//! every retention mode except `full`, and under `full` only inside the
//! body (never in the hashed event).

mod common;

use std::path::Path;
use std::sync::Arc;

use common::*;
use modelgate_audit::{
    AuditEvent, AuditHmacKey, BodyPolicy, ExportRange, Retention, hash_value, log_files,
};

const CALLER_KEY: &str = "mgk_CanaryCallerKey7f3a9b2c4d5e6f708192a3b4c5d6e7f8_k9";
const UPSTREAM_KEY: &str = "sk-proj-CanaryUpstreamKey0123456789abcdefABCDEF";
const SECRET: &str = "AKIACANARY7SECRET234";
const CANARIES: [&str; 3] = [CALLER_KEY, UPSTREAM_KEY, SECRET];

/// What the screen crate would do: replace each finding.
fn redact(text: &str) -> String {
    text.replace(CALLER_KEY, "[REDACTED:modelgate_key]")
        .replace(UPSTREAM_KEY, "[REDACTED:openai_key]")
        .replace(SECRET, "[REDACTED:aws_access_key]")
}

fn prompt() -> String {
    format!("Authorization: Bearer {CALLER_KEY}\nuse {UPSTREAM_KEY} to call AWS with {SECRET}")
}

async fn write_log(dir: &Path, policy: &BodyPolicy) -> TestResult<Vec<u8>> {
    let log = start(dir, 3).await?;
    for i in 0..5 {
        let mut record = request(i);
        // The gateway records the credential's id and kind, never its value.
        record.credential_id = Some("key_01HZX3".into());
        record.findings = vec![("aws_access_key".into(), 1), ("modelgate_key".into(), 1)];
        record.prompt = policy.body(&prompt(), &redact);
        record.response = policy.body(&format!("echo: {SECRET}"), &redact);
        record.bodies_expire = policy.expires(0);
        log.append(AuditEvent::Request(record)).await?;
    }
    log.close().await;
    let mut bytes = Vec::new();
    for file in log_files(dir, "audit")? {
        bytes.extend(std::fs::read(file)?);
    }
    for line in export_lines(dir, ExportRange::default())? {
        bytes.extend(line);
        bytes.push(b'\n');
    }
    Ok(bytes)
}

fn hmac_key() -> Arc<AuditHmacKey> {
    Arc::new(AuditHmacKey::new(&[42u8; 32]))
}

async fn assert_no_canary(retention: Retention) -> TestResult<Vec<u8>> {
    let dir = tempfile::tempdir()?;
    let policy = BodyPolicy::new(retention, Some(hmac_key()), None)?;
    let bytes = write_log(dir.path(), &policy).await?;
    for canary in CANARIES {
        assert!(
            !contains(&bytes, canary.as_bytes()),
            "{canary} leaked under {retention:?}"
        );
    }
    Ok(bytes)
}

#[tokio::test]
async fn no_canary_without_retention() -> TestResult {
    let bytes = assert_no_canary(Retention::None).await?;
    assert!(!contains(&bytes, b"\"bodies\""));
    Ok(())
}

#[tokio::test]
async fn no_canary_under_hmac_and_the_value_is_searchable() -> TestResult {
    let bytes = assert_no_canary(Retention::Hmac).await?;
    // `modelgate audit hash VALUE` finds the prompt without the log holding it.
    let tag = hash_value(&hmac_key(), &prompt());
    assert!(contains(&bytes, tag.as_bytes()));
    Ok(())
}

#[tokio::test]
async fn no_canary_under_redacted() -> TestResult {
    let bytes = assert_no_canary(Retention::Redacted).await?;
    assert!(contains(&bytes, b"[REDACTED:aws_access_key]"));
    Ok(())
}

#[tokio::test]
async fn full_keeps_canaries_only_in_bodies() -> TestResult {
    let dir = tempfile::tempdir()?;
    let policy = BodyPolicy::new(Retention::Full, None, None)?;
    let bytes = write_log(dir.path(), &policy).await?;
    assert!(contains(&bytes, SECRET.as_bytes()));
    for line in bytes.split(|b| *b == b'\n') {
        let bodies_at = line
            .windows(10)
            .position(|w| w == b",\"bodies\":")
            .unwrap_or(line.len());
        for canary in CANARIES {
            let head = &line[..bodies_at];
            assert!(
                !contains(head, canary.as_bytes()),
                "{canary} outside the bodies"
            );
        }
    }
    Ok(())
}
