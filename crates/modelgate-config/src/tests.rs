//! Tests of parsing and validating the configuration.

use std::time::Duration;

use super::*;

const MINIMAL: &str = r#"
[[upstreams]]
name = "local"
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
deployment = "self_hosted"
region = "eu-west"
isolation = "technical"

[[models]]
name = "m"
targets = [{ upstream = "local", model = "m" }]
"#;

#[test]
fn minimal_config_parses_with_defaults() {
    let config = Config::from_toml(MINIMAL).unwrap();
    assert_eq!(config.limits.max_body_bytes, 4 * 1024 * 1024);
    assert_eq!(config.upstreams[0].connect_timeout, Duration::from_secs(5));
    assert_eq!(config.server.listen.port(), 8080);
}

#[test]
fn empty_config_is_valid() {
    assert!(Config::from_toml("").unwrap().upstreams.is_empty());
}

#[test]
fn literal_secret_is_refused_without_echo() {
    let text = MINIMAL.replace(
        "region = \"eu-west\"",
        "region = \"eu-west\"\ncredential = \"sk-CANARYliteral123\"",
    );
    let err = Config::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("upstreams[local].credential"), "{err}");
    assert!(!err.contains("CANARY"), "{err}");
}

#[test]
fn parse_error_does_not_echo_source_line() {
    let text = "[server]\nlisten = \"sk-CANARY-not-an-address\"\n";
    let err = Config::from_toml(text).unwrap_err().to_string();
    assert!(err.contains("line 2"), "{err}");
    assert!(!err.contains("CANARY"), "{err}");
}

#[test]
fn unknown_field_is_refused() {
    let err = Config::from_toml("[server]\nlisten_addr = \"x\"\n").unwrap_err();
    assert!(err.to_string().contains("listen_addr"), "{err}");
}

#[test]
fn dangling_target_is_refused() {
    let text = MINIMAL.replace("upstream = \"local\"", "upstream = \"nope\"");
    let err = Config::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("models[m].targets[0].upstream"), "{err}");
}

#[test]
fn azure_needs_api_version() {
    let text = MINIMAL.replace("kind = \"openai\"", "kind = \"azure_openai\"");
    let err = Config::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("api_version"), "{err}");
}

#[test]
fn duplicate_names_are_refused() {
    let text = format!(
        "{MINIMAL}\n[[models]]\nname = \"m\"\ntargets = [{{ upstream = \"local\", model = \"x\" }}]\n"
    );
    assert!(
        Config::from_toml(&text)
            .unwrap_err()
            .to_string()
            .contains("duplicate")
    );
}

#[test]
fn roles_and_grants_are_validated() {
    let text = format!(
        "{MINIMAL}\n[[roles]]\nname = \"reader\"\nmodels = [\"m*\"]\nactions = [\"chat\"]\n\
             max_grant_duration = \"1h\"\n[grants]\npending_ttl = \"2h\"\n"
    );
    let config = Config::from_toml(&text).unwrap();
    let catalog = config.role_catalog().unwrap();
    assert!(catalog.role("reader").is_some() && catalog.role("approver").is_some());
    assert_eq!(config.grants.max_duration, Duration::from_secs(8 * 3600));
    assert_eq!(config.grants.pending_ttl, Duration::from_secs(2 * 3600));
    let bad = text.replace("\"chat\"", "\"delete\"");
    let err = Config::from_toml(&bad).unwrap_err().to_string();
    assert!(err.contains("roles[reader].actions"), "{err}");
    let bad = format!("{text}approver_role = \"ghost\"\n");
    let err = Config::from_toml(&bad).unwrap_err().to_string();
    assert!(err.contains("grants.approver_role"), "{err}");
    let bad = text.replace("max_grant_duration", "max_duration");
    assert!(Config::from_toml(&bad).is_err());
}

