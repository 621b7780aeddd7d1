//! The record line format: exact envelope, stable re-encoding, and strict
//! parsing of what the verifier hashes.

mod common;

use common::*;
use modelgate_audit::{AuditChain, Digest, PreparedEvent, decode_record};

#[test]
fn line_is_canonical_and_round_trips() -> TestResult {
    let mut chain = AuditChain::new("gw-1")?;
    for event in [event_with_bodies(1), control_event(2), request_event(3)] {
        let head = chain.head();
        let (record, line) = chain.append(1_700_000_000_000, PreparedEvent::new(event)?);
        let prefix = format!(
            "{{\"seq\":{},\"time\":1700000000000,\"replica\":\"gw-1\",\"prev\":\"{}\",\"event\":",
            record.seq, head.hash
        );
        assert!(line.starts_with(prefix.as_bytes()));
        let decoded = decode_record(&line)?;
        assert_eq!(decoded, record);
        // Re-encoding what was decoded gives the same bytes.
        let mut again = AuditChain::from_head("gw-1", head)?;
        let (_, line2) = again.append(decoded.time, PreparedEvent::new(decoded.event)?);
        assert_eq!(line2, line);
    }
    assert_ne!(chain.head().hash, Digest::ZERO);
    Ok(())
}

#[test]
fn replica_ids_that_need_escaping_round_trip() -> TestResult {
    let mut chain = AuditChain::new("gw \"east\" \\ 1")?;
    let (record, line) = chain.append(9, PreparedEvent::new(control_event(1))?);
    assert_eq!(decode_record(&line)?, record);
    Ok(())
}

#[test]
fn envelope_out_of_canonical_form_is_rejected() -> TestResult {
    let mut chain = AuditChain::new("gw-1")?;
    let (_, line) = chain.append(5, PreparedEvent::new(request_event(1))?);
    let text = String::from_utf8(line)?;
    // Same fields, different order or spacing: not accepted as a record.
    let reordered = text.replacen("{\"seq\":1,\"time\":5,", "{\"time\":5,\"seq\":1,", 1);
    let spaced = text.replacen("\"seq\":1,", "\"seq\": 1,", 1);
    let extra = text.replacen("{\"seq\":1,", "{\"seq\":1,\"x\":1,", 1);
    let at = text.find("\"hash\":\"").ok_or("no hash")? + 8;
    let upper = format!(
        "{}{}{}",
        &text[..at],
        text[at..at + 64].to_uppercase(),
        &text[at + 64..]
    );
    assert_ne!(upper, text);
    for bad in [reordered, spaced, extra, upper] {
        assert!(decode_record(bad.as_bytes()).is_err(), "{bad}");
    }
    Ok(())
}
