//! What the report holds: counts by severity and OWASP item, the findings,
//! readiness gaps and the control catalogue, built from a snapshot.

use serde::Serialize;

use crate::finding::{Finding, NhiItem, Severity};
use crate::frameworks::{CONTROLS, Control};
use crate::readiness::{ReadinessGap, readiness};
use crate::settings::PostureSettings;
use crate::snapshot::{PostureSnapshot, UnixSeconds};

/// Findings per OWASP item.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ItemSummary {
    /// The item.
    pub item: NhiItem,
    /// Its OWASP title.
    pub title: &'static str,
    /// Findings under it.
    pub findings: usize,
}

/// Counts by severity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SeverityCounts {
    /// Critical findings.
    pub critical: usize,
    /// High findings.
    pub high: usize,
    /// Medium findings.
    pub medium: usize,
    /// Low findings.
    pub low: usize,
}

/// Everything the report shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The snapshot time.
    pub generated_at: UnixSeconds,
    /// Counts by severity.
    pub severity: SeverityCounts,
    /// Counts by OWASP item (all ten, zeros included).
    pub items: Vec<ItemSummary>,
    /// The findings.
    pub findings: Vec<Finding>,
    /// Upstream readiness gaps.
    pub readiness: Vec<ReadinessGap>,
    /// Controls the gateway enforces and their framework mapping.
    pub controls: &'static [Control],
}

impl Report {
    /// Builds the report of a snapshot.
    pub fn build(snapshot: &PostureSnapshot, settings: &PostureSettings) -> Report {
        Report::from_parts(
            snapshot.now,
            crate::findings(snapshot, settings),
            readiness(&snapshot.upstreams),
        )
    }

    /// Builds a report from findings and gaps computed elsewhere.
    pub fn from_parts(
        generated_at: UnixSeconds,
        findings: Vec<Finding>,
        readiness: Vec<ReadinessGap>,
    ) -> Report {
        let mut severity = SeverityCounts::default();
        for f in &findings {
            match f.severity {
                Severity::Critical => severity.critical += 1,
                Severity::High => severity.high += 1,
                Severity::Medium => severity.medium += 1,
                Severity::Low => severity.low += 1,
            }
        }
        let items = NhiItem::ALL
            .iter()
            .map(|&item| ItemSummary {
                item,
                title: item.title(),
                findings: findings.iter().filter(|f| f.nhi == item).count(),
            })
            .collect();
        Report {
            generated_at,
            severity,
            items,
            findings,
            readiness,
            controls: CONTROLS,
        }
    }
}
