//! Loading user policies: every problem is named by file and line, and a
//! set with any problem is refused whole.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use modelgate_policy::{CompiledPolicies, LoadError, PolicyFile, PolicyProblem};

fn problems(files: Vec<PolicyFile>) -> Vec<PolicyProblem> {
    match CompiledPolicies::compile(&common::roles(), files) {
        Err(LoadError::Policies(problems)) => problems,
        other => panic!("expected policy problems, got {other:?}"),
    }
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let text = "@id(\"ok\")\nforbid (principal, action, resource)\nwhen { context.delegation_depth > 2 };\n\n\
                @id(\"broken\")\nforbid (principal, action, resource)\nwhen { context.delegation_depth > };\n";
    let found = problems(vec![
        PolicyFile::new(
            "policies/fine.cedar",
            "permit (principal, action, resource) when { false };\n",
        ),
        PolicyFile::new("policies/broken.cedar", text),
    ]);
    assert!(!found.is_empty());
    for p in &found {
        assert_eq!(p.file.to_str(), Some("policies/broken.cedar"), "{p}");
    }
    assert_eq!(found[0].line, Some(7), "{}", found[0]);
    assert!(found[0].column.is_some());
    let shown = found[0].to_string();
    assert!(shown.starts_with("policies/broken.cedar:7:"), "{shown}");
}

#[test]
fn a_type_error_names_the_line_of_the_expression() {
    let text = "// header\n@id(\"typo\")\nforbid (principal, action, resource)\nwhen {\n  context.upstream.deploymnet == \"hosted\"\n};\n";
    let found = problems(vec![PolicyFile::new("typo.cedar", text)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].line, Some(5), "{}", found[0]);
    assert!(found[0].message.contains("deploymnet"), "{}", found[0]);
}

#[test]
fn unknown_entity_types_and_actions_are_refused() {
    let found = problems(vec![PolicyFile::new(
        "unknown.cedar",
        "permit (principal == User::\"alice\", action, resource);\n\
         permit (principal, action == Action::\"delete\", resource);\n",
    )]);
    let lines: Vec<_> = found.iter().map(|p| p.line).collect();
    assert!(lines.contains(&Some(1)), "{found:?}");
    assert!(lines.contains(&Some(2)), "{found:?}");
}

#[test]
fn optional_attributes_need_a_has_guard() {
    let found = problems(vec![PolicyFile::new(
        "unguarded.cedar",
        "forbid (principal, action, resource)\nwhen { context.max_tokens > 4096 };\n",
    )]);
    assert_eq!(found.len(), 1, "one problem, not one per action: {found:?}");
    assert_eq!(found[0].line, Some(2));
    assert!(
        found[0].message.contains("`unguarded.cedar#1`"),
        "{}",
        found[0]
    );
    assert!(!found[0].message.contains("policy0"), "{}", found[0]);
    let guarded = "forbid (principal, action, resource)\nwhen { context has max_tokens && context.max_tokens > 4096 };\n";
    assert!(CompiledPolicies::compile(&[], vec![PolicyFile::new("g.cedar", guarded)]).is_ok());
}

#[test]
fn ids_must_be_unique_and_not_reserved() {
    let found = problems(vec![
        PolicyFile::new(
            "a.cedar",
            "@id(\"same\")\nforbid (principal, action, resource) when { false };\n",
        ),
        PolicyFile::new(
            "b.cedar",
            "// b\n\n@id(\"same\")\nforbid (principal, action, resource) when { false };\n\
             @id(\"role:chat\")\nforbid (principal, action, resource) when { false };\n\
             @id(\"builtin:mine\")\nforbid (principal, action, resource) when { false };\n\
             @id(\"\")\nforbid (principal, action, resource) when { false };\n",
        ),
    ]);
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(found.iter().all(|p| p.file.to_str() == Some("b.cedar")));
    assert_eq!(found[0].line, Some(3));
    assert!(found[0].message.contains("used twice"));
    assert!(found[1].message.contains("reserved"));
    assert_eq!(found[1].line, Some(5));
    assert!(found[2].message.contains("reserved"));
    assert!(found[3].message.contains("empty"));
}

#[test]
fn templates_are_refused_with_their_line() {
    let found = problems(vec![PolicyFile::new(
        "t.cedar",
        "forbid (principal, action, resource) when { false };\npermit (principal == ?principal, action, resource);\n",
    )]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].line, Some(2));
    assert!(found[0].message.contains("templates"));
}

#[test]
fn policies_without_id_are_named_by_file_and_position() {
    let set = CompiledPolicies::compile(
        &[],
        vec![PolicyFile::new(
            "dir/rules.cedar",
            "forbid (principal, action, resource) when { false };\n@id(\"named\")\nforbid (principal, action, resource) when { false };\nforbid (principal, action, resource) when { false };\n",
        )],
    )
    .unwrap();
    let ids = set.policy_ids();
    for id in [
        "rules.cedar#1",
        "named",
        "rules.cedar#3",
        "builtin:inactive-identity",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
}

#[test]
fn every_problem_of_every_file_is_reported() {
    let found = problems(vec![
        PolicyFile::new(
            "one.cedar",
            "forbid (principal, action, resource) when { context.nope };\n",
        ),
        PolicyFile::new("two.cedar", "forbid (principal action resource);\n"),
    ]);
    assert!(found.iter().any(|p| p.file.to_str() == Some("one.cedar")));
    assert!(found.iter().any(|p| p.file.to_str() == Some("two.cedar")));
}

#[test]
fn invalid_roles_are_refused_before_policies() {
    let mut roles = common::roles();
    roles[0].name = "has space".into();
    let err = CompiledPolicies::compile(&roles, vec![]).unwrap_err();
    assert!(matches!(err, LoadError::Role(_)), "{err}");
}

#[test]
fn builtin_text_shows_roles_and_baseline_and_parses_back() {
    let set = CompiledPolicies::compile(&common::roles(), vec![]).unwrap();
    let text = set.builtin_text();
    assert!(text.contains("@id(\"builtin:inactive-identity\")"));
    assert!(text.contains("@id(\"role:chat\")"));
    assert!(text.contains("@id(\"role:capped\")"));
    assert!(text.contains("context.max_tokens <= 1000"));
    assert_eq!(set.len(), 4);
    // The shown text is itself a valid policy file (ids aside).
    let reparsed = text.replace("@id(\"", "@id(\"copy-");
    assert!(
        CompiledPolicies::compile(&common::roles(), vec![PolicyFile::new("b.cedar", reparsed)])
            .is_ok()
    );
}

#[test]
fn the_schema_is_exposed_and_mentions_every_action() {
    for action in [
        "chat",
        "completions",
        "embeddings",
        "messages",
        "models.list",
    ] {
        assert!(
            modelgate_policy::SCHEMA.contains(&format!("\"{action}\"")),
            "{action}"
        );
    }
}
