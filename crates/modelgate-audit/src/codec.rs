//! Encoding a record line: an event into its canonical bytes, its body
//! commitments, and the line around them (checking a line read back is in
//! `line`).
//!
//! A record line is (one line, no spaces, fields in this order):
//!
//! ```text
//! {"seq":N,"time":MS,"replica":"R","prev":"HEX","event":{...}[,"commit":{"prompt":"HEX","response":"HEX"}],"hash":"HEX"[,"bodies":{"prompt":{...},"response":{...}}]}
//! ```
//!
//! The canonical bytes are the line up to (not including) `,"hash":` followed
//! by `}`; `hash` = SHA-256(0x00 || canonical bytes). `bodies` lies outside
//! the canonical bytes; each body is bound by `commit` = SHA-256(0x02 ||
//! the body's JSON bytes as written).

use std::io::Write as _;

use crate::digest::{BODY_DOMAIN, Digest, RECORD_DOMAIN};
use crate::error::AuditError;
use crate::record::{AuditEvent, Body};

/// An event serialized ahead of time (by the appending task, off the writer
/// thread): the writer only adds the envelope and the hash.
#[derive(Debug, Clone)]
pub struct PreparedEvent {
    pub(crate) event: AuditEvent,
    event_json: Vec<u8>,
    commit_json: Option<Vec<u8>>,
    bodies_json: Option<Vec<u8>>,
}

impl PreparedEvent {
    /// Serializes `event` and commits to its bodies.
    pub fn new(event: AuditEvent) -> Result<Self, AuditError> {
        // Typical events are 400-900 bytes: one allocation, no regrowth.
        let mut event_json = Vec::with_capacity(1024);
        serde_json::to_writer(&mut event_json, &event).map_err(encode_error)?;
        let (prompt, response) = event.bodies();
        let mut commit_json = None;
        let mut bodies_json = None;
        if prompt.is_some() || response.is_some() {
            let mut commit = Vec::with_capacity(150);
            let mut bodies = Vec::new();
            commit.push(b'{');
            bodies.push(b'{');
            for (name, body) in [("prompt", prompt), ("response", response)] {
                let Some(body) = body else { continue };
                let (digest, json) = commit_body(body)?;
                if commit.len() > 1 {
                    commit.push(b',');
                }
                write!(commit, "\"{name}\":\"").map_err(encode_error)?;
                digest.write_hex(&mut commit);
                commit.push(b'"');
                if let Some(json) = json {
                    if bodies.len() > 1 {
                        bodies.push(b',');
                    }
                    write!(bodies, "\"{name}\":").map_err(encode_error)?;
                    bodies.extend_from_slice(&json);
                }
            }
            commit.push(b'}');
            bodies.push(b'}');
            commit_json = Some(commit);
            if bodies.len() > 2 {
                bodies_json = Some(bodies);
            }
        }
        Ok(Self {
            event,
            event_json,
            commit_json,
            bodies_json,
        })
    }

    /// Bytes this event adds to a line (for sizing buffers).
    pub fn encoded_len(&self) -> usize {
        self.event_json.len()
            + self.commit_json.as_ref().map_or(0, Vec::len)
            + self.bodies_json.as_ref().map_or(0, Vec::len)
    }
}

fn encode_error(err: impl std::fmt::Display) -> AuditError {
    AuditError::Encode(err.to_string())
}

/// The commitment to a body, and the JSON that travels beside the record
/// (`None` for a pruned body).
pub fn commit_body(body: &Body) -> Result<(Digest, Option<Vec<u8>>), AuditError> {
    if let Body::Pruned { sha256 } = body {
        return Ok((*sha256, None));
    }
    let json = serde_json::to_vec(body).map_err(encode_error)?;
    Ok((Digest::of_parts(BODY_DOMAIN, &[&json]), Some(json)))
}

/// Writes the record line for `event` at (`seq`, `time`, `prev`) into `out`
/// (cleared first, no trailing newline) and returns the record's hash.
/// `replica_json` is the replica id already encoded as a JSON string.
pub fn encode_line(
    out: &mut Vec<u8>,
    seq: u64,
    time: i64,
    replica_json: &[u8],
    prev: &Digest,
    event: &PreparedEvent,
) -> Digest {
    out.clear();
    out.reserve(200 + event.encoded_len());
    write_prefix(out, seq, time, replica_json, prev);
    out.extend_from_slice(&event.event_json);
    if let Some(commit) = &event.commit_json {
        out.extend_from_slice(b",\"commit\":");
        out.extend_from_slice(commit);
    }
    out.push(b'}');
    let hash = Digest::of_parts(RECORD_DOMAIN, &[out]);
    out.pop();
    out.extend_from_slice(b",\"hash\":\"");
    hash.write_hex(out);
    out.push(b'"');
    if let Some(bodies) = &event.bodies_json {
        out.extend_from_slice(b",\"bodies\":");
        out.extend_from_slice(bodies);
    }
    out.push(b'}');
    hash
}

/// `{"seq":N,"time":T,"replica":R,"prev":"HEX","event":`
fn write_prefix(out: &mut Vec<u8>, seq: u64, time: i64, replica_json: &[u8], prev: &Digest) {
    out.extend_from_slice(b"{\"seq\":");
    push_int(out, u128::from(seq), false);
    out.extend_from_slice(b",\"time\":");
    push_int(out, u128::from(time.unsigned_abs()), time < 0);
    out.extend_from_slice(b",\"replica\":");
    out.extend_from_slice(replica_json);
    out.extend_from_slice(b",\"prev\":\"");
    prev.write_hex(out);
    out.extend_from_slice(b"\",\"event\":");
}

pub(crate) fn push_int(out: &mut Vec<u8>, mut value: u128, negative: bool) {
    let mut digits = [0u8; 40];
    let mut at = digits.len();
    loop {
        at -= 1;
        // `value % 10` is below 10, so the cast is exact.
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if negative {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[at..]);
}

/// JSON encoding of a replica id.
pub fn replica_json(replica: &str) -> Vec<u8> {
    serde_json::to_vec(replica).unwrap_or_else(|_| b"\"\"".to_vec())
}
