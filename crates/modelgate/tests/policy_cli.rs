//! The policy commands as a new user meets them (issue 16): `policy test`
//! finds the policies next to the test files when `policy.dir` is not
//! set; a `forbid` without `@reason` gets a warning; `policy replay` names
//! identity, model and time of each changed decision and fails the run
//! under `--fail-on-change`; the shadow decision's reason is recorded.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::*;
use serde_json::json;

const CLOSE_CHAT: &str = "@id(\"close-chat\")\n@reason(\"chat is closed in the candidate set\")\nforbid (principal, action, resource == Model::\"chat\");\n";

/// The example policies and their tests, copied to `dir`.
fn copy_examples(dir: &Path) -> Vec<String> {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policies");
    let mut tests = Vec::new();
    for entry in std::fs::read_dir(examples).unwrap() {
        let path = entry.unwrap().path();
        let target = dir.join(path.file_name().unwrap());
        std::fs::copy(&path, &target).unwrap();
        if target.display().to_string().ends_with(".test.toml") {
            tests.push(target.display().to_string());
        }
    }
    tests.sort();
    tests
}

#[test]
fn policy_test_finds_the_policies_next_to_the_test_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("modelgate.toml");
    std::fs::write(&config, "").unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    let tests = copy_examples(&policies);
    assert_eq!(tests.len(), 6);
    // As docs/policy.md shows it: no --policies, no policy.dir.
    let mut args = vec!["policy", "test"];
    args.extend(tests.iter().map(String::as_str));
    let out = cli_at(&config, &args);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    // The policies really ran: a flipped expectation fails.
    let text = std::fs::read_to_string(&tests[0]).unwrap();
    let flipped = if text.contains("expect = \"deny\"") {
        text.replacen("expect = \"deny\"", "expect = \"allow\"", 1)
    } else {
        text.replacen("expect = \"allow\"", "expect = \"deny\"", 1)
    };
    std::fs::write(&tests[0], flipped).unwrap();
    let out = cli_at(&config, &["policy", "test", &tests[0]]);
    assert!(!out.status.success(), "{}", stdout(&out));
}

#[test]
fn a_forbid_without_reason_gets_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("modelgate.toml");
    std::fs::write(&config, "").unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir(&policies).unwrap();
    std::fs::write(
        policies.join("quiet.cedar"),
        "@id(\"no-secrets\")\nforbid (principal, action, resource)\nwhen { context.findings.has_secret };\n",
    )
    .unwrap();
    std::fs::write(policies.join("told.cedar"), CLOSE_CHAT).unwrap();
    let out = cli_at(&config, &["policy", "check", policies.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let warnings = stderr(&out);
    assert!(
        warnings.contains("warning: ") && warnings.contains("quiet.cedar:"),
        "{warnings}"
    );
    assert!(
        warnings.contains("forbid `no-secrets` has no @reason"),
        "{warnings}"
    );
    assert!(!warnings.contains("close-chat"), "{warnings}");
    assert!(stdout(&out).contains("1 warning"), "{}", stdout(&out));
}

#[tokio::test]
async fn replay_names_who_what_and_when_and_fails_on_change() {
    let mock = MockUpstream::start().await.unwrap();
    let candidate = tempfile::tempdir().unwrap();
    std::fs::write(candidate.path().join("candidate.cedar"), CLOSE_CHAT).unwrap();
    let config = format!(
        "[[upstreams]]\nname = \"u\"\nkind = \"openai\"\nbase_url = \"{}/v1\"\n\
         credential = \"env:MG_TEST_UPSTREAM_KEY\"\nregion = \"eu-west\"\n\
         deployment = \"self_hosted\"\nisolation = \"technical\"\n\
         [[models]]\nname = \"chat\"\ntargets = [{{ upstream = \"u\", model = \"demo-chat\" }}]\n\
         [policy]\nshadow_dir = \"{}\"\n",
        mock.base_url(),
        candidate.path().display()
    );
    let gw = TestGateway::start(&config).await;
    let chat = json!({"model": "chat", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(gw.openai("/v1/chat/completions", &chat).await.status, 200);

    // The shadow set's reason is on the record beside its decision.
    let out = ok(gw.cli(&["audit", "search", "--model", "chat", "--format", "json"]));
    assert!(out.contains("\"shadow_decision\":\"deny\""), "{out}");
    assert!(
        out.contains("\"shadow_reason\":\"chat is closed in the candidate set\""),
        "{out}"
    );

    let dir = candidate.path().to_str().unwrap();
    let out = gw.cli(&["policy", "replay", "--policies", dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = stdout(&out);
    let line = report
        .lines()
        .find(|l| l.contains("allow -> deny"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(line.contains("identity app"), "{line}");
    assert!(line.contains("model chat"), "{line}");
    let year = line
        .split_whitespace()
        .find(|w| w.len() == 20 && w.ends_with('Z'))
        .unwrap_or_else(|| panic!("no time in {line}"));
    assert!(year.starts_with("20"), "{line}");
    assert!(line.contains("[close-chat]"), "{line}");

    let out = gw.cli(&["policy", "replay", "--policies", dir, "--fail-on-change"]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(stderr(&out).contains("would change"), "{}", stderr(&out));

    // Nothing changes against the active (empty) set: the run passes.
    let empty = tempfile::tempdir().unwrap();
    let out = gw.cli(&[
        "policy",
        "replay",
        "--policies",
        empty.path().to_str().unwrap(),
        "--fail-on-change",
    ]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}
