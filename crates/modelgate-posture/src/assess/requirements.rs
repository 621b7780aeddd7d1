//! A workload's control requirements and the team's operating maturity,
//! as `modelgate assess requirements.toml` reads them (format documented
//! in `docs/posture.md`, example in `examples/requirements.toml`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::PostureError;

/// Sensitivity of a class of data the workload sends to models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// Published or publishable.
    Public,
    /// Internal, low impact if disclosed.
    Internal,
    /// Confidential business data.
    Confidential,
    /// Regulated data (health, payment, personal data under law).
    Regulated,
}

impl DataClass {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DataClass::Public => "public",
            DataClass::Internal => "internal",
            DataClass::Confidential => "confidential",
            DataClass::Regulated => "regulated",
        }
    }

    /// Confidential or regulated.
    pub fn is_sensitive(self) -> bool {
        matches!(self, DataClass::Confidential | DataClass::Regulated)
    }
}

/// How much of the call path must be provable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auditability {
    /// The gateway's own record of each call is enough.
    Basic,
    /// Every log along the path must be under the organisation's control.
    Full,
}

/// Latency the workload needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Latency {
    /// Minutes are fine.
    Batch,
    /// A person waits for the answer (seconds).
    Interactive,
    /// Sub-second, steady.
    Realtime,
}

/// Availability the workload needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Business hours, best effort.
    Standard,
    /// High availability.
    High,
    /// Critical business process.
    Critical,
}

/// How often the team reviews telemetry of the model path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TelemetryReview {
    /// Never.
    None,
    /// Monthly.
    Monthly,
    /// Weekly.
    Weekly,
    /// Daily.
    Daily,
    /// Alerting and continuous monitoring.
    Continuous,
}

/// How credentials get rotated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationCapacity {
    /// By hand, when someone remembers.
    Manual,
    /// On a calendar, by people.
    Scheduled,
    /// By automation.
    Automated,
}

/// The workload's control requirements.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Short name; used to name upstreams, roles and policies.
    pub name: String,
    /// Environment of the workload (`prod`, `staging`, ...).
    #[serde(default = "default_environment")]
    pub environment: String,
    /// Data classes it sends to models (at least one).
    pub data_classes: Vec<DataClass>,
    /// Region the data must stay in, if any.
    #[serde(default)]
    pub residency: Option<String>,
    /// How much of the path must be provable.
    pub auditability: Auditability,
    /// Needs organisation-specific filters on prompts and answers.
    #[serde(default)]
    pub custom_policy_filters: bool,
    /// Latency need.
    pub latency: Latency,
    /// Availability need.
    pub availability: Availability,
    /// No route to the internet.
    #[serde(default)]
    pub air_gapped: bool,
}

fn default_environment() -> String {
    "prod".to_owned()
}

/// The team's operating maturity for the model path.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operations {
    /// Days from a model-server fix to it running in production.
    pub patching_cadence_days: u32,
    /// How often telemetry is reviewed.
    pub telemetry_review: TelemetryReview,
    /// How credentials are rotated.
    pub rotation: RotationCapacity,
    /// Someone is on call for the model path.
    pub on_call: bool,
    /// People who operate it.
    pub team_size: u32,
}

/// The input of [`crate::assess()`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    /// What the workload needs.
    pub workload: Workload,
    /// What the team can sustain.
    pub operations: Operations,
}

/// One question the CLI asks when run in a terminal without a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Question {
    /// `section.field` in the TOML format.
    pub key: &'static str,
    /// What to ask.
    pub prompt: &'static str,
    /// Allowed answers; empty for free text or numbers.
    pub choices: &'static [&'static str],
    /// How the answer is typed: `string`, `list`, `bool` or `integer`.
    pub value: &'static str,
}

