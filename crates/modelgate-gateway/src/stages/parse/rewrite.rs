//! The body sent upstream: the caller's bytes with, where needed, the
//! upstream's model name, `stream_options` rewritten to ask for usage, and
//! one output-ceiling field carrying the value decided on. Each change is a
//! splice at a position the parse stage recorded; nothing else is touched.

use std::ops::Range;

use modelgate_types::{Dialect, Operation};

use super::ModelCall;

/// A body the gateway read but could not rewrite (it never forwards such a
/// body as received: the rewrite is what keeps it within the decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the request body could not be prepared for the upstream")]
pub struct Unrewritable;

/// JSON whitespace.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Start of the key of the top-level member whose value starts at
/// `value_start` (`body` is valid JSON): back over `:`, then over the key
/// string to its unescaped opening quote.
fn key_start(body: &[u8], value_start: usize) -> Option<usize> {
    let mut i = value_start;
    while i > 0 && is_space(body[i - 1]) {
        i -= 1;
    }
    i = i.checked_sub(1).filter(|&c| body[c] == b':')?;
    while i > 0 && is_space(body[i - 1]) {
        i -= 1;
    }
    // `i - 1` is the key's closing quote.
    let mut at = i.checked_sub(1).filter(|&q| body[q] == b'"')?;
    loop {
        at = at.checked_sub(1)?;
        if body[at] != b'"' {
            continue;
        }
        let slashes = body[..at].iter().rev().take_while(|&&b| b == b'\\').count();
        if slashes % 2 == 0 {
            return Some(at);
        }
    }
}

/// The range that removes the member whose value is `value` (with its
/// separating comma), leaving the object well-formed.
fn member_removal(body: &[u8], value: &Range<usize>) -> Option<Range<usize>> {
    let start = key_start(body, value.start)?;
    let mut after = value.end;
    while after < body.len() && is_space(body[after]) {
        after += 1;
    }
    if body.get(after) == Some(&b',') {
        after += 1;
        while after < body.len() && is_space(body[after]) {
            after += 1;
        }
        return Some(start..after);
    }
    // The last member: remove the comma before it.
    let mut before = start;
    while before > 0 && is_space(body[before - 1]) {
        before -= 1;
    }
    let comma = before.checked_sub(1).filter(|&c| body[c] == b',')?;
    Some(comma..value.end)
}

impl ModelCall {
    /// Whether the gateway must ask the upstream for usage in the stream
    /// (OpenAI-kind upstreams send none unless asked).
    pub fn needs_usage_injection(&self) -> bool {
        self.stream && self.operation.dialect() == Dialect::OpenAi && !self.caller_wants_usage
    }

    /// The one output-ceiling field forwarded: `max_tokens` for the
    /// Anthropic and completions APIs, and for chat unless the caller used
    /// `max_completion_tokens` (which newer OpenAI models require).
    fn ceiling_field(&self) -> &'static str {
        match self.operation {
            Operation::ChatCompletions | Operation::Embeddings | Operation::ModelsList
                if self.max_completion_tokens_span.is_some() =>
            {
                "max_completion_tokens"
            }
            _ => "max_tokens",
        }
    }

    /// The edits that leave one output-ceiling field carrying
    /// [`ModelCall::max_tokens`]; none when the body already does.
    fn ceiling_edits(&self, body: &[u8], edits: &mut Vec<(Range<usize>, Vec<u8>)>) -> Option<()> {
        let Some(decided) = self.max_tokens else {
            return Some(());
        };
        let keep = self.ceiling_field();
        let (kept, other) = if keep == "max_tokens" {
            (&self.max_tokens_span, &self.max_completion_tokens_span)
        } else {
            (&self.max_completion_tokens_span, &self.max_tokens_span)
        };
        let Some(other) = other else {
            return Some(()); // one field, already the decided value
        };
        match kept {
            Some(kept) => {
                edits.push((member_removal(body, other)?, Vec::new()));
                edits.push((kept.clone(), decided.to_string().into_bytes()));
            }
            None => {
                // Only the other field was sent: rename it in place.
                let member = format!("\"{keep}\":{decided}").into_bytes();
                edits.push((key_start(body, other.start)?..other.end, member));
            }
        }
        Some(())
    }

    /// The body to send upstream: `upstream_model` in place of the public
    /// name, one output-ceiling field with the value decided on and, if
    /// `inject_usage`, `stream_options` rewritten with `include_usage: true`
    /// (the caller's other options kept, never a second `stream_options`).
    /// Returns `None` when the body can go as received.
    pub fn rewrite_body(
        &self,
        body: &[u8],
        upstream_model: &str,
        inject_usage: bool,
    ) -> Result<Option<Vec<u8>>, Unrewritable> {
        self.edited(body, upstream_model, inject_usage)
            .ok_or(Unrewritable)
    }

    fn edited(
        &self,
        body: &[u8],
        upstream_model: &str,
        inject_usage: bool,
    ) -> Option<Option<Vec<u8>>> {
        // Edits as (range, replacement), applied back to front.
        let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::with_capacity(4);
        if upstream_model != self.model {
            let quoted = serde_json::to_vec(upstream_model).ok()?;
            edits.push((self.model_span.clone(), quoted));
        }
        self.ceiling_edits(body, &mut edits)?;
        if inject_usage {
            match &self.stream_options_span {
                Some(span) => {
                    // Keep the caller's other options; only turn usage on.
                    let mut options: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_slice::<Option<_>>(body.get(span.clone())?)
                            .ok()?
                            .unwrap_or_default();
                    options.insert("include_usage".to_owned(), serde_json::Value::Bool(true));
                    edits.push((span.clone(), serde_json::to_vec(&options).ok()?));
                }
                None => {
                    // Right after the opening brace of the top-level object.
                    let open = body.iter().position(|&b| b == b'{')?;
                    edits.push((
                        open + 1..open + 1,
                        br#""stream_options":{"include_usage":true},"#.to_vec(),
                    ));
                }
            }
        }
        if edits.is_empty() {
            return Some(None);
        }
        // Back to front; at one position the longer range first, so an
        // insertion lands before what follows a removed member.
        edits.sort_by_key(|(range, _)| std::cmp::Reverse((range.start, range.end)));
        let mut out = body.to_vec();
        for (range, replacement) in edits {
            out.splice(range, replacement);
        }
        Some(Some(out))
    }
}
