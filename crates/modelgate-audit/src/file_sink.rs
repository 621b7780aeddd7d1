//! [`JsonlFileSink`]: the audit log as append-only JSON-lines files in one
//! directory, fsynced per batch, rotated by size into numbered files
//! (`audit-000001.jsonl`, `audit-000002.jsonl`, ...), and [`LogLines`] to
//! read them back in order.
//!
//! On open the newest file's tail is repaired: a torn last line (a crash in
//! the middle of a write) or trailing garbage (a zero-filled block) is cut
//! away. Nothing cut was ever acknowledged: acknowledgement follows fsync.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::SinkError;
use crate::file_tail::{TailEntry, keep_until, last_record, unsigned_tail};
use crate::record::Record;
use crate::sink::{AuditSink, Entry};

/// Options of a [`JsonlFileSink`].
#[derive(Debug, Clone)]
pub struct JsonlFileOptions {
    /// Directory of the files (created if missing).
    pub dir: PathBuf,
    /// File name prefix (`audit` gives `audit-000001.jsonl`).
    pub prefix: String,
    /// A new file is started before a batch once the current one holds
    /// this many bytes.
    pub max_file_bytes: u64,
    /// A new file is also started once the current one has been written to
    /// for this long, so that old files close and can be pruned.
    pub max_file_age: Option<Duration>,
    /// Whether appends fail when this sink fails (fail closed).
    pub required: bool,
}

impl JsonlFileOptions {
    /// Defaults: prefix `audit`, 64 MiB files, a new file at least daily,
    /// required.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self {
            dir: dir.into(),
            prefix: "audit".into(),
            max_file_bytes: 64 * 1024 * 1024,
            max_file_age: Some(Duration::from_secs(24 * 3600)),
            required: true,
        }
    }
}

/// Append-only JSON-lines files with rotation.
pub struct JsonlFileSink {
    name: String,
    options: JsonlFileOptions,
    file: Option<File>,
    number: u64,
    len: u64,
    opened: Instant,
    buf: Vec<u8>,
}

/// The log files in `dir` with `prefix`, oldest first.
pub fn log_files(dir: &Path, prefix: &str) -> io::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if let Some(n) = file_number(&entry.file_name().to_string_lossy(), prefix) {
            found.push((n, entry.path()));
        }
    }
    found.sort();
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

