//! User policy files: reading, parsing, validating, naming.
//!
//! Every problem is reported with the file and the line and column where
//! Cedar placed it; a `forbid` without `@reason` is a warning, at its place. Policies are named by their `@id("...")` annotation, or
//! `FILE#N` (the N-th policy of the file) when they have none.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cedar_policy::{Effect, Policy, PolicyId, PolicySet, ValidationMode, Validator};
use miette::Diagnostic;

use crate::decision::GENERIC_FORBID_REASON;
use crate::error::{LoadError, PolicyProblem};

/// Id prefixes reserved for the policies this crate generates.
pub const RESERVED_ID_PREFIXES: [&str; 2] = ["role:", "builtin:"];

/// The text of one policy file and the name it is reported under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyFile {
    /// Path or label used in ids and error messages.
    pub name: PathBuf,
    /// Cedar policy text.
    pub text: String,
}

impl PolicyFile {
    /// A policy file from its name and text.
    pub fn new(name: impl Into<PathBuf>, text: impl Into<String>) -> PolicyFile {
        PolicyFile {
            name: name.into(),
            text: text.into(),
        }
    }
}

/// Reads every `*.cedar` file directly in `dir`, sorted by file name.
pub fn read_policy_dir(dir: &Path) -> Result<Vec<PolicyFile>, LoadError> {
    let read_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LoadError::Read { path, source }
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err(dir))? {
        let path = entry.map_err(read_err(dir))?.path();
        if path.extension().is_some_and(|e| e == "cedar") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(read_err(&path))?;
            Ok(PolicyFile::new(path, text))
        })
        .collect()
}

/// A user policy after parsing, validation and naming.
#[derive(Clone, Debug)]
pub(crate) struct NamedPolicy {
    /// The policy, carrying its final id.
    pub policy: Policy,
    /// Its `@reason`, if any.
    pub reason: Option<String>,
    /// What is legal but likely a mistake (a `forbid` without `@reason`).
    pub warning: Option<PolicyProblem>,
}

/// Parses and validates every file; names the policies. Ids in `taken` (and
/// the reserved prefixes) may not be reused; new ids are added to it.
pub(crate) fn parse_files(
    files: &[PolicyFile],
    validator: &Validator,
    taken: &mut HashSet<String>,
) -> Result<Vec<NamedPolicy>, Vec<PolicyProblem>> {
    let mut problems = Vec::new();
    let mut named = Vec::new();
    for file in files {
        match parse_file(file, validator, taken) {
            Ok(mut policies) => named.append(&mut policies),
            Err(mut found) => problems.append(&mut found),
        }
    }
    if problems.is_empty() {
        Ok(named)
    } else {
        Err(problems)
    }
}

fn parse_file(
    file: &PolicyFile,
    validator: &Validator,
    taken: &mut HashSet<String>,
) -> Result<Vec<NamedPolicy>, Vec<PolicyProblem>> {
    let here = |offset: Option<usize>, message: String| {
        let (line, column) = match offset {
            Some(offset) => {
                let (l, c) = line_column(&file.text, offset);
                (Some(l), Some(c))
            }
            None => (None, None),
        };
        PolicyProblem {
            file: file.name.clone(),
            line,
            column,
            message,
        }
    };
    let set = match PolicySet::from_str(&file.text) {
        Ok(set) => set,
        Err(errors) => {
            return Err(errors
                .iter()
                .map(|e| here(first_label_offset(e), e.to_string()))
                .collect());
        }
    };
    let mut problems = Vec::new();
    let mut cursor = 0;
    for template in set.templates() {
        let offset = locate(&file.text, &template.to_cedar(), &mut cursor);
        problems.push(here(
            offset,
            "templates (policies with ?principal or ?resource) are not supported".into(),
        ));
    }
    // Cedar names parsed policies policy0, policy1, ... in file order.
    let mut policies: Vec<(usize, &Policy)> =
        set.policies().map(|p| (parsed_index(p.id()), p)).collect();
    policies.sort_by_key(|(index, _)| *index);
    let mut cursor = 0;
    let starts: Vec<Option<usize>> = policies
        .iter()
        .map(|(_, p)| {
            p.to_cedar()
                .and_then(|text| locate(&file.text, &text, &mut cursor))
        })
        .collect();

    let file_label = file
        .name
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.name.display().to_string());
    let mut named = Vec::with_capacity(policies.len());
    for (n, ((_, policy), start)) in policies.iter().zip(&starts).enumerate() {
        let id = match policy.annotation("id") {
            Some(id) => id.to_owned(),
            None => format!("{file_label}#{}", n + 1),
        };
        if id.is_empty() {
            problems.push(here(*start, "@id must not be empty".into()));
        } else if let Some(prefix) = RESERVED_ID_PREFIXES.iter().find(|p| id.starts_with(**p)) {
            problems.push(here(
                *start,
                format!(
                    "policy id {id:?}: the prefix {prefix:?} is reserved for built-in policies"
                ),
            ));
        } else if !taken.insert(id.clone()) {
            problems.push(here(*start, format!("policy id {id:?} is used twice")));
        }
        let reason = policy.annotation("reason").map(str::to_owned);
        let warning = (policy.effect() == Effect::Forbid && reason.is_none()).then(|| {
            here(
                *start,
                format!(
                    "forbid `{id}` has no @reason: a caller it denies is told only \"{GENERIC_FORBID_REASON}\""
                ),
            )
        });
        named.push(NamedPolicy {
            reason,
            warning,
            policy: policy.new_id(PolicyId::new(&id)),
        });
    }

    // Cedar reports one problem per action a policy applies to; report it
    // once, and under the policy's final id.
    let result = validator.validate(&set, ValidationMode::Strict);
    let mut seen = HashSet::new();
    for error in result.validation_errors() {
        let at = policies
            .iter()
            .position(|(_, p)| p.id() == error.policy_id());
        let offset = first_label_offset(error).or_else(|| at.and_then(|i| starts[i]));
        let mut message = without_action(&error.to_string());
        if let Some(i) = at {
            let cedar_id = format!("`{}`", error.policy_id());
            let final_id = format!("`{}`", named[i].policy.id());
            message = message.replacen(&cedar_id, &final_id, 1);
        }
        if seen.insert((offset, message.clone())) {
            problems.push(here(offset, message));
        }
    }
    if problems.is_empty() {
        Ok(named)
    } else {
        Err(problems)
    }
}

