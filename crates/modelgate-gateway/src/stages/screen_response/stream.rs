//! Screening of a response stream: every text the caller receives is
//! screened as it passes, on a lane of its own ([`super::lanes`]): a
//! choice's content and each tool call's arguments (OpenAI,
//! [`super::stream_openai`]); each content block's text, input JSON or
//! thinking (Anthropic, [`super::stream_anthropic`]). In `redact` mode each
//! delta is replaced by what its lane releases (held-back text is released,
//! redacted, in a delta of its own before the event that ends it). In
//! `log_only` mode events pass unchanged and only the findings are counted.

use std::sync::Arc;

use bytes::Bytes;
use modelgate_screen::Screener;
use modelgate_translate::sse_tap::MalformedStream;
use modelgate_translate::{EventSplitter, StreamTranslator, TranslateError};
use modelgate_types::{Dialect, Usage};

use super::FindingCounts;
use super::lanes::Lanes;
use super::stream_anthropic::AnthropicScreen;
use super::stream_openai::OpenAiScreen;

/// Screens a response stream in the caller's dialect.
pub struct ResponseStreamScreen {
    splitter: EventSplitter,
    events: EventScreen,
}

impl std::fmt::Debug for ResponseStreamScreen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseStreamScreen")
            .finish_non_exhaustive()
    }
}

/// The events of one stream, screened in its dialect.
enum EventScreen {
    OpenAi(OpenAiScreen),
    Anthropic(AnthropicScreen),
}

impl ResponseStreamScreen {
    /// A screen for a stream in `dialect`.
    pub fn new(dialect: Dialect, screener: Arc<Screener>, redact: bool, max_event: usize) -> Self {
        Self {
            splitter: EventSplitter::new(max_event),
            events: {
                let lanes = Lanes::new(screener, redact);
                match dialect {
                    Dialect::OpenAi => EventScreen::OpenAi(OpenAiScreen::new(lanes)),
                    Dialect::Anthropic => EventScreen::Anthropic(AnthropicScreen::new(lanes)),
                }
            },
        }
    }

    /// Screens the caller-bound bytes; returns what to send now.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Bytes, MalformedStream> {
        let mut out = Vec::with_capacity(bytes.len() + 64);
        self.splitter
            .feed(bytes, &mut self.events, &mut out)
            .map_err(|_| MalformedStream)?;
        Ok(Bytes::from(out))
    }

    /// The stream ended: releases what is held.
    pub fn finish(&mut self) -> Result<Bytes, MalformedStream> {
        let mut out = Vec::new();
        self.splitter
            .finish(&mut self.events, &mut out)
            .map_err(|_| MalformedStream)?;
        Ok(Bytes::from(out))
    }

    /// Findings so far.
    pub fn findings(&self) -> &FindingCounts {
        match &self.events {
            EventScreen::OpenAi(screen) => screen.lanes().counts(),
            EventScreen::Anthropic(screen) => screen.lanes().counts(),
        }
    }
}

impl StreamTranslator for EventScreen {
    fn push(
        &mut self,
        event: Option<&str>,
        data: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), TranslateError> {
        match self {
            EventScreen::OpenAi(screen) => screen.push(data, out),
            EventScreen::Anthropic(screen) => screen.push(event, data, out),
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        match self {
            EventScreen::OpenAi(screen) => screen.finish(out),
            EventScreen::Anthropic(screen) => screen.finish(out),
        }
    }

    fn is_done(&self) -> bool {
        false
    }

    fn usage(&self) -> Usage {
        Usage::default()
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
