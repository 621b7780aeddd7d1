//! modelgate-audit: the tamper-evident audit log. Owns audit records, the
//! hash chain, signed checkpoints, sinks (JSON-lines files, stdout, and the
//! [`AuditSink`] trait a store-backed sink implements elsewhere), body
//! retention and pruning, export and offline verification.
//!
//! It must not touch HTTP, the store crate, or any secret: records hold
//! credential ids, never credentials; bodies are kept only as a route's
//! retention says.
//!
//! # Using it
//!
//! ```no_run
//! # async fn demo() -> Result<(), modelgate_audit::AuditError> {
//! use std::sync::Arc;
//! use modelgate_audit::*;
//! let (signer, _pkcs8) = AuditSigner::generate()?;
//! let file = JsonlFileSink::open(JsonlFileOptions::new("/var/lib/modelgate/audit"))?;
//! let log = AuditLog::start(
//!     vec![Box::new(file), Box::new(StdoutSink::stdout())],
//!     Arc::new(signer),
//!     AuditConfig::new("gw-1"),
//! )
//! .await?;
//! let record = RequestRecord { request_id: "r-1".into(), ..Default::default() };
//! match log.append(AuditEvent::Request(record)).await {
//!     Ok(_receipt) => { /* durable: forward the request */ }
//!     Err(_) => { /* 503, forward nothing; log.healthy() is false */ }
//! }
//! # Ok(()) }
//! ```
//!
//! # Fail closed, group commit
//!
//! [`AuditLog::append`] resolves only once the record is written and
//! fsynced by every *required* sink. One writer thread takes whatever
//! appends are queued (up to `max_batch`), waits briefly (`commit_delay`,
//! at most one write's duration) only while other appends are under way,
//! chains them, writes and syncs each required sink once, then acknowledges
//! them all; sinks that are not required get the batch afterwards, best
//! effort. Events are serialized by the appending task, so the writer only
//! adds the envelope and the hash.
//!
//! A forwarded request needs its record durable *before* it is forwarded,
//! but its outcome (status, usage, times) is known only after: append an
//! `admit` record first and a `complete` record at the end, both with the
//! request id ([`RequestRecord::phase`]); a refusal is one record. If a required sink fails,
//! nothing of the batch is acknowledged (`Unavailable`, i.e. 503), the chain
//! moves back to the last durable record, every required sink discards what
//! it got of the batch ([`AuditSink::discard_after`]), [`AuditLog::healthy`]
//! turns false (`/readyz`), and the writer probes (by writing a checkpoint)
//! every `retry_interval` until a write succeeds. No acknowledged record is
//! lost or duplicated and the chain continues without a gap. An append that
//! times out may still be written later: such a record stands for a request
//! that was refused.
//!
//! # Records and the chain
//!
//! Each replica keeps its own chain (seq from 1, `prev` of seq 1 is 32 zero
//! bytes). A record line (JSON, one line, fields in this order, no spaces):
//!
//! ```text
//! {"seq":N,"time":MS,"replica":"R","prev":"HEX64","event":EVENT[,"commit":{"prompt":"HEX64","response":"HEX64"}],"hash":"HEX64"[,"bodies":{"prompt":BODY,"response":BODY}]}
//! ```
//!
//! - `EVENT` is `{"request":{...}}` or `{"control":{...}}`, serde JSON of
//!   [`RequestRecord`] / [`ControlRecord`]: fixed field order, `BTreeMap`
//!   for free-form detail, empty optional fields left out.
//! - **Canonical bytes** = the line up to (not including) `,"hash":`, then
//!   `}`; that is, `{"seq":..,"time":..,"replica":..,"prev":..,"event":..[,
//!   "commit":..]}`. `hash` = SHA-256(0x00 ‖ canonical bytes). The next
//!   record's `prev` is this `hash`.
//! - **Bodies** (prompt, response) sit after `hash`, outside the canonical
//!   bytes. Each is bound by `commit` = SHA-256(0x02 ‖ the body's JSON bytes
//!   as written). A body is `{"hmac":{"key_id","value_b64"}}`,
//!   `{"redacted":{"text","salt"}}` or `{"full":{"text","salt"}}`; the
//!   random salt keeps a pruned body's commitment from confirming a guess.
//! - **Pruning** drops `bodies` and keeps `commit`: the canonical bytes, the
//!   hash, the chain and every signature are unchanged ([`prune`]). A body
//!   present must match its commitment; a body absent is reported as pruned.
//!
//! A verifier hashes the bytes as written and checks that the envelope is
//! in exactly this form, so it never re-serializes the event.
//!
//! # Checkpoints
//!
//! Every `checkpoint_every` records or `checkpoint_interval` (and at start,
//! on recovery and at close), the writer signs the chain head with the
//! Ed25519 audit key. Checkpoints are a parallel stream of lines in the same
//! sink, each right after the record it covers:
//!
//! ```text
//! {"checkpoint":{"replica":"R","seq":N,"head":"HEX64","time":MS,"key_id":"ID","sig":"B64"}}
//! ```
//!
//! signed over `modelgate-audit-checkpoint-v1\n<replica JSON>\n<seq>\n<head>
//! \n<time>\n<key_id>\n`. The key id is the first 16 hex digits of SHA-256 of
//! the raw public key; `--public-key` takes the raw 32-byte key in base64
//! ([`AuditPublicKey::to_base64`]).
//!
//! Before it signs anything the writer reads back each required sink's
//! records after the last checkpoint ([`AuditSink::load_unsigned_tail`])
//! and checks them against it ([`verify_tail`]): the checkpoint signed by
//! the signer's key or one of [`AuditConfig::trusted_keys`], every record
//! hashed and linked, and (while running) the stored chain ending at the
//! writer's head. On a [`TailFault`] it signs nothing more, records an
//! [`TAIL_FAULT_ACTION`] control record after the tail if it can, and
//! refuses every append; [`AuditLog::tail_fault`] says why.
//!
//! # File sink
//!
//! [`JsonlFileSink`]: one line per entry in `DIR/audit-000001.jsonl`,
//! `audit-000002.jsonl`, ..., a new file once the current one reaches
//! `max_file_bytes` (or `max_file_age`); fsync per batch. On open (and
//! after a failed batch) the newest file's tail is cut back to the last
//! complete line (a torn write) or, after a failure, to the last durable
//! record. The chain resumes from the last record line.
//!
//! # Export and verification
//!
//! An export file (see [`export()`]) is one chain's records of a time range,
//! with the checkpoints among them, between a header and a seal:
//!
//! ```text
//! {"export":{"format":"modelgate-audit-export-v1","replica":"R","since":MS|null,"until":MS|null,"anchor_seq":N,"anchor_hash":"HEX64"}}
//! ...record and checkpoint lines...
//! {"seal":{...,"last_seq":M,"head":"HEX64","records":K,"checkpoints":C,"time":MS,"key_id":"ID","sig":"B64"}}
//! ```
//!
//! The anchor is the record before the range (its hash is the first exported
//! record's `prev`), so a range verifies on its own. The exporter verifies
//! its source before signing anything, then signs the seal over the header's
//! fields, the last record's seq and hash and the line counts. [`verify()`]
//! needs only the file and the public key(s); it reports the first problem:
//! a modified record ([`VerifyError::HashMismatch`]) or body
//! ([`VerifyError::BodyMismatch`]); a deleted, inserted or reordered record
//! ([`VerifyError::BrokenLink`], naming the first record that does not
//! follow); a checkpoint or seal by another key
//! ([`VerifyError::BadCheckpointSignature`], [`VerifyError::BadSeal`]); a
//! rewritten and rehashed stretch ([`VerifyError::CheckpointMismatch`]);
//! and truncation anywhere, even right after a checkpoint: the seal is
//! missing, so [`VerifyError::TailNotCheckpointed`] names the records after
//! the last signature. [`verify_log`] checks a live log (no header or seal)
//! and reports records after the last checkpoint as `unverified_tail`.

