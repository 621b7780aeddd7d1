//! The assessment: a table of requirement profiles with the expected
//! recommendation and reasons; the generated configuration parses as TOML;
//! bad requirement files are refused with a clear error.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use modelgate_posture::assess::{QUESTIONS, maturity_gaps};
use modelgate_posture::{Recommendation, Requirements, assess};

const MATURE: &str = r#"
[operations]
patching_cadence_days = 14
telemetry_review = "daily"
rotation = "automated"
on_call = true
team_size = 4
"#;

const SMALL_TEAM: &str = r#"
[operations]
patching_cadence_days = 90
telemetry_review = "monthly"
rotation = "manual"
on_call = false
team_size = 1
"#;

fn workload(classes: &str, air_gapped: bool) -> String {
    format!(
        r#"
[workload]
name = "w"
data_classes = {classes}
residency = "eu-central"
auditability = "full"
custom_policy_filters = true
latency = "interactive"
availability = "high"
air_gapped = {air_gapped}
"#
    )
}

struct Profile {
    name: &'static str,
    classes: &'static str,
    air_gapped: bool,
    ops: &'static str,
    expect: Recommendation,
    reason: &'static str,
}

const PROFILES: &[Profile] = &[
    Profile {
        name: "regulated data, mature ops",
        classes: r#"["regulated"]"#,
        air_gapped: false,
        ops: MATURE,
        expect: Recommendation::SelfHosted,
        reason: "regulated data needs control over retention, isolation and logs",
    },
    Profile {
        name: "low-risk data, small team",
        classes: r#"["public", "internal"]"#,
        air_gapped: false,
        ops: SMALL_TEAM,
        expect: Recommendation::Hosted,
        reason: "only public, internal data: hosted APIs fit lower-risk use",
    },
    Profile {
        name: "low-risk data, mature ops",
        classes: r#"["internal"]"#,
        air_gapped: false,
        ops: MATURE,
        expect: Recommendation::Hosted,
        reason: "only internal data",
    },
    Profile {
        name: "mixed data, mature ops",
        classes: r#"["internal", "confidential"]"#,
        air_gapped: false,
        ops: MATURE,
        expect: Recommendation::Hybrid,
        reason: "internal data can use a hosted API, keeping self-hosted capacity for confidential",
    },
    Profile {
        name: "air-gapped, mature ops",
        classes: r#"["confidential"]"#,
        air_gapped: true,
        ops: MATURE,
        expect: Recommendation::SelfHosted,
        reason: "the workload is air-gapped: no hosted API is reachable",
    },
    Profile {
        name: "air-gapped, small team",
        classes: r#"["internal"]"#,
        air_gapped: true,
        ops: SMALL_TEAM,
        expect: Recommendation::Refused,
        reason: "refused: self-hosting is the only option and the team cannot sustain it (patches reach production in 90 days",
    },
    Profile {
        name: "regulated data, small team",
        classes: r#"["regulated"]"#,
        air_gapped: false,
        ops: SMALL_TEAM,
        expect: Recommendation::Hosted,
        reason: "regulated data would favour self-hosting, but the team cannot sustain it",
    },
];

#[test]
fn profiles_get_the_expected_recommendation_and_reasons() {
    for p in PROFILES {
        let text = workload(p.classes, p.air_gapped) + p.ops;
        let req = Requirements::from_toml(&text).unwrap();
        let a = assess(&req);
        assert_eq!(a.recommendation, p.expect, "{}", p.name);
        assert!(
            a.reasons.iter().any(|r| r.contains(p.reason)),
            "{}: {:#?}",
            p.name,
            a.reasons
        );
        assert!(!a.residual_risks.is_empty(), "{}: no residual risk", p.name);
        match p.expect {
            Recommendation::Refused => assert!(a.config.is_none(), "{}", p.name),
            _ => {
                let config = a.config.as_deref().unwrap();
                let parsed: toml::Table =
                    toml::from_str(config).unwrap_or_else(|e| panic!("{}: {e}\n{config}", p.name));
                check_config(p, &parsed);
                check_cedar_comment(p, config);
            }
        }
    }
}