/// The interactive questionnaire, in asking order.
pub const QUESTIONS: &[Question] = &[
    Question {
        key: "workload.name",
        prompt: "Workload name",
        choices: &[],
        value: "string",
    },
    Question {
        key: "workload.environment",
        prompt: "Environment",
        choices: &[],
        value: "string",
    },
    Question {
        key: "workload.data_classes",
        prompt: "Data classes sent to models (comma-separated)",
        choices: &["public", "internal", "confidential", "regulated"],
        value: "list",
    },
    Question {
        key: "workload.residency",
        prompt: "Region the data must stay in (empty: none)",
        choices: &[],
        value: "string",
    },
    Question {
        key: "workload.auditability",
        prompt: "Auditability",
        choices: &["basic", "full"],
        value: "string",
    },
    Question {
        key: "workload.custom_policy_filters",
        prompt: "Needs custom policy filters",
        choices: &["true", "false"],
        value: "bool",
    },
    Question {
        key: "workload.latency",
        prompt: "Latency",
        choices: &["batch", "interactive", "realtime"],
        value: "string",
    },
    Question {
        key: "workload.availability",
        prompt: "Availability",
        choices: &["standard", "high", "critical"],
        value: "string",
    },
    Question {
        key: "workload.air_gapped",
        prompt: "Air-gapped",
        choices: &["true", "false"],
        value: "bool",
    },
    Question {
        key: "operations.patching_cadence_days",
        prompt: "Days to roll out a model-server patch",
        choices: &[],
        value: "integer",
    },
    Question {
        key: "operations.telemetry_review",
        prompt: "Telemetry review",
        choices: &["none", "monthly", "weekly", "daily", "continuous"],
        value: "string",
    },
    Question {
        key: "operations.rotation",
        prompt: "Credential rotation",
        choices: &["manual", "scheduled", "automated"],
        value: "string",
    },
    Question {
        key: "operations.on_call",
        prompt: "On-call for the model path",
        choices: &["true", "false"],
        value: "bool",
    },
    Question {
        key: "operations.team_size",
        prompt: "People operating the model path",
        choices: &[],
        value: "integer",
    },
];

fn invalid(message: String) -> PostureError {
    PostureError::Parse {
        what: "requirements",
        message,
    }
}

impl Requirements {
    /// Parses and validates the TOML format.
    pub fn from_toml(text: &str) -> Result<Requirements, PostureError> {
        let r: Requirements = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        r.validate()?;
        Ok(r)
    }

    /// Builds requirements from questionnaire answers keyed by
    /// [`Question::key`]; an empty answer leaves the field unset.
    pub fn from_answers(answers: &BTreeMap<String, String>) -> Result<Requirements, PostureError> {
        let mut doc = toml::Table::new();
        for q in QUESTIONS {
            let Some(raw) = answers.get(q.key).map(|a| a.trim()) else {
                continue;
            };
            if raw.is_empty() {
                continue;
            }
            let value = match q.value {
                "bool" => toml::Value::Boolean(match raw {
                    "true" | "yes" | "y" => true,
                    "false" | "no" | "n" => false,
                    _ => return Err(invalid(format!("{}: expected yes or no", q.key))),
                }),
                "integer" => toml::Value::Integer(
                    raw.parse()
                        .map_err(|_| invalid(format!("{}: expected a whole number", q.key)))?,
                ),
                "list" => toml::Value::Array(
                    raw.split(',')
                        .map(|s| toml::Value::String(s.trim().to_owned()))
                        .collect(),
                ),
                _ => toml::Value::String(raw.to_owned()),
            };
            let (section, field) = q.key.split_once('.').unwrap_or(("workload", q.key));
            let table = doc
                .entry(section.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = table {
                t.insert(field.to_owned(), value);
            }
        }
        let r: Requirements = toml::Value::Table(doc)
            .try_into()
            .map_err(|e: toml::de::Error| invalid(e.to_string()))?;
        r.validate()?;
        Ok(r)
    }

    fn validate(&self) -> Result<(), PostureError> {
        let w = &self.workload;
        if w.name.trim().is_empty() {
            return Err(invalid("workload.name is empty".to_owned()));
        }
        if w.data_classes.is_empty() {
            return Err(invalid("workload.data_classes lists no class".to_owned()));
        }
        if self.operations.patching_cadence_days == 0 {
            return Err(invalid(
                "operations.patching_cadence_days must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}