/// A validation message without its trailing ` for Action::"..."`.
fn without_action(message: &str) -> String {
    const MARK: &str = " for Action::\"";
    if let Some(start) = message.find(MARK) {
        let rest = &message[start + MARK.len()..];
        if let Some(end) = rest.find('"') {
            return format!("{}{}", &message[..start], &rest[end + 1..]);
        }
    }
    message.to_owned()
}

/// The index Cedar gave a parsed policy (`policy7` → 7).
fn parsed_index(id: &PolicyId) -> usize {
    AsRef::<str>::as_ref(id)
        .strip_prefix("policy")
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX)
}

/// Finds `needle` in `text` at or after `cursor`, and moves the cursor past
/// it (policies appear in file order).
fn locate(text: &str, needle: &str, cursor: &mut usize) -> Option<usize> {
    let found = text.get(*cursor..)?.find(needle)? + *cursor;
    *cursor = found + needle.len();
    Some(found)
}

fn first_label_offset(diagnostic: &dyn Diagnostic) -> Option<usize> {
    diagnostic
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset())
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_from_one() {
        let text = "ab\ncdé\nf";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 1), (1, 2));
        assert_eq!(line_column(text, 3), (2, 1));
        // 'f' follows the two-byte 'é'.
        assert_eq!(line_column(text, 8), (3, 1));
        // Inside 'é' rounds down to its start; past the end clamps.
        assert_eq!(line_column(text, 6), (2, 3));
        assert_eq!(line_column(text, 100), (3, 2));
    }

    #[test]
    fn action_is_cut_from_validation_messages() {
        assert_eq!(
            without_action("access to `x` in context for Action::\"models.list\""),
            "access to `x` in context"
        );
        assert_eq!(without_action("no action here"), "no action here");
        assert_eq!(
            without_action("open for Action::\"x"),
            "open for Action::\"x"
        );
    }

    #[test]
    fn a_forbid_without_reason_is_a_warning_with_its_place() {
        let text = "@id(\"told\")\n@reason(\"no pii\")\nforbid (principal, action, resource)\n\
                    when { context.findings.has_pii };\n\
                    @id(\"quiet\")\nforbid (principal, action, resource)\n\
                    when { context.findings.has_secret };\n\
                    permit (principal, action, resource);\n";
        let set =
            crate::CompiledPolicies::compile(&[], vec![PolicyFile::new("p.cedar", text)]).unwrap();
        let warnings = set.warnings();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].message.contains("`quiet` has no @reason"));
        assert!(
            warnings[0].line.is_some_and(|l| l >= 5),
            "{:?}",
            warnings[0]
        );
    }

    #[test]
    fn locate_moves_forward() {
        let mut cursor = 0;
        let text = "xx permit; yy permit;";
        assert_eq!(locate(text, "permit;", &mut cursor), Some(3));
        assert_eq!(locate(text, "permit;", &mut cursor), Some(14));
        assert_eq!(locate(text, "permit;", &mut cursor), None);
    }
}