mod chain;
mod checkpoint;
mod codec;
mod committer;
mod config;
mod continuity;
mod digest;
mod error;
mod export;
mod fanout;
mod file_sink;
mod file_tail;
mod handoff;
mod line;
pub mod prune;
mod record;
mod retention;
mod seal;
mod sink;
mod tail;
mod tail_fault;
mod verify;
mod verify_error;
mod writer;

pub use chain::AuditChain;
pub use checkpoint::{AuditPublicKey, AuditSigner, Checkpoint};
pub use codec::{PreparedEvent, commit_body};
pub use config::AuditConfig;
pub use continuity::{Continuity, ContinuityError, compare_with_export};
pub use digest::Digest;
pub use error::{AuditError, SinkError};
pub use export::{ExportRange, ExportSummary, export};
pub use file_sink::{JsonlFileOptions, JsonlFileSink, LogLines, log_files};
pub use line::{LineKind, decode_record, line_kind, prune_line};
pub use record::{
    AuditEvent, Body, ChainHead, ControlRecord, DECISIONS, Receipt, Record, RequestRecord,
};
pub use retention::{AuditHmacKey, BodyPolicy, Retention, hash_value};
pub use seal::{EXPORT_FORMAT, ExportHeader, Seal};
pub use sink::{AuditSink, Entry, StdoutSink, WriterSink};
pub use tail::{TailFault, verify_tail};
pub use tail_fault::TAIL_FAULT_ACTION;
pub use verify::{VerifyReport, verify, verify_log};
pub use verify_error::VerifyError;
pub use writer::{AuditLog, AuditStats};
