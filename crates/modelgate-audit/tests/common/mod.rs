//! Helpers shared by the integration tests: a signer, sample events, a log
//! over a file sink in a temp dir, and export-file line surgery.

#![allow(dead_code)]

use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use modelgate_audit::{
    AuditConfig, AuditError, AuditEvent, AuditLog, AuditPublicKey, AuditSigner, AuditSink, Body,
    ControlRecord, ExportRange, JsonlFileOptions, JsonlFileSink, LogLines, Receipt, RequestRecord,
    VerifyError, VerifyReport, export, verify,
};

/// Boxed error for tests.
pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A fixed signer (seed 7) and another one (seed 9).
pub fn signer() -> Arc<AuditSigner> {
    Arc::new(AuditSigner::from_seed(&[7u8; 32]).unwrap_or_else(|e| panic!("{e}")))
}

/// A different key.
pub fn other_signer() -> Arc<AuditSigner> {
    Arc::new(AuditSigner::from_seed(&[9u8; 32]).unwrap_or_else(|e| panic!("{e}")))
}

/// A realistic request record.
pub fn request(i: u64) -> RequestRecord {
    RequestRecord {
        request_id: format!("req-{i:08}"),
        identity: Some("svc-checkout".into()),
        credential_id: Some("key_01HZX3".into()),
        credential_kind: Some("api_key".into()),
        auth_method: Some("api_key".into()),
        delegation: vec!["agent-7".into()],
        client_addr: Some("10.1.2.3:51234".into()),
        user_agent: Some("openai-python/1.40".into()),
        operation: Some("chat.completions".into()),
        model: Some("gpt-4o-mini".into()),
        upstream: Some("openai-eu".into()),
        deployment: Some("gpt-4o-mini-2024-07-18".into()),
        region: Some("eu-west".into()),
        decision: Some("allow".into()),
        policy_ids: vec!["p-default-allow".into()],
        findings: vec![("email".into(), 1)],
        action: Some("forwarded".into()),
        status: Some(200),
        gateway_us: Some(310),
        upstream_us: Some(120_000 + i),
        tokens_in: Some(42),
        tokens_out: Some(128),
        streamed: i.is_multiple_of(2),
        ..Default::default()
    }
}

/// A request event with an optional full prompt body.
pub fn request_event(i: u64) -> AuditEvent {
    AuditEvent::Request(request(i))
}

/// A control event.
pub fn control_event(i: u64) -> AuditEvent {
    AuditEvent::Control(ControlRecord {
        action: "key.issue".into(),
        actor: Some("admin@example.com".into()),
        target: Some(format!("key_{i}")),
        outcome: "ok".into(),
        detail: [("ttl".to_owned(), "3600".to_owned())].into(),
    })
}

/// A request event carrying a full prompt and a redacted response.
pub fn event_with_bodies(i: u64) -> AuditEvent {
    let mut r = request(i);
    r.prompt = Some(Body::Full {
        text: format!("prompt number {i}"),
        salt: "c2FsdHNhbHRzYWx0c2FsdA==".into(),
    });
    r.response = Some(Body::Redacted {
        text: format!("response {i} [REDACTED:email]"),
        salt: "cGVwcGVycGVwcGVycGVwcA==".into(),
    });
    AuditEvent::Request(r)
}

/// Config for tests: small checkpoint interval in records, fast retries.
pub fn config(checkpoint_every: u64) -> AuditConfig {
    let mut config = AuditConfig::new("gw-test");
    config.checkpoint_every = checkpoint_every;
    config.checkpoint_interval = Duration::from_secs(3600);
    config.retry_interval = Duration::from_millis(20);
    config.append_timeout = Duration::from_secs(10);
    config
}

/// A required file sink in `dir`.
pub fn file_sink(dir: &Path) -> TestResult<Box<dyn AuditSink>> {
    Ok(Box::new(JsonlFileSink::open(JsonlFileOptions::new(dir))?))
}

/// Starts a log over one file sink in `dir`.
pub async fn start(dir: &Path, checkpoint_every: u64) -> TestResult<AuditLog> {
    Ok(AuditLog::start(vec![file_sink(dir)?], signer(), config(checkpoint_every)).await?)
}

/// Appends events `from..to` (with bodies on every 5th), sequentially.
pub async fn append_range(log: &AuditLog, from: u64, to: u64) -> Result<Vec<Receipt>, AuditError> {
    let mut receipts = Vec::new();
    for i in from..to {
        let event = match i % 5 {
            0 => event_with_bodies(i),
            3 => control_event(i),
            _ => request_event(i),
        };
        receipts.push(log.append(event).await?);
    }
    Ok(receipts)
}

/// All lines of the file-sink log in `dir`.
pub fn log_lines(dir: &Path) -> TestResult<Vec<Vec<u8>>> {
    Ok(LogLines::open(dir, "audit")?.collect::<Result<Vec<_>, _>>()?)
}

/// Exports the whole log in `dir` (or a range) as lines.
pub fn export_lines(dir: &Path, range: ExportRange) -> TestResult<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    export(
        LogLines::open(dir, "audit")?,
        range,
        &signer(),
        &[],
        &mut out,
    )?;
    Ok(out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

/// Verifies export lines with `key`.
pub fn verify_lines(lines: &[Vec<u8>], key: &AuditPublicKey) -> Result<VerifyReport, VerifyError> {
    let mut file = Vec::new();
    for line in lines {
        file.extend_from_slice(line);
        file.push(b'\n');
    }
    verify(Cursor::new(file), std::slice::from_ref(key))
}

/// Index of the line of record `seq`.
pub fn index_of_seq(lines: &[Vec<u8>], seq: u64) -> usize {
    let prefix = format!("{{\"seq\":{seq},");
    lines
        .iter()
        .position(|l| l.starts_with(prefix.as_bytes()))
        .unwrap_or_else(|| panic!("no record {seq}"))
}

/// Whether `haystack` contains `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
