//! The posture report of one fixture state, in all three formats, against
//! reviewed golden files. `UPDATE_GOLDEN=1 cargo nextest run -p
//! modelgate-posture` rewrites them (review the diff before committing).

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use modelgate_posture::{PostureSettings, PostureSnapshot, Report, ReportFormat};

fn path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(rel)
}

fn check_golden(rel: &str, actual: &str) {
    let file = path(rel);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&file, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", file.display()));
    if expected != actual {
        let line = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
        panic!(
            "{} differs from the rendered output at line {}:\n expected: {:?}\n actual:   {:?}\n(UPDATE_GOLDEN=1 to rewrite after review)",
            file.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line)
        );
    }
}

/// The fixture file is the dirty state, so the CLI can load it too.
fn fixture() -> PostureSnapshot {
    let built = common::dirty();
    let json = serde_json::to_string_pretty(&built).unwrap() + "\n";
    check_golden("fixtures/posture.json", &json);
    let loaded = PostureSnapshot::from_json(
        &std::fs::read_to_string(path("fixtures/posture.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(loaded, built);
    loaded
}

fn report() -> Report {
    Report::build(&fixture(), &PostureSettings::default())
}

#[test]
fn markdown_matches_golden() {
    check_golden(
        "golden/report.md",
        &report().render(ReportFormat::Markdown).unwrap(),
    );
}

#[test]
fn json_matches_golden() {
    let text = report().render(ReportFormat::Json).unwrap();
    check_golden("golden/report.json", &text);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 10);
}

#[test]
fn html_matches_golden_and_is_self_contained() {
    let html = report().render(ReportFormat::Html).unwrap();
    check_golden("golden/report.html", &html);
    let lower = html.to_lowercase();
    for banned in [
        "<script", "<link", "<img", "<iframe", "src=", "href=", "url(", "@import", "http://",
        "https://",
    ] {
        assert!(!lower.contains(banned), "HTML contains {banned}");
    }
    assert!(html.contains("<style>"));
    assert!(html.contains("gpu-lab &amp; &lt;test&gt;"));
    assert!(html.contains("Dana O&#39;Neil &lt;dana@example.com&gt; | ops"));
    assert!(!html.contains("<test>"));
}

#[test]
fn markdown_escapes_hostile_values() {
    let md = report().render(ReportFormat::Markdown).unwrap();
    assert!(md.contains("gpu-lab &amp; &lt;test&gt;"));
    assert!(md.contains("Dana O'Neil &lt;dana@example.com&gt; \\| ops"));
    assert!(!md.contains("<test>"));
}

#[test]
fn format_names_parse() {
    assert_eq!(
        "md".parse::<ReportFormat>().unwrap(),
        ReportFormat::Markdown
    );
    assert_eq!("html".parse::<ReportFormat>().unwrap(), ReportFormat::Html);
    assert_eq!("json".parse::<ReportFormat>().unwrap(), ReportFormat::Json);
    assert!("pdf".parse::<ReportFormat>().is_err());
}

#[test]
fn clean_state_reports_nothing_to_fix() {
    let r = Report::build(&common::clean(), &PostureSettings::default());
    let md = r.render(ReportFormat::Markdown).unwrap();
    assert!(md.contains("No findings."));
    assert!(md.contains("Every upstream is ready."));
}
