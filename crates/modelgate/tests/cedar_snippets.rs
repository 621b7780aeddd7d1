//! Every Cedar snippet the product prints validates against the product's
//! own schema: the policy in the configuration `modelgate assess` writes
//! (every recommendation path), the Cedar in posture remediation texts
//! (every finding family of the complete fixture; the built-in set that
//! `policy show --builtin` prints is validated whenever it compiles), and
//! every ```` ```cedar ```` block of `docs/`. A snippet that only parses is not
//! enough: the generated data-class rule must also deny what it says it
//! denies, on the facts the gateway fills at runtime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use modelgate_policy::{CompiledPolicies, PolicyFile, run_test_text};
use modelgate_posture::{PostureSettings, PostureSnapshot, Recommendation, Requirements, assess};

const OPERATIONS: [&str; 2] = [
    "[operations]\npatching_cadence_days = 14\ntelemetry_review = \"daily\"\nrotation = \"automated\"\non_call = true\nteam_size = 4\n",
    "[operations]\npatching_cadence_days = 90\ntelemetry_review = \"monthly\"\nrotation = \"manual\"\non_call = false\nteam_size = 1\n",
];
const CLASSES: [&str; 4] = ["public", "internal", "confidential", "regulated"];

/// Compiles `text` as a user policy file; panics with every problem.
fn validate(label: &str, text: &str) -> CompiledPolicies {
    CompiledPolicies::compile(&[], vec![PolicyFile::new(label, text)])
        .unwrap_or_else(|e| panic!("{label}: the product printed invalid Cedar: {e}\n{text}"))
}

/// The Cedar in the comment block of an assess configuration.
fn assess_cedar(config: &str) -> String {
    let (_, after) = config
        .split_once("Cedar policy")
        .expect("the configuration carries the Cedar rule");
    after
        .lines()
        .skip(2)
        .filter_map(|l| l.strip_prefix("#   "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every requirements profile: each non-empty set of data classes, air
/// gapped or not, with or without residency, a mature team or a small one.
fn every_profile() -> Vec<(String, Requirements)> {
    let mut out = Vec::new();
    for mask in 1u8..16 {
        let classes: Vec<String> = CLASSES
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, c)| format!("\"{c}\""))
            .collect();
        for air_gapped in [false, true] {
            for residency in ["", "residency = \"eu-central\"\n"] {
                for ops in OPERATIONS {
                    let text = format!(
                        "[workload]\nname = \"claims\"\ndata_classes = [{}]\n{residency}\
                         auditability = \"full\"\ncustom_policy_filters = true\n\
                         latency = \"interactive\"\navailability = \"high\"\n\
                         air_gapped = {air_gapped}\n{ops}",
                        classes.join(", ")
                    );
                    let label = format!("classes={classes:?} air_gapped={air_gapped} {residency}");
                    out.push((label, Requirements::from_toml(&text).unwrap()));
                }
            }
        }
    }
    out
}

#[test]
fn every_assess_snippet_validates_against_the_schema() {
    let mut checked = 0;
    for (label, requirements) in every_profile() {
        let assessment = assess(&requirements);
        let Some(config) = assessment.config else {
            assert_eq!(assessment.recommendation, Recommendation::Refused);
            continue;
        };
        let cedar = assess_cedar(&config);
        assert!(cedar.contains("forbid"), "{label}: no rule in\n{config}");
        validate(&label, &cedar);
        checked += 1;
    }
    assert!(checked > 50, "only {checked} profiles gave a configuration");
}

/// The hybrid rule keeps a restricted (regulated) prompt off the hosted
/// upstream and lets an internal one through: it conditions on what the
/// gateway really puts in `context`, not on a class name it never uses.
#[test]
fn the_generated_data_class_rule_denies_what_it_says() {
    let (_, requirements) = every_profile()
        .into_iter()
        .find(|(_, r)| assess(r).recommendation == Recommendation::Hybrid)
        .unwrap();
    let cedar = assess_cedar(&assess(&requirements).config.unwrap());
    let set = validate("hybrid", &cedar);
    let tests = r#"
[[role]]
name = "claims-caller"
models = ["claims-chat"]
actions = ["chat", "messages"]

[upstreams.hosted]
deployment = "hosted"
[upstreams.own]
deployment = "self_hosted"

[defaults]
roles = ["claims-caller"]
model = "claims-chat"

[[case]]
name = "regulated data to the hosted upstream"
data_class = "restricted"
upstream = "hosted"
expect = "deny"
reason = "self-hosted"
policy = "claims-data-class"

[[case]]
name = "confidential data to the hosted upstream"
data_class = "confidential"
upstream = "hosted"
expect = "deny"

[[case]]
name = "regulated data to the self-hosted upstream"
data_class = "restricted"
upstream = "own"
expect = "allow"

[[case]]
name = "internal data to the hosted upstream"
data_class = "internal"
upstream = "hosted"
expect = "allow"
"#;
    let results = run_test_text(&set, Path::new("hybrid.test.toml"), tests).unwrap();
    for result in &results {
        assert!(result.passed(), "{result:?}\n{cedar}");
    }
}

/// The Cedar a remediation text carries follows `Cedar: `.
fn remediation_cedar(text: &str) -> Option<&str> {
    text.split_once("Cedar: ").map(|(_, cedar)| cedar)
}

#[test]
fn every_remediation_snippet_validates_against_the_schema() {
    let fixture = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../modelgate-posture/tests/fixtures/posture.json"),
    )
    .unwrap();
    let snapshot = PostureSnapshot::from_json(&fixture).unwrap();
    let findings = modelgate_posture::findings(&snapshot, &PostureSettings::default());
    let mut checked = 0;
    for finding in &findings {
        let text = &finding.remediation;
        match remediation_cedar(text) {
            Some(cedar) => {
                validate(&finding.id, cedar);
                checked += 1;
            }
            None => assert!(
                !text.contains("forbid")
                    && !text.contains("permit (")
                    && !text.contains("Action::"),
                "{}: Cedar must follow `Cedar: ` so it can be checked: {text}",
                finding.id
            ),
        }
    }
    assert!(checked > 0, "the fixture gives no finding with Cedar");
}

/// Every ```cedar block in the documentation: users copy them.
#[test]
fn every_cedar_block_in_the_docs_validates() {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    let mut blocks = 0;
    for entry in std::fs::read_dir(&docs).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (i, block) in text.split("```cedar\n").skip(1).enumerate() {
            let (cedar, _) = block.split_once("```").expect("a closed block");
            // The docs also show built-in policies, whose id prefixes a
            // user file may not use: checked against the schema all the
            // same.
            let cedar = cedar
                .replace("@id(\"role:", "@id(\"doc-role-")
                .replace("@id(\"builtin:", "@id(\"doc-builtin-");
            validate(&format!("{}#{i}", path.display()), &cedar);
            blocks += 1;
        }
    }
    assert!(blocks >= 3, "the docs' Cedar blocks were not found");
}
