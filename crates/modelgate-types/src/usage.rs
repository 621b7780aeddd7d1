//! Token usage as upstreams report it, in either dialect.

use serde::Deserialize;

use crate::Dialect;

/// Tokens consumed by one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt (input) tokens.
    pub input: u64,
    /// Completion (output) tokens.
    pub output: u64,
    /// Whether the upstream reported usage at all.
    pub reported: bool,
}

/// OpenAI's `usage` object (chat, completions, embeddings).
#[derive(Debug, Deserialize)]
pub struct OpenAiUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// Anthropic's `usage` object.
#[derive(Debug, Deserialize)]
pub struct AnthropicUsage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

impl Usage {
    /// Takes an OpenAI usage object.
    pub fn set_openai(&mut self, u: &OpenAiUsage) {
        self.input = u.prompt_tokens;
        self.output = u.completion_tokens;
        self.reported = true;
    }

    /// Merges an Anthropic usage object. Counts in a stream are cumulative,
    /// so the larger value wins.
    pub fn merge_anthropic(&mut self, u: &AnthropicUsage) {
        let input = u.input_tokens.unwrap_or(0)
            + u.cache_creation_input_tokens.unwrap_or(0)
            + u.cache_read_input_tokens.unwrap_or(0);
        self.input = self.input.max(input);
        if let Some(output) = u.output_tokens {
            self.output = self.output.max(output);
        }
        self.reported = true;
    }

    /// Reads usage from a complete (non-streamed) response body.
    pub fn from_body(dialect: Dialect, body: &[u8]) -> Usage {
        let mut usage = Usage::default();
        match dialect {
            Dialect::OpenAi => {
                #[derive(Deserialize)]
                struct Body {
                    usage: Option<OpenAiUsage>,
                }
                if let Ok(Body { usage: Some(u) }) = serde_json::from_slice(body) {
                    usage.set_openai(&u);
                }
            }
            Dialect::Anthropic => {
                #[derive(Deserialize)]
                struct Body {
                    usage: Option<AnthropicUsage>,
                }
                if let Ok(Body { usage: Some(u) }) = serde_json::from_slice(body) {
                    usage.merge_anthropic(&u);
                }
            }
        }
        usage
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_dialects() {
        let o = Usage::from_body(
            Dialect::OpenAi,
            br#"{"id":"x","usage":{"prompt_tokens":3,"completion_tokens":5,"total_tokens":8}}"#,
        );
        assert_eq!((o.input, o.output, o.reported), (3, 5, true));
        let e = Usage::from_body(
            Dialect::OpenAi,
            br#"{"usage":{"prompt_tokens":7,"total_tokens":7}}"#,
        );
        assert_eq!((e.input, e.output), (7, 0));
        let a = Usage::from_body(
            Dialect::Anthropic,
            br#"{"usage":{"input_tokens":4,"output_tokens":6,"cache_read_input_tokens":2}}"#,
        );
        assert_eq!((a.input, a.output), (6, 6));
        assert!(!Usage::from_body(Dialect::OpenAi, b"not json").reported);
    }
}
