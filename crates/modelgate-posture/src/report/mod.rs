//! The posture report: findings, readiness gaps and the control catalogue,
//! rendered as Markdown, JSON or a self-contained HTML page.

mod contents;
mod html;
mod markdown;

pub use contents::{ItemSummary, Report, SeverityCounts};

use std::str::FromStr;

use crate::error::PostureError;

/// Output format of `modelgate posture report --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// GitHub-flavoured Markdown.
    Markdown,
    /// Pretty JSON.
    Json,
    /// One self-contained HTML file (inline CSS, no external URLs).
    Html,
}

impl FromStr for ReportFormat {
    type Err = PostureError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "md" | "markdown" => Ok(ReportFormat::Markdown),
            "json" => Ok(ReportFormat::Json),
            "html" => Ok(ReportFormat::Html),
            _ => Err(PostureError::Parse {
                what: "report format",
                message: "expected md, json or html".to_owned(),
            }),
        }
    }
}

impl Report {
    /// Renders the report.
    pub fn render(&self, format: ReportFormat) -> Result<String, PostureError> {
        match format {
            ReportFormat::Markdown => Ok(markdown::render(self)),
            ReportFormat::Html => Ok(html::render(self)),
            ReportFormat::Json => serde_json::to_string_pretty(self)
                .map(|mut s| {
                    s.push('\n');
                    s
                })
                .map_err(|e| PostureError::Parse {
                    what: "report",
                    message: e.to_string(),
                }),
        }
    }
}
