//! The live engine: reload keeps the last good set, shadow differences are
//! recorded and not enforced, replay lists changed decisions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;

use common::{facts, roles};
use modelgate_policy::{
    CompiledPolicies, LoadError, PolicyEngine, PolicyFile, RecordedDecision, replay,
};

const NO_HOSTED: &str = "@id(\"no-hosted\")\n@reason(\"no hosted upstreams\")\n\
    forbid (principal, action, resource) when { context.upstream.deployment == \"hosted\" };\n";

#[test]
fn reload_installs_a_valid_set() {
    let dir = tempfile::tempdir().unwrap();
    let engine = PolicyEngine::new(CompiledPolicies::compile(&roles(), vec![]).unwrap());
    assert!(engine.decide(&facts(&["chat"])).allowed);

    fs::write(dir.path().join("no-hosted.cedar"), NO_HOSTED).unwrap();
    fs::write(dir.path().join("notes.txt"), "not a policy").unwrap();
    let summary = engine.reload(&roles(), dir.path()).unwrap();
    assert_eq!(summary.files, 1);
    assert_eq!(summary.policies, 5);
    assert!(!engine.decide(&facts(&["chat"])).allowed);
}

#[test]
fn a_malformed_file_leaves_the_previous_set_enforcing() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a-no-hosted.cedar"), NO_HOSTED).unwrap();
    let engine = PolicyEngine::new(CompiledPolicies::from_dir(&roles(), dir.path()).unwrap());
    let before = engine.active();

    // Loosen the good file and break another: nothing of it may apply.
    fs::write(dir.path().join("a-no-hosted.cedar"), "// emptied\n").unwrap();
    fs::write(
        dir.path().join("b-broken.cedar"),
        "@id(\"x\")\nforbid (principal, action, resource)\nwhen { context.data_class == };\n",
    )
    .unwrap();
    let err = engine.reload(&roles(), dir.path()).unwrap_err();
    let problem = &err.problems()[0];
    assert!(problem.file.ends_with("b-broken.cedar"), "{err}");
    assert_eq!(problem.line, Some(3), "{err}");
    assert!(err.to_string().contains("b-broken.cedar:3:"), "{err}");

    assert!(std::sync::Arc::ptr_eq(&before, &engine.active()));
    let d = engine.decide(&facts(&["chat"]));
    assert!(!d.allowed);
    assert_eq!(d.reason.as_deref(), Some("no hosted upstreams"));
}

#[test]
fn an_unreadable_directory_leaves_the_previous_set() {
    let engine = PolicyEngine::new(CompiledPolicies::compile(&roles(), vec![]).unwrap());
    let err = engine
        .reload(&roles(), std::path::Path::new("/nonexistent/policies"))
        .unwrap_err();
    assert!(matches!(err, LoadError::Read { .. }), "{err}");
    assert!(engine.decide(&facts(&["chat"])).allowed);
}

#[test]
fn shadow_differences_are_recorded_not_enforced() {
    let engine = PolicyEngine::new(CompiledPolicies::compile(&roles(), vec![]).unwrap());
    let candidate =
        CompiledPolicies::compile(&roles(), vec![PolicyFile::new("c.cedar", NO_HOSTED)]).unwrap();
    engine.set_shadow(Some(candidate));

    let d = engine.decide(&facts(&["chat"]));
    assert!(d.allowed, "the shadow set must not be enforced");
    let shadow = d.shadow.expect("difference recorded");
    assert!(!shadow.allowed);
    assert_eq!(shadow.reason.as_deref(), Some("no hosted upstreams"));
    assert_eq!(shadow.policy_ids, vec!["no-hosted".to_owned()]);
    assert_eq!(engine.shadow_differences(), 1);

    // Agreement is not recorded.
    let mut self_hosted = facts(&["chat"]);
    self_hosted.upstream.deployment = modelgate_policy::Deployment::SelfHosted;
    assert_eq!(engine.decide(&self_hosted).shadow, None);
    let mut denied_by_both = facts(&[]);
    denied_by_both.upstream.deployment = modelgate_policy::Deployment::SelfHosted;
    assert_eq!(engine.decide(&denied_by_both).shadow, None);
    assert_eq!(engine.shadow_differences(), 1);

    engine.set_shadow(None);
    assert_eq!(engine.decide(&facts(&["chat"])).shadow, None);
}

#[test]
fn a_bad_shadow_set_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.cedar"), "forbid (;\n").unwrap();
    let engine = PolicyEngine::new(CompiledPolicies::compile(&roles(), vec![]).unwrap());
    assert!(engine.load_shadow(&roles(), dir.path()).is_err());
    assert!(engine.shadow().is_none());
}

#[test]
fn replay_lists_only_changed_decisions() {
    let active = CompiledPolicies::compile(&roles(), vec![]).unwrap();
    let candidate =
        CompiledPolicies::compile(&roles(), vec![PolicyFile::new("c.cedar", NO_HOSTED)]).unwrap();
    let mut self_hosted = facts(&["chat"]);
    self_hosted.upstream.deployment = modelgate_policy::Deployment::SelfHosted;
    let records = [
        ("r1", facts(&["chat"])),
        ("r2", self_hosted),
        ("r3", facts(&[])),
    ]
    .map(|(id, f)| {
        let recorded = RecordedDecision::from(&active.decide(&f));
        (id, f, recorded)
    });
    let changes = replay(&candidate, records);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].record, "r1");
    assert!(changes[0].recorded.allowed);
    assert!(!changes[0].candidate.allowed);
    assert_eq!(
        changes[0].candidate.policy_ids,
        vec!["no-hosted".to_owned()]
    );
}

#[test]
fn the_engine_is_shared_across_threads() {
    let engine = std::sync::Arc::new(PolicyEngine::new(
        CompiledPolicies::compile(&roles(), vec![]).unwrap(),
    ));
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("p.cedar"), NO_HOSTED).unwrap();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let d = engine.decide(&facts(&["chat"]));
                    // Either set, never a mix.
                    assert!(d.allowed || d.reason.as_deref() == Some("no hosted upstreams"));
                }
            })
        })
        .collect();
    engine.reload(&roles(), dir.path()).unwrap();
    for r in readers {
        r.join().unwrap();
    }
    assert!(!engine.decide(&facts(&["chat"])).allowed);
}
