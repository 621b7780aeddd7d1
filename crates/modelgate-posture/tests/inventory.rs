//! The inventory: rows from the snapshot, and its table, JSON and CSV
//! renderings (CSV quoting and formula neutralising checked by parsing).

#![allow(clippy::unwrap_used)]

mod common;

use modelgate_posture::inventory;
use modelgate_posture::inventory::{render_csv, render_json, render_table, render_wide_table};

#[test]
fn rows_carry_credentials_entitlements_and_upstreams_used() {
    let rows = inventory(&common::clean());
    assert_eq!(rows.len(), 2);
    let search = &rows[1];
    assert_eq!(search.name, "search-rag");
    assert_eq!(search.owner.as_deref(), Some("team-search"));
    let creds: Vec<(&str, bool, i64)> = search
        .credentials
        .iter()
        .map(|c| (c.id.as_str(), c.live, c.age_days))
        .collect();
    assert_eq!(
        creds,
        vec![("key_search0", false, 400), ("key_search1", true, 10)]
    );
    assert_eq!(search.models, vec!["gpt-4o"], "expired JIT grant left out");
    assert_eq!(search.upstreams_used, vec!["openai"]);
    assert_eq!(search.last_activity_at, Some(common::NOW - 7200));
    assert_eq!(rows[0].roles, vec!["ci-caller"]);
}

#[test]
fn table_is_aligned_with_a_header() {
    let table = render_table(&inventory(&common::clean()));
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("NAME "), "{table}");
    let col = lines[0].find("OWNER").unwrap();
    assert!(lines[1][col..].starts_with("team-billing"), "{table}");
    assert!(lines[1].starts_with("billing-ci-prod "), "{table}");
    assert!(lines[2].starts_with("search-rag "), "{table}");
}

#[test]
fn the_default_table_fits_a_terminal_and_wide_has_every_column() {
    let mut s = common::clean();
    let i = common::identity_mut(&mut s, "id_search");
    i.owner = Some("a-very-long-team-name-for-search@example.com".to_owned());
    i.name = "search-retrieval-augmented-generation-prod".to_owned();
    let rows = inventory(&s);
    let table = render_table(&rows);
    for line in table.lines() {
        assert!(
            line.chars().count() <= 120,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    assert!(table.contains("search-retrieval-augm…"), "{table}");
    assert!(table.contains("CREDS"), "{table}");
    let wide = render_wide_table(&rows);
    assert!(wide.lines().next().unwrap().starts_with("ID "), "{wide}");
    assert!(
        wide.contains("a-very-long-team-name-for-search@example.com"),
        "{wide}"
    );
    assert!(wide.contains("UPSTREAMS_USED"), "{wide}");
}

#[test]
fn json_is_an_array_of_rows() {
    let json = render_json(&inventory(&common::clean())).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v[1]["credentials"][1]["type"], "api_key");
    assert_eq!(v[1]["status"], "active");
}

#[test]
fn csv_quotes_and_defuses_hostile_values() {
    let mut s = common::clean();
    let i = common::identity_mut(&mut s, "id_search");
    i.owner = Some("=HYPERLINK(\"http://evil\",\"x\")".to_owned());
    i.kind = "tool, \"quoted\"\nnext line".to_owned();
    let csv_text = render_csv(&inventory(&s)).unwrap();
    assert!(csv_text.starts_with("id,name,kind,owner,"));
    let mut reader = csv::ReaderBuilder::new().from_reader(csv_text.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    let row = &records[1];
    assert_eq!(&row[2], "tool, \"quoted\"\nnext line");
    assert_eq!(&row[3], "'=HYPERLINK(\"http://evil\",\"x\")");
    assert!(row[7].contains("key_search1 api_key 10d"));
    assert!(row[7].contains("key_search0 api_key 400d used 2026-11-15 (dead)"));
}

#[test]
fn empty_inventory_renders_headers_only() {
    let s = modelgate_posture::PostureSnapshot::default();
    assert_eq!(render_csv(&inventory(&s)).unwrap().lines().count(), 1);
    assert_eq!(render_table(&inventory(&s)).lines().count(), 1);
    assert_eq!(render_json(&inventory(&s)).unwrap(), "[]");
}
