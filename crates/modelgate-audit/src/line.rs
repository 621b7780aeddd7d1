//! Reading a record line back: strict layout of the envelope, the hash over
//! the canonical bytes, and each body against its commitment, all on the
//! bytes as written and without parsing the event into typed values; plus
//! decoding to a typed [`Record`] and dropping bodies (pruning).
//!
//! The format is described in the crate docs and in `codec`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::codec::{push_int, replica_json};
use crate::digest::{BODY_DOMAIN, Digest, RECORD_DOMAIN};
use crate::error::AuditError;
use crate::record::{AuditEvent, Body, Record};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordView<'a> {
    seq: u64,
    time: i64,
    #[serde(borrow)]
    replica: Cow<'a, str>,
    #[serde(borrow)]
    prev: &'a str,
    #[serde(borrow)]
    event: &'a RawValue,
    #[serde(default, borrow)]
    commit: Option<&'a RawValue>,
    #[serde(borrow)]
    hash: &'a str,
    #[serde(default, borrow)]
    bodies: Option<BodiesView<'a>>,
}

/// The `commit` object.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CommitView<'a> {
    /// Commitment to the prompt.
    #[serde(default, borrow)]
    pub prompt: Option<&'a str>,
    /// Commitment to the response.
    #[serde(default, borrow)]
    pub response: Option<&'a str>,
}

/// The `bodies` object, each body as the bytes written.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct BodiesView<'a> {
    /// The prompt body.
    #[serde(default, borrow)]
    pub prompt: Option<&'a RawValue>,
    /// The response body.
    #[serde(default, borrow)]
    pub response: Option<&'a RawValue>,
}

/// A record line whose layout, hash and body commitments check out.
pub struct CheckedRecord<'a> {
    /// Seq.
    pub seq: u64,
    /// Time, unix ms.
    pub time: i64,
    /// Replica id.
    pub replica: Cow<'a, str>,
    /// Previous hash as written.
    pub prev: Digest,
    /// Hash as written (and recomputed).
    pub hash: Digest,
    /// The event's JSON.
    pub event: &'a RawValue,
    /// Commitments.
    pub commit: CommitView<'a>,
    /// Bodies present.
    pub bodies: BodiesView<'a>,
    /// Bodies committed to but pruned.
    pub pruned: u32,
    /// Offset just past the hash's hex digits.
    pub hash_end: usize,
}

/// Why a record line does not check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineFault {
    /// Not a record line of this format.
    Malformed(String),
    /// The recomputed hash differs from the one written (seq as parsed).
    HashMismatch(u64),
    /// A body does not match its commitment (seq, which body).
    BodyMismatch(u64, &'static str),
}

impl From<LineFault> for AuditError {
    fn from(fault: LineFault) -> Self {
        match fault {
            LineFault::Malformed(why) => AuditError::Decode(why),
            LineFault::HashMismatch(seq) => {
                AuditError::Decode(format!("record {seq}: hash mismatch"))
            }
            LineFault::BodyMismatch(seq, body) => AuditError::Decode(format!(
                "record {seq}: {body} does not match its commitment"
            )),
        }
    }
}

fn offset_of(line: &[u8], part: &str) -> usize {
    (part.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize)
}

fn malformed(what: &str) -> LineFault {
    LineFault::Malformed(what.to_owned())
}

/// Value of each lowercase hex digit; 0xff for anything else.
const LOWER_HEX: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// Exactly 64 lowercase hex digits (the canonical form).
fn parse_lower_hex(text: &str) -> Option<Digest> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (i, pair) in bytes.chunks_exact(2).enumerate() {
        let (hi, lo) = (
            LOWER_HEX[usize::from(pair[0])],
            LOWER_HEX[usize::from(pair[1])],
        );
        bad |= hi | lo;
        out[i] = (hi << 4) | (lo & 0x0f);
    }
    (bad & 0xf0 == 0).then_some(Digest(out))
}

