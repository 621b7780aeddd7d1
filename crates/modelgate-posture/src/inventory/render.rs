//! The inventory as an aligned table (compact, to fit a terminal, or wide
//! with every column), JSON, or CSV (RFC 4180 via the `csv` crate, with
//! spreadsheet formula injection neutralised).

use super::{CredentialSummary, InventoryRow};
use crate::error::PostureError;
use crate::time::iso_date;

const HEADERS: [&str; 13] = [
    "id",
    "name",
    "kind",
    "owner",
    "owner_departed",
    "environment",
    "status",
    "credentials",
    "roles",
    "admin",
    "models",
    "upstreams_used",
    "last_activity",
];

/// The compact table's columns: header and widest cell (longer cells are
/// cut with `…`), so that a row fits in 120 columns.
const COMPACT: [(&str, usize); 8] = [
    ("NAME", 22),
    ("KIND", 9),
    ("OWNER", 20),
    ("ENV", 8),
    ("STATUS", 10),
    ("CREDS", 7),
    ("ROLES", 16),
    ("LAST ACTIVITY", 13),
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

fn cells(row: &InventoryRow) -> [String; 13] {
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
        row.admin.clone().unwrap_or_default(),
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

/// The compact cells of a row: the roles with the admin role first, the
/// credentials as `live/all`.
fn compact_cells(row: &InventoryRow) -> Vec<String> {
    let live = row.credentials.iter().filter(|c| c.live).count();
    let roles: Vec<String> = row
        .admin
        .iter()
        .map(|scope| format!("admin:{scope}"))
        .chain(row.roles.iter().cloned())
        .collect();
    vec![
        row.name.clone(),
        row.kind.clone(),
        row.owner.clone().unwrap_or_default(),
        row.environment.clone(),
        row.status.as_str().to_owned(),
        format!("{live}/{}", row.credentials.len()),
        roles.join(","),
        row.last_activity_at.map(iso_date).unwrap_or_default(),
    ]
}

/// `cell`, cut to `width` characters with a trailing `…` when longer.
fn cut(cell: &str, width: usize) -> String {
    if cell.chars().count() <= width {
        return cell.to_owned();
    }
    let mut out: String = cell.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The compact table for a terminal: name, kind, owner, environment,
/// status, live/all credentials, roles (the admin role first) and last
/// activity, each cell cut to fit 120 columns. `render_wide_table` has
/// every column.
pub fn render_table(rows: &[InventoryRow]) -> String {
    let header: Vec<String> = COMPACT.iter().map(|(h, _)| (*h).to_owned()).collect();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            compact_cells(r)
                .iter()
                .zip(COMPACT)
                .map(|(c, (_, width))| cut(&shown(c), width))
                .collect()
        })
        .collect();
    aligned(&header, &body)
}

/// Every column (as in CSV), aligned; cells are not cut.
pub fn render_wide_table(rows: &[InventoryRow]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| cells(r).iter().map(|c| shown(c)).collect())
        .collect();
    let header: Vec<String> = HEADERS.iter().map(|h| h.to_uppercase()).collect();
    aligned(&header, &body)
}

/// A cell as a terminal shows it: `-` when empty, controls as `?`.
fn shown(cell: &str) -> String {
    if cell.is_empty() {
        "-".to_owned()
    } else {
        printable(cell)
    }
}

/// Aligned columns with a header line.
fn aligned(header: &[String], body: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for line in body {
        for (w, c) in widths.iter_mut().zip(line) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for line in std::iter::once(header).chain(body.iter().map(Vec::as_slice)) {
        let mut text = String::new();
        for (i, (c, w)) in line.iter().zip(&widths).enumerate() {
            text.push_str(c);
            if i + 1 != line.len() {
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
    fn long_cells_are_cut_to_their_column() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abcd", 4), "abcd");
    }

    #[test]
    fn control_characters_do_not_reach_the_terminal() {
        assert_eq!(printable("a\u{1b}[2Jb\n"), "a?[2Jb?");
    }
}
