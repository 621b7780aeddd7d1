//! What a caller asks for: the API operation (one Cedar action each) and the
//! dialect it is asked in.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The wire format of a caller's (or an upstream's) API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// OpenAI's REST API (and everything compatible with it).
    OpenAi,
    /// Anthropic's Messages API.
    Anthropic,
}

impl Dialect {
    /// The API's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::OpenAi => "OpenAI",
            Dialect::Anthropic => "Anthropic",
        }
    }
}

/// An API operation: what the request path serves, and the Cedar action
/// policies name (`chat`, `completions`, `embeddings`, `messages`,
/// `models.list`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Operation {
    /// OpenAI `POST /v1/chat/completions`.
    #[serde(rename = "chat")]
    ChatCompletions,
    /// OpenAI `POST /v1/completions`.
    #[serde(rename = "completions")]
    Completions,
    /// OpenAI `POST /v1/embeddings`.
    #[serde(rename = "embeddings")]
    Embeddings,
    /// Anthropic `POST /v1/messages`.
    #[serde(rename = "messages")]
    Messages,
    /// `GET /v1/models`: evaluated once per model that would be listed.
    #[serde(rename = "models.list")]
    ModelsList,
}

impl Operation {
    /// Every operation, in declaration order.
    pub const ALL: [Operation; 5] = [
        Operation::ChatCompletions,
        Operation::Completions,
        Operation::Embeddings,
        Operation::Messages,
        Operation::ModelsList,
    ];

    /// The Cedar action id, also the label in logs and metrics (`chat`,
    /// ..., `models.list`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::ChatCompletions => "chat",
            Operation::Completions => "completions",
            Operation::Embeddings => "embeddings",
            Operation::Messages => "messages",
            Operation::ModelsList => "models.list",
        }
    }

    /// Position in [`Operation::ALL`] (for tables indexed by operation).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The operation with this Cedar action id.
    pub fn from_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.as_str() == name)
    }

    /// The dialect the caller speaks for this operation.
    pub fn dialect(self) -> Dialect {
        match self {
            Operation::Messages => Dialect::Anthropic,
            _ => Dialect::OpenAi,
        }
    }

    /// Whether the operation can stream.
    pub fn streamable(self) -> bool {
        !matches!(self, Operation::Embeddings | Operation::ModelsList)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_name(op.as_str()), Some(op));
            let json = serde_json::to_value(op).unwrap();
            assert_eq!(json, op.as_str());
            assert_eq!(serde_json::from_value::<Operation>(json).unwrap(), op);
        }
        assert_eq!(Operation::from_name("Chat"), None);
    }

    #[test]
    fn dialect_and_streaming() {
        assert_eq!(Operation::Messages.dialect(), Dialect::Anthropic);
        assert_eq!(Operation::ChatCompletions.dialect(), Dialect::OpenAi);
        assert!(Operation::ChatCompletions.streamable());
        assert!(!Operation::Embeddings.streamable());
    }
}