/// Checks that the envelope before the event is exactly
/// `{"seq":N,"time":T,"replica":R,"prev":"HEX","event":` and returns where
/// the event starts.
fn check_prefix(
    line: &[u8],
    view: &RecordView<'_>,
    scratch: &mut Vec<u8>,
) -> Result<usize, LineFault> {
    let out_of_form = || malformed("envelope fields out of canonical form");
    scratch.clear();
    scratch.extend_from_slice(b"{\"seq\":");
    push_int(scratch, u128::from(view.seq), false);
    scratch.extend_from_slice(b",\"time\":");
    push_int(scratch, u128::from(view.time.unsigned_abs()), view.time < 0);
    scratch.extend_from_slice(b",\"replica\":");
    if !line.starts_with(scratch) {
        return Err(out_of_form());
    }
    let mut pos = scratch.len();
    match &view.replica {
        // Borrowed: written without escapes, exactly as serde_json writes it.
        Cow::Borrowed(replica) => {
            if offset_of(line, replica) != pos + 1 || line.get(pos) != Some(&b'"') {
                return Err(out_of_form());
            }
            pos += replica.len() + 2;
        }
        Cow::Owned(replica) => {
            let json = replica_json(replica);
            if !line[pos..].starts_with(&json) {
                return Err(out_of_form());
            }
            pos += json.len();
        }
    }
    if line.get(pos..pos + 9) != Some(b",\"prev\":\"".as_slice())
        || offset_of(line, view.prev) != pos + 9
    {
        return Err(out_of_form());
    }
    pos += 9 + view.prev.len();
    if line.get(pos..pos + 10) != Some(b"\",\"event\":".as_slice())
        || offset_of(line, view.event.get()) != pos + 10
    {
        return Err(out_of_form());
    }
    Ok(pos + 10)
}

/// Checks a record line: strict envelope layout, hash over the canonical
/// bytes, and every body present against its commitment. `scratch` is
/// reused between calls.
pub fn check_record_line<'a>(
    line: &'a [u8],
    scratch: &mut Vec<u8>,
) -> Result<CheckedRecord<'a>, LineFault> {
    let view: RecordView<'a> =
        serde_json::from_slice(line).map_err(|e| LineFault::Malformed(e.to_string()))?;
    let prev = parse_lower_hex(view.prev).ok_or_else(|| malformed("bad prev"))?;
    let hash = parse_lower_hex(view.hash).ok_or_else(|| malformed("bad hash"))?;
    let event_at = check_prefix(line, &view, scratch)?;
    let mut pos = event_at + view.event.get().len();
    let mut commit = CommitView::default();
    if let Some(raw) = view.commit {
        if line.get(pos..pos + 10) != Some(b",\"commit\":".as_slice())
            || offset_of(line, raw.get()) != pos + 10
        {
            return Err(malformed("commit out of place"));
        }
        pos = pos + 10 + raw.get().len();
        commit =
            serde_json::from_str(raw.get()).map_err(|e| LineFault::Malformed(e.to_string()))?;
    }
    if line.get(pos..pos + 9) != Some(b",\"hash\":\"".as_slice())
        || offset_of(line, view.hash) != pos + 9
    {
        return Err(malformed("hash out of place"));
    }
    let computed = Digest::of_parts(RECORD_DOMAIN, &[&line[..pos], b"}"]);
    if computed != hash {
        return Err(LineFault::HashMismatch(view.seq));
    }
    let bodies = view.bodies.unwrap_or_default();
    let mut pruned = 0;
    for (name, committed, body) in [
        ("prompt", commit.prompt, bodies.prompt),
        ("response", commit.response, bodies.response),
    ] {
        match (committed, body) {
            (Some(c), Some(b)) => {
                let expected = parse_lower_hex(c).ok_or_else(|| malformed("bad commitment"))?;
                if Digest::of_parts(BODY_DOMAIN, &[b.get().as_bytes()]) != expected {
                    return Err(LineFault::BodyMismatch(view.seq, name));
                }
            }
            (Some(c), None) => {
                parse_lower_hex(c).ok_or_else(|| malformed("bad commitment"))?;
                pruned += 1;
            }
            (None, Some(_)) => return Err(LineFault::BodyMismatch(view.seq, name)),
            (None, None) => {}
        }
    }
    Ok(CheckedRecord {
        seq: view.seq,
        time: view.time,
        replica: view.replica,
        prev,
        hash,
        event: view.event,
        commit,
        bodies,
        pruned,
        hash_end: pos + 9 + 64,
    })
}

