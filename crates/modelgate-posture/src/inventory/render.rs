//! The inventory as an aligned table, JSON, or CSV (RFC 4180 via the `csv`
//! crate, with spreadsheet formula injection neutralised).

use super::{CredentialSummary, InventoryRow};
use crate::error::PostureError;
use crate::time::iso_date;

const HEADERS: [&str; 12] = [
    "id",
    "name",
    "kind",
    "owner",
    "owner_departed",
    "environment",
    "status",
    "credentials",
    "roles",
    "models",
    "upstreams_used",
    "last_activity",
];

fn credential_text(c: &CredentialSummary) -> String {
    let mut s = format!("{} {} {}d", c.id, c.credential_type.as_str(), c.age_days);
    if let Some(e) = c.expires_at {
        s.push_str(&format!(" exp {}", iso_date(e)));
    }
    if let Some(u) = c.last_used_at {
        s.push_str(&format!(" used {}", iso_date(u)));
    }
    if !c.live {
        s.push_str(" (dead)");
    }
    s
}

fn cells(row: &InventoryRow) -> [String; 12] {
    [
        row.id.clone(),
        row.name.clone(),
        row.kind.clone(),
        row.owner.clone().unwrap_or_default(),
        row.owner_departed.to_string(),
        row.environment.clone(),
        row.status.as_str().to_owned(),
        row.credentials
            .iter()
            .map(credential_text)
            .collect::<Vec<_>>()
            .join("; "),
        row.roles.join("; "),
        row.models.join("; "),
        row.upstreams_used.join("; "),
        row.last_activity_at.map(iso_date).unwrap_or_default(),
    ]
}

/// Control characters would let a value rewrite the terminal; show them
/// as `?`.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Aligned columns for a terminal, with a header line; empty cells as `-`.
pub fn render_table(rows: &[InventoryRow]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            cells(r)
                .iter()
                .map(|c| {
                    if c.is_empty() {
                        "-".to_owned()
                    } else {
                        printable(c)
                    }
                })
                .collect()
        })
        .collect();
    let header: Vec<String> = HEADERS.iter().map(|h| h.to_uppercase()).collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for line in &body {
        for (w, c) in widths.iter_mut().zip(line) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for line in std::iter::once(&header).chain(&body) {
        let mut text = String::new();
        for (i, (c, w)) in line.iter().zip(&widths).enumerate() {
            if i + 1 == line.len() {
                text.push_str(c);
            } else {
                text.push_str(c);
                text.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// A pretty JSON array of rows.
pub fn render_json(rows: &[InventoryRow]) -> Result<String, PostureError> {
    serde_json::to_string_pretty(rows).map_err(|e| PostureError::Parse {
        what: "inventory",
        message: e.to_string(),
    })
}

/// A cell that a spreadsheet would run as a formula gets a leading `'`.
fn defuse_formula(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// CSV with a header row; multi-valued cells joined with `; `.
pub fn render_csv(rows: &[InventoryRow]) -> Result<String, PostureError> {
    let csv_err = |e: csv::Error| PostureError::Csv(e.to_string());
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    w.write_record(HEADERS).map_err(csv_err)?;
    for row in rows {
        w.write_record(cells(row).iter().map(|c| defuse_formula(c)))
            .map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| PostureError::Csv(e.error().to_string()))?;
    String::from_utf8(bytes).map_err(|e| PostureError::Csv(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_and_plain_text_kept() {
        assert_eq!(defuse_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse_formula("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse_formula("-1"), "'-1");
        assert_eq!(defuse_formula("team-a"), "team-a");
        assert_eq!(defuse_formula(""), "");
    }

    #[test]
    fn control_characters_do_not_reach_the_terminal() {
        assert_eq!(printable("a\u{1b}[2Jb\n"), "a?[2Jb?");
    }
}