fn file_number(name: &str, prefix: &str) -> Option<u64> {
    let digits = name
        .strip_prefix(prefix)?
        .strip_prefix('-')?
        .strip_suffix(".jsonl")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn file_path(options: &JsonlFileOptions, number: u64) -> PathBuf {
    options
        .dir
        .join(format!("{}-{number:06}.jsonl", options.prefix))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl JsonlFileSink {
    /// Opens (or creates) the log in `options.dir` and repairs the newest
    /// file's tail.
    pub fn open(options: JsonlFileOptions) -> Result<Self, SinkError> {
        let name = format!("file:{}", options.dir.display());
        let mut sink = Self {
            name,
            options,
            file: None,
            number: 0,
            len: 0,
            opened: Instant::now(),
            buf: Vec::new(),
        };
        sink.reopen(|entry| !matches!(entry, TailEntry::Garbage))?;
        Ok(sink)
    }

    fn io(&self, err: io::Error) -> SinkError {
        SinkError::io(&self.name, err)
    }

    /// Opens the newest file and cuts its tail back to the last complete
    /// line that `keep` accepts.
    fn reopen(&mut self, keep: impl Fn(&TailEntry) -> bool) -> Result<(), SinkError> {
        self.file = None;
        fs::create_dir_all(&self.options.dir).map_err(|e| self.io(e))?;
        let files = log_files(&self.options.dir, &self.options.prefix).map_err(|e| self.io(e))?;
        let newest = files
            .last()
            .and_then(|p| file_number(&p.file_name()?.to_string_lossy(), &self.options.prefix));
        let number = newest.unwrap_or(1);
        let path = file_path(&self.options, number);
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|e| self.io(e))?;
        if newest.is_none() {
            sync_dir(&self.options.dir).map_err(|e| self.io(e))?;
        }
        let len = file.metadata().map_err(|e| self.io(e))?.len();
        let cut = keep_until(&file, len, keep).map_err(|e| self.io(e))?;
        if cut < len {
            tracing::warn!(
                sink = %self.name,
                file = %path.display(),
                bytes = len - cut,
                "audit: cutting unacknowledged or torn tail"
            );
            file.set_len(cut).map_err(|e| self.io(e))?;
            file.sync_all().map_err(|e| self.io(e))?;
        }
        self.file = Some(file);
        self.number = number;
        self.len = cut;
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), SinkError> {
        let number = self.number + 1;
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create_new(true)
            .open(file_path(&self.options, number))
            .map_err(|e| self.io(e))?;
        sync_dir(&self.options.dir).map_err(|e| self.io(e))?;
        self.file = Some(file);
        self.number = number;
        self.len = 0;
        self.opened = Instant::now();
        Ok(())
    }

    /// The log files, oldest first.
    pub fn files(&self) -> Result<Vec<PathBuf>, SinkError> {
        log_files(&self.options.dir, &self.options.prefix).map_err(|e| self.io(e))
    }

    /// Where the log lives.
    pub fn options(&self) -> &JsonlFileOptions {
        &self.options
    }
}

impl AuditSink for JsonlFileSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn required(&self) -> bool {
        self.options.required
    }

    fn write_batch(&mut self, entries: &[Entry]) -> Result<(), SinkError> {
        if self.file.is_none() {
            self.reopen(|entry| !matches!(entry, TailEntry::Garbage))?;
        }
        let too_old = self
            .options
            .max_file_age
            .is_some_and(|age| self.opened.elapsed() >= age);
        if self.len > 0 && (self.len >= self.options.max_file_bytes || too_old) {
            self.rotate()?;
        }
        self.buf.clear();
        for entry in entries {
            self.buf.extend_from_slice(entry.line());
            self.buf.push(b'\n');
        }
        let Some(file) = self.file.as_mut() else {
            return Err(SinkError::corrupt(&self.name, "no open file"));
        };
        if let Err(err) = file.write_all(&self.buf) {
            self.file = None;
            return Err(self.io(err));
        }
        self.len += self.buf.len() as u64;
        Ok(())
    }

    fn sync(&mut self) -> Result<(), SinkError> {
        let Some(file) = self.file.as_ref() else {
            return Err(SinkError::corrupt(&self.name, "no open file"));
        };
        if let Err(err) = file.sync_data() {
            self.file = None;
            return Err(self.io(err));
        }
        Ok(())
    }

    fn load_tail(&mut self) -> Result<Option<Record>, SinkError> {
        for path in self.files()?.iter().rev() {
            let file = File::open(path).map_err(|e| self.io(e))?;
            let len = file.metadata().map_err(|e| self.io(e))?.len();
            match last_record(&file, len) {
                Ok(Some(record)) => return Ok(Some(record)),
                Ok(None) => continue,
                Err(err) if err.kind() == io::ErrorKind::InvalidData => {
                    return Err(SinkError::corrupt(
                        &self.name,
                        format!(
                            "last record of {} does not check out: {err}",
                            path.display()
                        ),
                    ));
                }
                Err(err) => return Err(self.io(err)),
            }
        }
        Ok(None)
    }

    fn load_unsigned_tail(&mut self) -> Result<Option<Vec<Vec<u8>>>, SinkError> {
        let files = self.files()?;
        unsigned_tail(&files).map(Some).map_err(|e| self.io(e))
    }

    fn discard_after(&mut self, seq: u64) -> Result<(), SinkError> {
        self.reopen(|entry| match entry {
            TailEntry::Record(s) | TailEntry::Checkpoint(s) => *s <= seq,
            TailEntry::Garbage => false,
        })?;
        match self.load_tail()? {
            Some(tail) if tail.seq != seq => Err(SinkError::corrupt(
                &self.name,
                format!(
                    "expected the log to end at record {seq}, it ends at {}",
                    tail.seq
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// The complete lines of a file-sink log, oldest file first. A last line
/// without a newline (being written, or torn) is left out.
pub struct LogLines {
    files: VecDeque<PathBuf>,
    current: Option<BufReader<File>>,
}

impl LogLines {
    /// The log in `dir` with file prefix `prefix`.
    pub fn open(dir: &Path, prefix: &str) -> io::Result<Self> {
        Ok(Self::from_files(log_files(dir, prefix)?))
    }

    /// These files, in this order.
    pub fn from_files(files: Vec<PathBuf>) -> Self {
        Self {
            files: files.into(),
            current: None,
        }
    }
}

impl Iterator for LogLines {
    type Item = io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.current.is_none() {
                let path = self.files.pop_front()?;
                match File::open(&path) {
                    Ok(file) => self.current = Some(BufReader::with_capacity(1 << 20, file)),
                    Err(err) => return Some(Err(err)),
                }
            }
            let reader = self.current.as_mut()?;
            let mut line = Vec::with_capacity(512);
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => self.current = None,
                Ok(_) if line.last() == Some(&b'\n') => {
                    line.pop();
                    return Some(Ok(line));
                }
                Ok(_) => self.current = None,
                Err(err) => return Some(Err(err)),
            }
        }
    }
}
