//! The deterministic demo reply: its text, how it is split into chunks, and
//! the word-based token counting shared by both dialects.

use std::ops::Range;

use serde_json::Value;

/// Reply text when the request carries no user text.
pub const GREETING: &str = "Hello from the modelgate demo model.";

/// Maximum number of characters of the user's text echoed in the reply.
pub const ECHO_MAX_CHARS: usize = 200;

/// The reply text for the given last user message text.
pub fn reply_text(user_text: Option<&str>) -> String {
    match user_text.map(str::trim).filter(|t| !t.is_empty()) {
        None => GREETING.to_owned(),
        Some(t) => {
            let t = truncate_chars(t, ECHO_MAX_CHARS);
            let mut s = String::with_capacity(GREETING.len() + 11 + t.len());
            s.push_str(GREETING);
            s.push_str(" You said: ");
            s.push_str(t);
            s
        }
    }
}

/// The first `max` characters of `s`.
pub fn truncate_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Number of whitespace-separated words in `s`.
pub fn count_words(s: &str) -> usize {
    s.split_whitespace().count()
}

/// Call `f` with every text fragment of a message `content` value: the
/// string itself, or the `text` of each `{"type":"text"}` part of an array.
pub fn for_each_text<'a>(content: &'a Value, f: &mut impl FnMut(&'a str)) {
    match content {
        Value::String(s) => f(s),
        Value::Array(parts) => {
            for part in parts {
                if part.get("type").and_then(Value::as_str) == Some("text")
                    && let Some(t) = part.get("text").and_then(Value::as_str)
                {
                    f(t);
                }
            }
        }
        _ => {}
    }
}

/// The text of a message `content` value (parts joined with a space), or
/// `None` when it holds no text.
pub fn content_text(content: &Value) -> Option<String> {
    let mut out: Option<String> = None;
    for_each_text(content, &mut |t| match &mut out {
        None => out = Some(t.to_owned()),
        Some(s) => {
            s.push(' ');
            s.push_str(t);
        }
    });
    out
}

/// A reply split into content chunks: `text` is the whole reply and every
/// range of `pieces` is one chunk; the pieces concatenate to `text`.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The full reply text.
    pub text: String,
    /// Byte ranges of `text`, one per content chunk, contiguous and in order.
    pub pieces: Vec<Range<usize>>,
}

impl Reply {
    /// Split `base` into `chunks` pieces (default: one per word, at least 1).
    pub fn new(base: String, chunks: Option<usize>) -> Self {
        let segments = word_segments(&base);
        let words = segments.len();
        let n = chunks.unwrap_or(words).max(1);
        if words == 0 {
            let len = base.len();
            let mut pieces = Vec::with_capacity(n);
            pieces.push(0..len);
            pieces.extend(std::iter::repeat_n(len..len, n - 1));
            return Self { text: base, pieces };
        }
        if n <= words {
            let pieces = (0..n)
                .map(|i| {
                    let first = i * words / n;
                    let last = (i + 1) * words / n - 1;
                    segments[first].start..segments[last].end
                })
                .collect();
            return Self { text: base, pieces };
        }
        // More chunks than words: repeat the words cyclically.
        let mut text = String::with_capacity(base.len() * n.div_ceil(words) + n);
        let mut pieces = Vec::with_capacity(n);
        for i in 0..n {
            let seg = &base[segments[i % words].clone()];
            let start = text.len();
            if i + 1 == n {
                text.push_str(seg.trim_end());
            } else {
                text.push_str(seg);
                if !seg.ends_with(char::is_whitespace) {
                    text.push(' ');
                }
            }
            pieces.push(start..text.len());
        }
        Self { text, pieces }
    }

    /// Number of content chunks (= completion/output tokens).
    pub fn tokens(&self) -> usize {
        self.pieces.len()
    }

    /// The content chunks in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.pieces.iter().map(|r| &self.text[r.clone()])
    }
}

/// Byte ranges of each word together with the whitespace that follows it
/// (leading whitespace belongs to the first word).
fn word_segments(s: &str) -> Vec<Range<usize>> {
    let mut starts = Vec::new();
    let mut in_word = false;
    for (i, c) in s.char_indices() {
        let ws = c.is_whitespace();
        if !ws && !in_word {
            starts.push(i);
        }
        in_word = !ws;
    }
    if let Some(first) = starts.first_mut() {
        *first = 0;
    }
    let mut segments = Vec::with_capacity(starts.len());
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(s.len());
        segments.push(start..end);
    }
    segments
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reply_text_echoes_and_truncates() {
        assert_eq!(reply_text(None), GREETING);
        assert_eq!(reply_text(Some("   ")), GREETING);
        assert_eq!(
            reply_text(Some(" hi there ")),
            "Hello from the modelgate demo model. You said: hi there"
        );
        let long = "é".repeat(300);
        let r = reply_text(Some(&long));
        assert!(r.ends_with(&"é".repeat(200)));
        assert!(!r.ends_with(&"é".repeat(201)));
    }

    #[test]
    fn counts_words() {
        assert_eq!(count_words(""), 0);
        assert_eq!(count_words("  a  b\n\tc "), 3);
    }

    #[test]
    fn content_text_from_parts() {
        let v = json!([
            {"type": "text", "text": "one"},
            {"type": "image_url", "image_url": {"url": "x"}},
            {"type": "text", "text": "two"}
        ]);
        assert_eq!(content_text(&v).as_deref(), Some("one two"));
        assert_eq!(content_text(&json!("plain")).as_deref(), Some("plain"));
        assert_eq!(content_text(&json!(null)), None);
    }

    #[test]
    fn default_pieces_are_words() {
        let r = Reply::new("Hello  there\nfriend".into(), None);
        let pieces: Vec<&str> = r.iter().collect();
        assert_eq!(pieces, ["Hello  ", "there\n", "friend"]);
        assert_eq!(r.tokens(), 3);
        assert_eq!(pieces.concat(), r.text);
    }

    #[test]
    fn fewer_chunks_group_words() {
        let r = Reply::new("a b c d e".into(), Some(2));
        let pieces: Vec<&str> = r.iter().collect();
        assert_eq!(pieces, ["a b ", "c d e"]);
        let r = Reply::new("a b".into(), Some(0));
        assert_eq!(r.iter().collect::<Vec<_>>(), ["a b"]);
    }

    #[test]
    fn more_chunks_cycle_words() {
        let r = Reply::new("a b".into(), Some(5));
        let pieces: Vec<&str> = r.iter().collect();
        assert_eq!(pieces, ["a ", "b ", "a ", "b ", "a"]);
        assert_eq!(r.text, "a b a b a");
        assert_eq!(r.tokens(), 5);
        let r = Reply::new(reply_text(Some("hi")), Some(100));
        assert_eq!(r.tokens(), 100);
        assert!(r.iter().all(|p| !p.is_empty()));
    }
}
