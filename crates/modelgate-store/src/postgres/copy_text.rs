//! Audit entries in PostgreSQL's `COPY ... FROM STDIN` text format: the
//! audit writer's batches go to the server as one `COPY`, which skips the
//! per-row parsing and planning an `INSERT` of arrays costs.
//!
//! The format: one line per row, columns separated by a tab, `\N` for
//! NULL, and a backslash, newline, carriage return or tab inside a value
//! written as `\\`, `\n`, `\r`, `\t`.

use std::fmt::Write as _;

use crate::audit::AuditEntryRow;

/// The `COPY` statement the rows of [`encode`] are for; its column order
/// is theirs.
pub(crate) const COPY_AUDIT_ENTRIES: &str = "COPY audit_entries (replica, seq, checkpoint, time, \
     line, kind, identity, model, decision, action, status, bodies_expire) FROM STDIN";

/// Appends `rows` to `out` in the column order of [`COPY_AUDIT_ENTRIES`].
pub(crate) fn encode(rows: &[AuditEntryRow], out: &mut String) {
    for row in rows {
        text(out, &row.replica);
        out.push('\t');
        int(out, row.seq);
        out.push('\t');
        out.push(if row.checkpoint { 't' } else { 'f' });
        out.push('\t');
        int(out, row.time);
        out.push('\t');
        text(out, &row.line);
        for value in [
            &row.kind,
            &row.identity,
            &row.model,
            &row.decision,
            &row.action,
        ] {
            out.push('\t');
            match value {
                Some(value) => text(out, value),
                None => out.push_str("\\N"),
            }
        }
        for value in [row.status, row.bodies_expire] {
            out.push('\t');
            match value {
                Some(value) => int(out, value),
                None => out.push_str("\\N"),
            }
        }
        out.push('\n');
    }
}

fn int(out: &mut String, value: i64) {
    // Writing to a String cannot fail.
    let _ = write!(out, "{value}");
}

fn text(out: &mut String, value: &str) {
    let mut rest = value;
    while let Some(at) = rest.find(['\\', '\n', '\r', '\t']) {
        out.push_str(&rest[..at]);
        out.push_str(match rest.as_bytes()[at] {
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            _ => "\\t",
        });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> AuditEntryRow {
        AuditEntryRow {
            replica: "r1".to_owned(),
            seq: 7,
            checkpoint: false,
            time: 1_700_000_000_123,
            line: r#"{"a":"x\"y\\z"}"#.to_owned(),
            kind: Some("request".to_owned()),
            identity: None,
            model: Some("gpt\t4\nb\rc".to_owned()),
            decision: Some("allow".to_owned()),
            action: None,
            status: Some(200),
            bodies_expire: None,
        }
    }

    #[test]
    fn values_are_escaped_and_nulls_marked() {
        let mut out = String::new();
        encode(&[row()], &mut out);
        assert_eq!(
            out,
            "r1\t7\tf\t1700000000123\t{\"a\":\"x\\\\\"y\\\\\\\\z\"}\trequest\t\\N\t\
             gpt\\t4\\nb\\rc\tallow\t\\N\t200\t\\N\n"
        );
    }

    #[test]
    fn one_line_per_row_whatever_the_values() {
        let mut checkpoint = row();
        checkpoint.checkpoint = true;
        checkpoint.line = "line\nwith\nnewlines\\".to_owned();
        let mut out = String::new();
        encode(&[row(), checkpoint], &mut out);
        assert_eq!(out.matches('\n').count(), 2);
        assert_eq!(out.lines().nth(1).map(|l| l.split('\t').count()), Some(12));
        assert!(out.contains("\tt\t"));
    }
}
