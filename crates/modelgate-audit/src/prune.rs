//! Body pruning: once a record's `bodies_expire` has passed, its prompt and
//! response bodies are dropped and only their commitments stay, so the
//! record's hash, the chain and every checkpoint still verify.
//!
//! For a file-sink log, closed files (all but the newest, which the writer
//! appends to) are rewritten to a temporary file, fsynced and renamed over
//! the original; a crash leaves either the old or the new file.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use serde::Deserialize;

use crate::error::AuditError;
use crate::file_sink::{LogLines, log_files};
use crate::line::{LineKind, check_record_line, line_kind, strip_bodies};

/// What pruning did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneStats {
    /// Record lines read.
    pub records: u64,
    /// Records whose bodies were dropped.
    pub pruned: u64,
    /// Files rewritten.
    pub files_rewritten: u64,
}

#[derive(Deserialize)]
struct ExpiryView {
    #[serde(default)]
    request: Option<ExpiryRequest>,
}

#[derive(Deserialize)]
struct ExpiryRequest {
    #[serde(default)]
    bodies_expire: Option<i64>,
}

/// The line without its bodies if they expired by `now_ms`; `None` if the
/// line stays as it is (no bodies, not expired, or not a record).
pub fn prune_expired_line(line: &[u8], now_ms: i64) -> Result<Option<Vec<u8>>, AuditError> {
    if line_kind(line) != LineKind::Record {
        return Ok(None);
    }
    let mut scratch = Vec::new();
    let checked = check_record_line(line, &mut scratch)?;
    if checked.bodies.prompt.is_none() && checked.bodies.response.is_none() {
        return Ok(None);
    }
    let view: ExpiryView =
        serde_json::from_str(checked.event.get()).map_err(|e| AuditError::Decode(e.to_string()))?;
    let expired = view
        .request
        .and_then(|r| r.bodies_expire)
        .is_some_and(|at| at <= now_ms);
    if !expired {
        return Ok(None);
    }
    Ok(Some(strip_bodies(line, &checked)))
}

/// Rewrites one closed log file with expired bodies dropped.
pub fn prune_file(path: &Path, now_ms: i64) -> Result<PruneStats, AuditError> {
    let mut stats = PruneStats::default();
    let mut lines = Vec::new();
    for line in LogLines::from_files(vec![path.to_path_buf()]) {
        let line = line?;
        if line_kind(&line) == LineKind::Record {
            stats.records += 1;
        }
        match prune_expired_line(&line, now_ms)? {
            Some(pruned) => {
                stats.pruned += 1;
                lines.push(pruned);
            }
            None => lines.push(line),
        }
    }
    if stats.pruned == 0 {
        return Ok(stats);
    }
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".prune-tmp");
    let tmp = Path::new(&tmp_name);
    {
        let mut out = BufWriter::new(File::create(tmp)?);
        for line in &lines {
            out.write_all(line)?;
            out.write_all(b"\n")?;
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    fs::rename(tmp, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    stats.files_rewritten = 1;
    Ok(stats)
}

/// Prunes expired bodies in every closed file of the log in `dir` (all but
/// the newest file).
pub fn prune_closed_files(dir: &Path, prefix: &str, now_ms: i64) -> Result<PruneStats, AuditError> {
    let mut files = log_files(dir, prefix)?;
    files.pop();
    let mut total = PruneStats::default();
    for path in files {
        let stats = prune_file(&path, now_ms)?;
        total.records += stats.records;
        total.pruned += stats.pruned;
        total.files_rewritten += stats.files_rewritten;
    }
    Ok(total)
}
