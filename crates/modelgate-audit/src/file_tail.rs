//! The end of a JSON-lines log file: reading it backwards line by line,
//! cutting a torn or garbage tail left by a crash, dropping unacknowledged
//! entries after a failed batch, and finding the last record.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use crate::checkpoint::Checkpoint;
use crate::line::{LineFault, LineKind, check_record_line, decode_record, line_kind};
use crate::record::Record;

const CHUNK: u64 = 64 * 1024;

/// Lines of a file from the last to the first.
pub struct ReverseLines<'f> {
    file: &'f File,
    buf: Vec<u8>,
    buf_start: u64,
    end: u64,
}

/// A line read backwards.
pub struct TailLine {
    /// Offset of its first byte.
    pub start: u64,
    /// Its bytes, without the newline.
    pub bytes: Vec<u8>,
    /// Whether it ended with a newline.
    pub complete: bool,
}

impl<'f> ReverseLines<'f> {
    /// Reads `file`, whose length is `len`, backwards.
    pub fn new(file: &'f File, len: u64) -> Self {
        Self {
            file,
            buf: Vec::new(),
            buf_start: len,
            end: len,
        }
    }

    /// Prepends up to a chunk (or the buffer's size, whichever is larger)
    /// of the bytes before the buffer.
    fn fill(&mut self) -> io::Result<()> {
        let want = CHUNK.max(self.buf.len() as u64).min(self.buf_start);
        let from = self.buf_start - want;
        let mut chunk = vec![0u8; usize::try_from(want).map_err(io::Error::other)?];
        let mut file = self.file;
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&self.buf);
        self.buf = chunk;
        self.buf_start = from;
        Ok(())
    }

    /// The line before those already returned.
    pub fn prev_line(&mut self) -> io::Result<Option<TailLine>> {
        if self.end == 0 {
            return Ok(None);
        }
        if self.buf.is_empty() {
            self.fill()?;
        }
        let complete = self.buf.last() == Some(&b'\n');
        let content_end = self.end - u64::from(complete);
        loop {
            let local_end =
                usize::try_from(content_end - self.buf_start).map_err(io::Error::other)?;
            if let Some(i) = self.buf[..local_end].iter().rposition(|&b| b == b'\n') {
                let bytes = self.buf[i + 1..local_end].to_vec();
                let start = self.buf_start + i as u64 + 1;
                self.buf.truncate(i + 1);
                self.end = start;
                return Ok(Some(TailLine {
                    start,
                    bytes,
                    complete,
                }));
            }
            if self.buf_start == 0 {
                let bytes = self.buf[..local_end].to_vec();
                self.buf.clear();
                self.end = 0;
                return Ok(Some(TailLine {
                    start: 0,
                    bytes,
                    complete,
                }));
            }
            self.fill()?;
        }
    }
}

/// What a complete line at the tail is.
pub enum TailEntry {
    /// A record line with this seq (its hash may or may not check out).
    Record(u64),
    /// A checkpoint over this seq.
    Checkpoint(u64),
    /// Not a line of this format: a torn or zero-filled write.
    Garbage,
}

/// Classifies a complete line.
pub fn classify(line: &[u8], scratch: &mut Vec<u8>) -> TailEntry {
    match line_kind(line) {
        LineKind::Record => match check_record_line(line, scratch) {
            Ok(checked) => TailEntry::Record(checked.seq),
            Err(LineFault::HashMismatch(seq) | LineFault::BodyMismatch(seq, _)) => {
                TailEntry::Record(seq)
            }
            Err(LineFault::Malformed(_)) => TailEntry::Garbage,
        },
        LineKind::Checkpoint => match Checkpoint::from_line(line) {
            Ok(cp) => TailEntry::Checkpoint(cp.seq),
            Err(_) => TailEntry::Garbage,
        },
        _ => TailEntry::Garbage,
    }
}

/// The length the file should be cut to so that it ends with the last
/// complete line that `keep` accepts; everything after (a torn line,
/// garbage, entries `keep` rejects) goes.
pub fn keep_until(file: &File, len: u64, keep: impl Fn(&TailEntry) -> bool) -> io::Result<u64> {
    let mut lines = ReverseLines::new(file, len);
    let mut scratch = Vec::new();
    let mut cut = len;
    while let Some(line) = lines.prev_line()? {
        if line.complete && keep(&classify(&line.bytes, &mut scratch)) {
            break;
        }
        cut = line.start;
    }
    Ok(cut)
}

/// The last record line of `file`, decoded; `Err` if that line does not
/// decode (a corrupt record cannot be resumed from).
pub fn last_record(file: &File, len: u64) -> io::Result<Option<Record>> {
    let mut lines = ReverseLines::new(file, len);
    while let Some(line) = lines.prev_line()? {
        if line.complete && line_kind(&line.bytes) == LineKind::Record {
            return decode_record(&line.bytes)
                .map(Some)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()));
        }
    }
    Ok(None)
}

/// The complete lines of the log `files` (oldest first) from the record
/// the last checkpoint covers to the end, in order (see
/// [`crate::AuditSink::load_unsigned_tail`]), read backwards from the end.
pub fn unsigned_tail(files: &[std::path::PathBuf]) -> io::Result<Vec<Vec<u8>>> {
    let mut found = Vec::new();
    let mut covered: Option<u64> = None;
    let mut scratch = Vec::new();
    'files: for path in files.iter().rev() {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut lines = ReverseLines::new(&file, len);
        while let Some(line) = lines.prev_line()? {
            if !line.complete {
                continue;
            }
            match (covered, line_kind(&line.bytes)) {
                (None, LineKind::Checkpoint) => {
                    covered = Checkpoint::from_line(&line.bytes).ok().map(|cp| cp.seq);
                    found.push(line.bytes);
                }
                (Some(_), LineKind::Checkpoint) => found.push(line.bytes),
                (Some(seq), LineKind::Record) => {
                    if matches!(classify(&line.bytes, &mut scratch), TailEntry::Record(s) if s == seq)
                    {
                        found.push(line.bytes);
                    }
                    break 'files;
                }
                (Some(_), _) => break 'files,
                (None, _) => found.push(line.bytes),
            }
        }
    }
    found.reverse();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn reads_backwards_across_chunks() -> io::Result<()> {
        let mut file = tempfile::tempfile()?;
        let long = "x".repeat(150_000);
        write!(file, "a\n{long}\n\nb\npartial")?;
        let len = file.metadata()?.len();
        let mut lines = ReverseLines::new(&file, len);
        let mut got = Vec::new();
        while let Some(line) = lines.prev_line()? {
            got.push((
                String::from_utf8_lossy(&line.bytes).into_owned(),
                line.complete,
            ));
        }
        let want = vec![
            ("partial".to_owned(), false),
            ("b".to_owned(), true),
            (String::new(), true),
            (long, true),
            ("a".to_owned(), true),
        ];
        assert_eq!(got, want);
        Ok(())
    }
}
