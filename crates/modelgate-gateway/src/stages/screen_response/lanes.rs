//! The texts of a response stream, each screened on its own lane: a
//! choice's content, each tool call's arguments (OpenAI), each content
//! block: text, input JSON or thinking (Anthropic). Each lane has its own
//! [`StreamScanner`], so a secret split across events of one lane is found
//! and pieces of different lanes are never read as one.
//!
//! In `redact` mode a lane releases what its scanner says is safe; in
//! `log_only` mode text is gathered and scanned in batches (nothing is
//! released from it). Also the writer of the events the screens send.

use std::collections::BTreeMap;
use std::sync::Arc;

use modelgate_screen::{Screener, StreamOutput, StreamScanner};

use super::FindingCounts;

/// Bytes of text gathered before a `log_only` scan.
const LOG_ONLY_BATCH: usize = 4096;

/// One text of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    /// OpenAI: a choice's `delta.content` (or legacy `text`).
    Text(u64),
    /// OpenAI: a choice's tool call's `function.arguments` (choice, call).
    Arguments(u64, u64),
    /// Anthropic: a content block's deltas (block index).
    Block(u64),
}

impl Channel {
    /// The OpenAI choice the channel belongs to.
    pub fn choice(self) -> Option<u64> {
        match self {
            Channel::Text(c) | Channel::Arguments(c, _) => Some(c),
            Channel::Block(_) => None,
        }
    }
}

#[derive(Default)]
struct Lane {
    scanner: Option<StreamScanner<'static>>,
    /// `log_only`: text not yet scanned.
    unscanned: String,
    /// How the dialect names the lane's delta (e.g. `thinking_delta`).
    tag: &'static str,
}

/// The lanes of one stream and the findings counted on them.
pub struct Lanes {
    screener: Arc<Screener>,
    redact: bool,
    lanes: BTreeMap<Channel, Lane>,
    counts: FindingCounts,
}

impl Lanes {
    /// No lane yet; `redact` releases redacted text, else text is only
    /// counted.
    pub fn new(screener: Arc<Screener>, redact: bool) -> Self {
        Self {
            screener,
            redact,
            lanes: BTreeMap::new(),
            counts: FindingCounts::new(),
        }
    }

    /// Whether text is redacted (else only counted).
    pub fn redacts(&self) -> bool {
        self.redact
    }

    /// Findings so far.
    pub fn counts(&self) -> &FindingCounts {
        &self.counts
    }

    /// Feeds `text` to `channel` (whose deltas the dialect names `tag`);
    /// returns what may be released now (`log_only`: nothing).
    pub fn push(&mut self, channel: Channel, tag: &'static str, text: &str) -> String {
        let lane = self.lanes.entry(channel).or_default();
        lane.tag = tag;
        if !self.redact {
            lane.unscanned.push_str(text);
            if lane.unscanned.len() >= LOG_ONLY_BATCH {
                let batch = std::mem::take(&mut lane.unscanned);
                let out = scanner(lane, &self.screener).push(&batch);
                count(&mut self.counts, &out);
            }
            return String::new();
        }
        let out = scanner(lane, &self.screener).push(text);
        count(&mut self.counts, &out);
        out.text
    }

    /// Ends `channel`: what it still holds (`log_only`: nothing), and the
    /// tag of its deltas.
    pub fn flush(&mut self, channel: Channel) -> (String, &'static str) {
        let Some(mut lane) = self.lanes.remove(&channel) else {
            return (String::new(), "");
        };
        if !lane.unscanned.is_empty() {
            let batch = std::mem::take(&mut lane.unscanned);
            let out = scanner(&mut lane, &self.screener).push(&batch);
            count(&mut self.counts, &out);
        }
        let Some(scanner) = lane.scanner.take() else {
            return (String::new(), lane.tag);
        };
        let out = scanner.finish();
        count(&mut self.counts, &out);
        let text = if self.redact { out.text } else { String::new() };
        (text, lane.tag)
    }

    /// The open channels matching `keep`, in order.
    pub fn open(&self, keep: impl Fn(Channel) -> bool) -> Vec<Channel> {
        self.lanes.keys().copied().filter(|c| keep(*c)).collect()
    }
}

fn scanner<'a>(lane: &'a mut Lane, screener: &Arc<Screener>) -> &'a mut StreamScanner<'static> {
    lane.scanner
        .get_or_insert_with(|| StreamScanner::shared(screener.clone()))
}

fn count(counts: &mut FindingCounts, out: &StreamOutput) {
    for finding in out.findings.iter() {
        *counts.entry(finding.kind.as_str().to_owned()).or_default() += 1;
    }
}

/// Writes one server-sent event.
pub fn write_event(out: &mut Vec<u8>, event: Option<&str>, data: &[u8]) {
    if let Some(name) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(name.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
}
