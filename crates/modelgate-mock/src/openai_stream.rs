//! The OpenAI chunk stream's pieces: the envelope every chunk (and every
//! text completion) is wrapped in, the chat delta, token usage, and the
//! head that writes a stream's chunks and its end.

use serde::Serialize;

use crate::sse::EventBuf;

#[derive(Serialize, Clone, Copy)]
pub(crate) struct Usage {
    prompt_tokens: usize,
    completion_tokens: usize,
    total_tokens: usize,
}

impl Usage {
    pub(crate) fn new(prompt: usize, completion: usize) -> Self {
        Self {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
        }
    }
}

#[derive(Serialize, Default)]
pub(crate) struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) content: Option<&'a str>,
}

#[derive(Serialize)]
pub(crate) struct ChunkChoice<'a> {
    pub(crate) index: u32,
    pub(crate) delta: Delta<'a>,
    pub(crate) logprobs: Option<()>,
    pub(crate) finish_reason: Option<&'a str>,
}

/// A chat chunk or a text completion (streamed or not); `usage` is omitted
/// when `None`, `null` when `Some(None)`.
#[derive(Serialize)]
pub(crate) struct Envelope<'a, C> {
    pub(crate) id: &'a str,
    pub(crate) object: &'a str,
    pub(crate) created: u64,
    pub(crate) model: &'a str,
    pub(crate) choices: &'a [C],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) usage: Option<Option<Usage>>,
}

/// What a stream needs to wrap its choices in an [`Envelope`].
pub(crate) struct StreamHead<'a> {
    pub(crate) id: &'a str,
    pub(crate) object: &'a str,
    pub(crate) created: u64,
    pub(crate) model: &'a str,
    pub(crate) include_usage: bool,
}

impl StreamHead<'_> {
    pub(crate) fn push<C: Serialize>(&self, buf: &mut EventBuf, choice: C) {
        buf.data_json(&Envelope {
            id: self.id,
            object: self.object,
            created: self.created,
            model: self.model,
            choices: &[choice],
            usage: self.include_usage.then_some(None),
        });
    }

    pub(crate) fn finish(&self, buf: &mut EventBuf, usage: Usage) {
        if self.include_usage {
            buf.data_json(&Envelope::<ChunkChoice<'_>> {
                id: self.id,
                object: self.object,
                created: self.created,
                model: self.model,
                choices: &[],
                usage: Some(Some(usage)),
            });
        }
        buf.raw(b"data: [DONE]\n\n");
    }
}
