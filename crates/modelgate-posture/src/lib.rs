//! Posture of modelgate's non-human identities, as pure logic over a
//! snapshot: the inventory, findings tied to the OWASP Non-Human Identities
//! Top 10 (2025) with evidence and a remediation command, their mapping to
//! NIST CSF 2.0 and NIST AI RMF 1.0, the posture report (Markdown, JSON,
//! self-contained HTML), upstream ownership readiness, access reviews, and
//! the hosted-vs-self-hosted assessment.
//!
//! This crate owns no I/O beyond parsing documents handed to it: no HTTP,
//! no store, no audit writes, and it must not depend on other modelgate
//! crates. The caller fills a [`PostureSnapshot`] from the store and the
//! audit log (or a JSON fixture) and wires the CLI and admin API.

pub mod assess;
mod checks;
mod entitlement;
pub mod error;
mod family;
pub mod finding;
pub mod frameworks;
pub mod inventory;
pub mod readiness;
pub mod report;
pub mod review;
pub mod settings;
mod signals;
pub mod snapshot;
pub mod time;

pub use assess::{Assessment, Recommendation, Requirements, assess};
pub use checks::findings;
pub use error::PostureError;
pub use finding::{Evidence, Finding, FindingFamily, NhiItem, Severity};
pub use inventory::{InventoryRow, inventory};
pub use readiness::{GapKind, ReadinessGap, readiness, route_allowed};
pub use report::{Report, ReportFormat};
pub use review::{Review, ReviewAnswer, ReviewDecision, ReviewItem};
pub use settings::PostureSettings;
pub use snapshot::PostureSnapshot;

impl PostureSnapshot {
    /// Parses a snapshot from JSON (fixtures, or the admin API's export).
    pub fn from_json(text: &str) -> Result<PostureSnapshot, PostureError> {
        serde_json::from_str(text).map_err(|e| PostureError::Parse {
            what: "snapshot",
            message: e.to_string(),
        })
    }
}