/// Kinds of line in a log or an export file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// `{"seq":...}`
    Record,
    /// `{"checkpoint":{...}}`
    Checkpoint,
    /// `{"export":{...}}`, the first line of an export.
    Header,
    /// `{"seal":{...}}`, the last line of an export.
    Seal,
    /// Anything else.
    Unknown,
}

/// Classifies a line by its first key.
pub fn line_kind(line: &[u8]) -> LineKind {
    if line.starts_with(b"{\"seq\":") {
        LineKind::Record
    } else if line.starts_with(b"{\"checkpoint\":") {
        LineKind::Checkpoint
    } else if line.starts_with(b"{\"export\":") {
        LineKind::Header
    } else if line.starts_with(b"{\"seal\":") {
        LineKind::Seal
    } else {
        LineKind::Unknown
    }
}

/// Parses a record line back into a typed [`Record`], checking it first.
/// Pruned bodies come back as [`Body::Pruned`].
pub fn decode_record(line: &[u8]) -> Result<Record, AuditError> {
    let mut scratch = Vec::new();
    let checked = check_record_line(line, &mut scratch).map_err(AuditError::from)?;
    let mut event: AuditEvent =
        serde_json::from_str(checked.event.get()).map_err(|e| AuditError::Decode(e.to_string()))?;
    if let AuditEvent::Request(request) = &mut event {
        request.prompt = decode_body(checked.commit.prompt, checked.bodies.prompt)?;
        request.response = decode_body(checked.commit.response, checked.bodies.response)?;
    } else if checked.commit.prompt.is_some() || checked.commit.response.is_some() {
        return Err(AuditError::Decode("bodies on a control record".into()));
    }
    Ok(Record {
        seq: checked.seq,
        time: checked.time,
        replica: checked.replica.into_owned(),
        prev: checked.prev,
        event,
        hash: checked.hash,
    })
}

fn decode_body(commit: Option<&str>, body: Option<&RawValue>) -> Result<Option<Body>, AuditError> {
    let bad = |e: String| AuditError::Decode(e);
    match (commit, body) {
        (_, Some(raw)) => Ok(Some(
            serde_json::from_str(raw.get()).map_err(|e| bad(e.to_string()))?,
        )),
        (Some(c), None) => Ok(Some(Body::Pruned {
            sha256: Digest::from_hex(c).ok_or_else(|| bad("bad commitment".into()))?,
        })),
        (None, None) => Ok(None),
    }
}

/// The line with its bodies dropped (commitments kept), or `None` if it has
/// none. The record's hash is unchanged.
pub fn prune_line(line: &[u8]) -> Result<Option<Vec<u8>>, AuditError> {
    let mut scratch = Vec::new();
    let checked = check_record_line(line, &mut scratch).map_err(AuditError::from)?;
    if checked.bodies.prompt.is_none() && checked.bodies.response.is_none() {
        return Ok(None);
    }
    Ok(Some(strip_bodies(line, &checked)))
}

/// `line` (already checked as `checked`) without its `bodies`.
pub(crate) fn strip_bodies(line: &[u8], checked: &CheckedRecord<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(checked.hash_end + 2);
    out.extend_from_slice(&line[..checked.hash_end]);
    out.extend_from_slice(b"\"}");
    out
}
