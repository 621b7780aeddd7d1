//! The report as GitHub-flavoured Markdown. Every value from the snapshot
//! is escaped, so a name cannot inject markup, links or table cells.

use std::fmt::Write as _;

use super::Report;
use crate::finding::Finding;
use crate::time::iso_datetime;

/// Backslash-escapes Markdown punctuation and HTML brackets; newlines
/// become spaces.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '!' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span (for list items, not table cells) whose fence is longer
/// than any backtick run inside; newlines flattened.
fn code(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>();
    let mut longest = 0;
    let mut run = 0;
    for c in flat.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{flat}{pad}{fence}")
}

fn list(values: &[String]) -> String {
    values
        .iter()
        .map(|v| text(v))
        .collect::<Vec<_>>()
        .join(", ")
}

fn finding(out: &mut String, f: &Finding) {
    let _ = writeln!(out, "#### {} [{}]\n", text(&f.title), f.severity.as_str());
    let _ = writeln!(out, "- id: {}", code(&f.id));
    let e = &f.evidence;
    let identities = e.identities_named();
    for (label, values) in [
        ("identities", &identities),
        ("credentials", &e.credentials),
        ("upstreams", &e.upstreams),
        ("issuers", &e.issuers),
        ("audit records", &e.audit_records),
    ] {
        if !values.is_empty() {
            let _ = writeln!(out, "- {label}: {}", list(values));
        }
    }
    for fact in &e.facts {
        let _ = writeln!(out, "- {}", text(fact));
    }
    let _ = writeln!(out, "- remediation: {}", code(&f.remediation));
    let _ = writeln!(
        out,
        "- NIST CSF 2.0: {}; NIST AI RMF 1.0: {}\n",
        list(&f.frameworks.csf),
        list(&f.frameworks.ai_rmf)
    );
}

pub(super) fn render(r: &Report) -> String {
    let mut out = String::new();
    let s = &r.severity;
    let _ = writeln!(out, "# modelgate posture report\n");
    let _ = writeln!(
        out,
        "State as of {}. {} findings: {} critical, {} high, {} medium, {} low. {} readiness gaps.\n",
        iso_datetime(r.generated_at),
        r.findings.len(),
        s.critical,
        s.high,
        s.medium,
        s.low,
        r.readiness.len()
    );
    let _ = writeln!(out, "## OWASP Non-Human Identities Top 10 (2025)\n");
    let _ = writeln!(out, "| Item | Title | Findings |\n|---|---|---:|");
    for item in &r.items {
        let _ = writeln!(
            out,
            "| {} | {} | {} |",
            item.item.code(),
            item.title,
            item.findings
        );
    }
    let _ = writeln!(out, "\n## Findings\n");
    if r.findings.is_empty() {
        let _ = writeln!(out, "No findings.\n");
    }
    for item in &r.items {
        let mine: Vec<&Finding> = r.findings.iter().filter(|f| f.nhi == item.item).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {} {}\n", item.item.code(), item.title);
        for f in mine {
            finding(&mut out, f);
        }
    }
    let _ = writeln!(out, "## Upstream readiness\n");
    if r.readiness.is_empty() {
        let _ = writeln!(out, "Every upstream is ready.\n");
    } else {
        let _ = writeln!(out, "| Upstream | Missing | Reason |\n|---|---|---|");
        for g in &r.readiness {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                text(&g.upstream),
                g.kind.field(),
                text(&g.reason)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "## Controls the gateway enforces\n");
    let _ = writeln!(
        out,
        "| Control | What it does | NIST CSF 2.0 | NIST AI RMF 1.0 |\n|---|---|---|---|"
    );
    for c in r.controls {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            c.id,
            text(c.description),
            c.csf.join(", "),
            c.ai_rmf.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cannot_break_out() {
        assert_eq!(text("a|b"), "a\\|b");
        assert_eq!(text("<img src=x>"), "&lt;img src=x&gt;");
        assert_eq!(text("[x](http://e)"), "\\[x\\](http://e)");
        assert_eq!(text("l1\nl2"), "l1 l2");
    }

    #[test]
    fn code_spans_outlast_backticks() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a\nb"), "`a b`");
    }
}
