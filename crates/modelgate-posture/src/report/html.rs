//! The report as one self-contained HTML page: inline CSS, no scripts, no
//! external URLs (a Content-Security-Policy forbids loading any), every
//! value escaped.

use std::fmt::Write as _;

use super::Report;
use crate::finding::Finding;
use crate::time::iso_datetime;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;\
color:#1b1b1b;line-height:1.45}h1,h2,h3{line-height:1.2}table{border-collapse:collapse;\
width:100%;margin:0 0 1.5rem}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;\
vertical-align:top}th{background:#f2f2f2}code{background:#f5f5f5;padding:0 .2rem;\
word-break:break-all}.finding{border-left:.3rem solid #999;padding:.2rem 1rem;margin:0 0 1rem}\
.critical{border-color:#8b0000}.high{border-color:#d9480f}.medium{border-color:#e6a700}\
.low{border-color:#4a7}.sev{font-weight:bold;text-transform:uppercase;font-size:.8rem}";

/// Escapes text for element content and double-quoted attributes.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn list(values: &[String]) -> String {
    values.iter().map(|v| esc(v)).collect::<Vec<_>>().join(", ")
}

fn finding(out: &mut String, f: &Finding) {
    let sev = f.severity.as_str();
    let _ = writeln!(out, "<div class=\"finding {sev}\">");
    let _ = writeln!(
        out,
        "<h4><span class=\"sev\">{sev}</span> {}</h4>\n<ul>",
        esc(&f.title)
    );
    let _ = writeln!(out, "<li>id: <code>{}</code></li>", esc(&f.id));
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
            let _ = writeln!(out, "<li>{label}: {}</li>", list(values));
        }
    }
    for fact in &e.facts {
        let _ = writeln!(out, "<li>{}</li>", esc(fact));
    }
    let _ = writeln!(
        out,
        "<li>remediation: <code>{}</code></li>",
        esc(&f.remediation)
    );
    let _ = writeln!(
        out,
        "<li>NIST CSF 2.0: {}; NIST AI RMF 1.0: {}</li>\n</ul>\n</div>",
        list(&f.frameworks.csf),
        list(&f.frameworks.ai_rmf)
    );
}

pub(super) fn render(r: &Report) -> String {
    let mut out = String::new();
    let s = &r.severity;
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <title>modelgate posture report</title>\n<style>{STYLE}</style>\n</head>\n<body>"
    );
    let _ = writeln!(out, "<h1>modelgate posture report</h1>");
    let _ = writeln!(
        out,
        "<p>State as of {}. {} findings: {} critical, {} high, {} medium, {} low. {} readiness gaps.</p>",
        iso_datetime(r.generated_at),
        r.findings.len(),
        s.critical,
        s.high,
        s.medium,
        s.low,
        r.readiness.len()
    );
    let _ = writeln!(
        out,
        "<h2>OWASP Non-Human Identities Top 10 (2025)</h2>\n<table>\n<tr><th>Item</th><th>Title</th><th>Findings</th></tr>"
    );
    for item in &r.items {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            item.item.code(),
            esc(item.title),
            item.findings
        );
    }
    let _ = writeln!(out, "</table>\n<h2>Findings</h2>");
    if r.findings.is_empty() {
        let _ = writeln!(out, "<p>No findings.</p>");
    }
    for item in &r.items {
        let mine: Vec<&Finding> = r.findings.iter().filter(|f| f.nhi == item.item).collect();
        if mine.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<h3>{} {}</h3>", item.item.code(), esc(item.title));
        for f in mine {
            finding(&mut out, f);
        }
    }
    let _ = writeln!(out, "<h2>Upstream readiness</h2>");
    if r.readiness.is_empty() {
        let _ = writeln!(out, "<p>Every upstream is ready.</p>");
    } else {
        let _ = writeln!(
            out,
            "<table>\n<tr><th>Upstream</th><th>Missing</th><th>Reason</th></tr>"
        );
        for g in &r.readiness {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&g.upstream),
                g.kind.field(),
                esc(&g.reason)
            );
        }
        let _ = writeln!(out, "</table>");
    }
    let _ = writeln!(
        out,
        "<h2>Controls the gateway enforces</h2>\n<table>\n<tr><th>Control</th><th>What it does</th><th>NIST CSF 2.0</th><th>NIST AI RMF 1.0</th></tr>"
    );
    for c in r.controls {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(c.id),
            esc(c.description),
            c.csf.join(", "),
            c.ai_rmf.join(", ")
        );
    }
    let _ = writeln!(out, "</table>\n</body>\n</html>");
    out
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