fn check_config(p: &Profile, config: &toml::Table) {
    let upstreams = config["upstreams"].as_array().unwrap();
    let deployments: Vec<&str> = upstreams
        .iter()
        .map(|u| u["deployment"].as_str().unwrap())
        .collect();
    let expected: &[&str] = match p.expect {
        Recommendation::SelfHosted => &["self_hosted"],
        Recommendation::Hosted => &["hosted"],
        Recommendation::Hybrid => &["self_hosted", "hosted"],
        Recommendation::Refused => &[],
    };
    assert_eq!(deployments, expected, "{}", p.name);
    for u in upstreams {
        assert_eq!(u["region"].as_str(), Some("eu-central"), "{}", p.name);
        assert!(!u["max_data_class"].as_str().unwrap().is_empty());
        assert!(u["ownership"]["rotation_days"].as_integer().unwrap() > 0);
    }
    if p.expect == Recommendation::Hybrid {
        assert_eq!(
            upstreams[0]["max_data_class"].as_str(),
            Some("confidential")
        );
        assert_eq!(upstreams[1]["max_data_class"].as_str(), Some("internal"));
        // Hosted first, so only sensitive prompts fall through to self-hosted.
        let targets = config["models"][0]["targets"].as_array().unwrap();
        assert_eq!(targets[0]["upstream"].as_str(), Some("w-hosted"));
        assert_eq!(targets[1]["upstream"].as_str(), Some("w-self-hosted"));
    }
    assert_eq!(
        config["models"][0]["regions"].as_array().unwrap()[0].as_str(),
        Some("eu-central")
    );
    assert_eq!(config["roles"][0]["name"].as_str(), Some("w-caller"));
    assert!(
        config.get("policies").is_none(),
        "not a configuration field"
    );
}

fn check_cedar_comment(p: &Profile, text: &str) {
    assert!(
        text.contains("#     action in [Action::\"chat\", Action::\"messages\"],"),
        "{}: {text}",
        p.name
    );
    if p.expect == Recommendation::Hybrid || p.expect == Recommendation::SelfHosted {
        assert!(
            text.contains("context.upstream.deployment != \"self_hosted\""),
            "{text}"
        );
    }
}

#[test]
fn the_documented_example_parses_and_recommends_hybrid() {
    let text = include_str!("../../../examples/requirements.toml");
    let a = assess(&Requirements::from_toml(text).unwrap());
    assert_eq!(a.recommendation, Recommendation::Hybrid);
    let config = a.config.unwrap();
    toml::from_str::<toml::Table>(&config).unwrap();
    assert!(config.contains("name = \"claims-triage-self-hosted\""));
}

#[test]
fn maturity_gaps_name_each_shortfall() {
    let req = Requirements::from_toml(&(workload(r#"["public"]"#, false) + SMALL_TEAM)).unwrap();
    let gaps = maturity_gaps(&req.operations);
    assert_eq!(gaps.len(), 5, "{gaps:#?}");
    let mature = Requirements::from_toml(&(workload(r#"["public"]"#, false) + MATURE)).unwrap();
    assert!(maturity_gaps(&mature.operations).is_empty());
}

#[test]
fn hostile_workload_names_cannot_inject_config() {
    let text = (workload(r#"["regulated"]"#, false) + MATURE)
        .replace("name = \"w\"", "name = \"x\\\"\\n[evil]\\na = 1\"");
    let a = assess(&Requirements::from_toml(&text).unwrap());
    let parsed: toml::Table = toml::from_str(a.config.as_deref().unwrap()).unwrap();
    assert!(!parsed.contains_key("evil"));
    assert_eq!(
        parsed["upstreams"][0]["name"].as_str(),
        Some("x---evil--a---1-self-hosted")
    );
}

#[test]
fn bad_requirements_are_refused_clearly() {
    let base = workload(r#"["regulated"]"#, false) + MATURE;
    for (bad, needle) in [
        (base.replace(r#"["regulated"]"#, "[]"), "data_classes"),
        (base.replace(r#"["regulated"]"#, r#"["secret"]"#), "secret"),
        (
            base.replace("team_size = 4", "team_size = 4\nbudget = 1"),
            "budget",
        ),
        (
            base.replace("patching_cadence_days = 14", "patching_cadence_days = 0"),
            "patching",
        ),
        (base.replace("name = \"w\"", "name = \"  \""), "name"),
        ("not toml at all [".to_owned(), "requirements"),
    ] {
        let err = Requirements::from_toml(&bad).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn interactive_answers_build_the_same_requirements() {
    let mut answers: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in [
        ("workload.name", "claims-triage"),
        ("workload.environment", "prod"),
        ("workload.data_classes", "internal, regulated"),
        ("workload.residency", "eu-central"),
        ("workload.auditability", "full"),
        ("workload.custom_policy_filters", "yes"),
        ("workload.latency", "interactive"),
        ("workload.availability", "high"),
        ("workload.air_gapped", "no"),
        ("operations.patching_cadence_days", "14"),
        ("operations.telemetry_review", "daily"),
        ("operations.rotation", "automated"),
        ("operations.on_call", "y"),
        ("operations.team_size", "4"),
    ] {
        answers.insert(k.to_owned(), v.to_owned());
    }
    assert_eq!(answers.len(), QUESTIONS.len());
    let from_answers = Requirements::from_answers(&answers).unwrap();
    let from_file =
        Requirements::from_toml(include_str!("../../../examples/requirements.toml")).unwrap();
    assert_eq!(from_answers, from_file);

    answers.insert("operations.team_size".to_owned(), "four".to_owned());
    let err = Requirements::from_answers(&answers)
        .unwrap_err()
        .to_string();
    assert!(err.contains("operations.team_size"), "{err}");
}