#[test]
fn posture_and_ownership_parse_and_are_checked() {
    let text = MINIMAL.replace(
        "isolation = \"technical\"",
        "isolation = \"technical\"\nenvironment = \"prod\"\n\
             ownership = { patching = \"ops\", incident_response = \"sec\", \
             offboarding = \"ops\", rotation_days = 30 }",
    );
    let text = format!(
        "{text}\n[posture]\nrequire_readiness = true\naudit_window = \"7d\"\n\
             [posture.thresholds]\nunused_days = 10\n"
    );
    let config = Config::from_toml(&text).unwrap();
    assert!(config.posture.require_readiness);
    assert_eq!(config.posture.audit_window, Duration::from_secs(7 * 86_400));
    assert_eq!(config.posture.thresholds.unused_days, 10);
    assert_eq!(config.posture.thresholds.rotation_days, 60);
    let up = &config.upstreams[0];
    assert_eq!(up.environment.as_deref(), Some("prod"));
    assert_eq!(up.ownership.rotation_days, Some(30));
    assert_eq!(up.ownership.incident_response.as_deref(), Some("sec"));
    let defaults = Config::from_toml(MINIMAL).unwrap();
    assert!(!defaults.posture.require_readiness);
    assert!(defaults.upstreams[0].ownership.patching.is_none());

    let bad = text.replace("patching =", "patcher =");
    assert!(Config::from_toml(&bad).is_err(), "unknown ownership field");
    let bad = text.replace("environment = \"prod\"", "environment = \"Prod Env\"");
    let err = Config::from_toml(&bad).unwrap_err().to_string();
    assert!(err.contains("upstreams[local].environment"), "{err}");
    let bad = text.replace("unused_days = 10", "unused = 10");
    assert!(Config::from_toml(&bad).is_err(), "unknown threshold");
    let bad = text.replace("unused_days = 10", "working_hours_share = 2.0");
    let err = Config::from_toml(&bad).unwrap_err().to_string();
    assert!(err.contains("posture.thresholds"), "{err}");
}

#[test]
fn bad_duration_and_base_url_are_refused() {
    let text = MINIMAL.replace(
        "isolation = \"technical\"",
        "isolation = \"technical\"\nidle_timeout = \"soon\"",
    );
    assert!(
        Config::from_toml(&text)
            .unwrap_err()
            .to_string()
            .contains("duration")
    );
    let text = MINIMAL.replace("http://127.0.0.1:9/v1", "ftp://x");
    assert!(
        Config::from_toml(&text)
            .unwrap_err()
            .to_string()
            .contains("base_url")
    );
}

#[test]
fn max_staleness_defaults_and_is_bounded() {
    let config = Config::from_toml("").unwrap();
    assert_eq!(config.tokens.max_staleness, Duration::from_secs(10));
    let ok = Config::from_toml("[tokens]\nmax_staleness = \"3s\"\n").unwrap();
    assert_eq!(ok.tokens.max_staleness, Duration::from_secs(3));
    for bad in [
        "max_staleness = \"0s\"",
        "max_staleness = \"1s\"",
        "max_staleness = \"2h\"",
        "sync_interval = \"5s\"\nmax_staleness = \"4s\"",
    ] {
        let err = Config::from_toml(&format!("[tokens]\n{bad}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("tokens.max_staleness"), "{bad}: {err}");
    }
}

#[test]
fn body_read_timeout_defaults_to_30s_and_must_be_positive() {
    let config = Config::from_toml(MINIMAL).unwrap();
    assert_eq!(config.limits.body_read_timeout, Duration::from_secs(30));
    let text = format!("[limits]\nbody_read_timeout = \"0s\"\n{MINIMAL}");
    let err = Config::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("limits.body_read_timeout"), "{err}");
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = "[keys]\nmax_lifetime = \"0s\"\n[breaker]\nfailure_threshold = 0\n";
    let config = Config::parse(text).unwrap();
    let problems = config.problems();
    assert_eq!(problems.len(), 2, "{problems:?}");
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("keys.max_lifetime"), "{err}");
    assert!(err.contains("breaker.failure_threshold"), "{err}");
}

#[test]
fn a_bad_upstream_name_is_one_problem_not_one_per_target() {
    let text = MINIMAL.replace("\"local\"", "\"Local Upstream\"");
    let config = Config::parse(&text).unwrap();
    let problems = config.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].to_string().contains("upstreams[0].name"),
        "{problems:?}"
    );
}
