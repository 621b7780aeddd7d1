//! How commands print: the listing format, times for people, and aligned
//! tables.

use std::time::{Duration, UNIX_EPOCH};

use clap::ValueEnum;

/// Output format for listings.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum Format {
    /// Aligned columns.
    #[default]
    Table,
    /// A JSON array.
    Json,
}

/// RFC 3339 time for people.
pub fn time(at: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(at.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

/// A time for people, or `-`.
pub fn optional_time(at: Option<i64>) -> String {
    at.map(time).unwrap_or_else(|| "-".to_owned())
}

/// Prints rows as aligned columns.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        line(row.clone());
    }
}
