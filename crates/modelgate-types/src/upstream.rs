//! What an upstream is: the wire format it speaks, where it runs, and how
//! it keeps tenants apart. The configuration, the policy facts and the
//! posture snapshot all use these, with the same spellings.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The wire format an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpstreamKind {
    /// OpenAI and every OpenAI-compatible server (vLLM, Ollama, llama.cpp, TGI).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
    /// Azure OpenAI (deployments in the path, `api-key` header).
    AzureOpenai,
}

impl UpstreamKind {
    /// The configuration spelling (`openai`, `anthropic`, `azure_openai`).
    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamKind::Openai => "openai",
            UpstreamKind::Anthropic => "anthropic",
            UpstreamKind::AzureOpenai => "azure_openai",
        }
    }
}

/// Where an upstream runs: a provider's API or a model server we operate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deployment {
    /// A provider's hosted API outside the organisation.
    Hosted,
    /// A model server the organisation runs.
    SelfHosted,
}

impl Deployment {
    /// The configuration and policy spelling (`hosted`, `self_hosted`).
    pub fn as_str(self) -> &'static str {
        match self {
            Deployment::Hosted => "hosted",
            Deployment::SelfHosted => "self_hosted",
        }
    }
}

/// How a provider keeps one customer's data from another's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Isolation {
    /// Enforced by technical means (dedicated hardware, own deployment).
    Technical,
    /// Promised by contract only.
    Contractual,
}

impl Isolation {
    /// The configuration and policy spelling (`technical`, `contractual`).
    pub fn as_str(self) -> &'static str {
        match self {
            Isolation::Technical => "technical",
            Isolation::Contractual => "contractual",
        }
    }
}

impl fmt::Display for UpstreamKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Deployment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Isolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_spelling_is_the_displayed_one() {
        for (value, text) in [
            (
                serde_json::to_value(UpstreamKind::AzureOpenai),
                "azure_openai",
            ),
            (serde_json::to_value(Deployment::SelfHosted), "self_hosted"),
            (serde_json::to_value(Isolation::Contractual), "contractual"),
        ] {
            assert_eq!(value.unwrap(), text);
        }
        assert_eq!(UpstreamKind::AzureOpenai.to_string(), "azure_openai");
        assert_eq!(Deployment::SelfHosted.to_string(), "self_hosted");
        assert_eq!(Isolation::Technical.to_string(), "technical");
    }
}
