//! Tests of the scenario registry: consistency, selection, each
//! scenario's configuration.

use std::net::SocketAddr;
use std::path::Path;

use super::*;
use crate::gateway_config::{
    FragmentPaths, StoreSpec, base_gateway_config, fill_fragment, has_roles, merge_config,
    sections, store_fragment,
};

#[test]
fn registry_is_consistent() {
    for s in SCENARIOS {
        if let Some(b) = s.baseline {
            let base = find(b).unwrap();
            assert_eq!(base.target, Target::Direct, "{}", s.name);
            assert_eq!(
                base.request, s.request,
                "{} compares like with like",
                s.name
            );
        }
        assert_eq!(s.auth == AuthKind::None, s.target == Target::Direct);
    }
    for (name, _) in STAGES {
        let s = find(name).unwrap();
        assert_eq!(s.request, CHAT, "{name}");
        assert!(matches!(s.target, Target::Gateway { .. }), "{name}");
    }
    let mut names: Vec<_> = SCENARIOS.iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), SCENARIOS.len());
}

#[test]
fn each_postgres_scenario_is_its_sqlite_twin_on_another_store() {
    let postgres: Vec<&Scenario> = SCENARIOS.iter().filter(|s| on_postgres(s)).collect();
    let names: Vec<&str> = postgres.iter().map(|s| s.name).collect();
    assert_eq!(names, ["gateway-pg", "gateway-api-key-pg"]);
    for pg in postgres {
        let twin = find(sqlite_twin(pg.name).unwrap()).unwrap();
        assert_eq!(backend(twin), Some(Backend::Sqlite), "{}", pg.name);
        assert_eq!(fragment(pg.name), fragment(twin.name), "{}", pg.name);
        assert_eq!(
            (pg.request, pg.auth, pg.baseline),
            (twin.request, twin.auth, twin.baseline),
            "{}",
            pg.name
        );
        assert_eq!(ratio_baseline(pg.name), Some(twin.name));
    }
    assert_eq!(sqlite_twin("gateway-pg"), Some("gateway"));
    assert_eq!(sqlite_twin("gateway"), None);
    assert_eq!(ratio_baseline("gateway"), Some("direct"));
    assert_eq!(ratio_baseline("direct"), None);
}

#[test]
fn selection_adds_baselines_and_keeps_order() {
    let names = |v: Vec<&Scenario>| v.iter().map(|s| s.name).collect::<Vec<_>>();
    let all = select(&[], false, false).unwrap();
    assert_eq!(
        names(all),
        [
            "direct",
            "direct-stream",
            "gateway",
            "gateway-api-key",
            "gateway-no-screen",
            "gateway-no-policy",
            "gateway-audit-nosync",
            "gateway-no-log",
            "gateway-stream"
        ]
    );
    let some = select(&["gateway-stream".into(), "gateway".into()], false, false).unwrap();
    assert_eq!(
        names(some),
        ["direct", "direct-stream", "gateway", "gateway-stream"]
    );
    let lite = select(&["gateway".into()], true, false).unwrap();
    assert_eq!(names(lite), ["direct", "gateway", "litellm"]);
    assert!(select(&["nope".into()], false, false).is_err());
}

#[test]
fn postgres_adds_the_pg_scenarios_and_their_sqlite_twins() {
    let names = |v: Vec<&Scenario>| v.iter().map(|s| s.name).collect::<Vec<_>>();
    let smoke: Vec<String> = ["direct", "gateway", "gateway-stream"]
        .map(String::from)
        .to_vec();
    assert_eq!(
        names(select(&smoke, false, true).unwrap()),
        [
            "direct",
            "direct-stream",
            "gateway",
            "gateway-api-key",
            "gateway-stream",
            "gateway-pg",
            "gateway-api-key-pg"
        ]
    );
    let all = select(&[], false, true).unwrap();
    assert_eq!(all.len(), SCENARIOS.len() - 1, "all but litellm");
    assert_eq!(
        names(select(&["gateway-api-key-pg".into()], false, false).unwrap()),
        ["direct", "gateway-api-key", "gateway-api-key-pg"],
        "a PostgreSQL scenario by name brings its twin"
    );
}

fn fragment(name: &str) -> &'static str {
    match find(name).unwrap().target {
        Target::Gateway { config, .. } => config,
        other => panic!("{name} goes to {other:?}"),
    }
}

/// The merged configuration of a scenario, placeholders filled, the way
/// `Gateways::start` writes it: base, the store, the filled fragment.
fn config_of(name: &str) -> String {
    let mock: SocketAddr = "127.0.0.1:4567".parse().unwrap();
    let store = match backend(find(name).unwrap()).unwrap() {
        Backend::Sqlite => store_fragment(StoreSpec::Sqlite(Path::new("/tmp/s/store-1.db"))),
        Backend::Postgres { .. } => store_fragment(StoreSpec::Postgres {
            url: "postgres://modelgate@127.0.0.1:5433/bench_1",
            ca_file: Path::new("/tmp/pg/ca.crt"),
        }),
    };
    let base = merge_config(&base_gateway_config(mock), &store);
    let filled = fill_fragment(
        fragment(name),
        FragmentPaths {
            roles: "[[roles]]\nname = \"r\"\n",
            policy_dir: Path::new("/tmp/s/policies"),
            audit_dir: Path::new("/dev/shm/a"),
        },
    );
    merge_config(&base, &filled)
}

/// The lines of `config` in section `header`.
fn section_lines(config: &str, header: &str) -> Vec<String> {
    sections(config)
        .into_iter()
        .filter(|s| s.header == header)
        .flat_map(|s| s.lines)
        .collect()
}

#[test]
fn full_path_has_every_stage_and_each_variant_drops_one() {
    let full = config_of("gateway");
    assert_eq!(section_lines(&full, "[[roles]]"), ["name = \"r\""]);
    assert_eq!(
        section_lines(&full, "[policy]"),
        ["dir = \"/tmp/s/policies\""]
    );
    assert_eq!(
        section_lines(&full, "[screen]"),
        ["enabled = true", "responses = \"log_only\""]
    );
    assert_eq!(section_lines(&full, "[audit]"), ["store = true"]);
    assert!(full.contains("level = \"info\""));
    assert_eq!(find("gateway").unwrap().auth, AuthKind::AccessToken);
    assert_eq!(config_of("gateway-api-key"), full);
    assert_eq!(find("gateway-api-key").unwrap().auth, AuthKind::ApiKey);
    assert_eq!(config_of("gateway-stream"), full);

    let no_screen = config_of("gateway-no-screen");
    assert_eq!(
        section_lines(&no_screen, "[screen]"),
        ["enabled = false", "responses = \"off\""]
    );
    assert_eq!(
        section_lines(&no_screen, "[policy]"),
        section_lines(&full, "[policy]")
    );

    let no_policy = config_of("gateway-no-policy");
    assert!(section_lines(&no_policy, "[[roles]]").is_empty());
    assert!(section_lines(&no_policy, "[policy]").is_empty());
    assert!(!has_roles(fragment("gateway-no-policy")));
    assert_eq!(
        section_lines(&no_policy, "[screen]"),
        section_lines(&full, "[screen]")
    );

    let nosync = config_of("gateway-audit-nosync");
    assert_eq!(section_lines(&nosync, "[audit]"), ["store = false"]);
    assert_eq!(
        section_lines(&nosync, "[audit.file]"),
        ["dir = \"/dev/shm/a\"", "required = true"]
    );

    let no_log = config_of("gateway-no-log");
    assert!(no_log.contains("level = \"warn\""));
    assert_eq!(
        section_lines(&no_log, "[audit]"),
        section_lines(&full, "[audit]")
    );

    // No placeholder survives in any scenario's configuration.
    for s in SCENARIOS {
        if matches!(s.target, Target::Gateway { .. }) {
            let c = config_of(s.name);
            assert!(!c.contains("{ROLES}") && !c.contains("_DIR}"), "{}", s.name);
        }
    }
}

#[test]
fn postgres_config_is_the_full_path_with_a_url_and_a_password_reference() {
    let pg = config_of("gateway-pg");
    let lite = config_of("gateway");
    let without_store = |c: &str| {
        sections(c)
            .into_iter()
            .filter(|s| s.header != "[store]")
            .map(|s| (s.header, s.lines))
            .collect::<Vec<_>>()
    };
    assert_eq!(without_store(&pg), without_store(&lite));
    assert_eq!(config_of("gateway-api-key-pg"), pg);
    assert_eq!(
        section_lines(&pg, "[store]"),
        [
            "url = \"postgres://modelgate@127.0.0.1:5433/bench_1\"",
            "password = \"env:MODELGATE_BENCH_PG_PASSWORD\"",
            "sslmode = \"verify-full\"",
            "ca_file = \"/tmp/pg/ca.crt\""
        ]
    );
    assert_eq!(
        section_lines(&lite, "[store]"),
        ["path = \"/tmp/s/store-1.db\""]
    );

    // The gateway's own configuration reader takes both, each naming one
    // store, the PostgreSQL password only by reference.
    let pg = modelgate_config::Config::from_toml(&pg).unwrap();
    assert_eq!(
        pg.store.location(),
        modelgate_config::StoreLocation::Postgres("postgres://modelgate@127.0.0.1:5433/bench_1")
    );
    assert_eq!(pg.store.path, None);
    assert_eq!(
        pg.store.password.as_deref(),
        Some("env:MODELGATE_BENCH_PG_PASSWORD")
    );
    assert_eq!(pg.store.ssl_mode(), "verify-full");
    assert_eq!(
        pg.store.ca_file.as_deref(),
        Some(Path::new("/tmp/pg/ca.crt"))
    );
    let lite = modelgate_config::Config::from_toml(&lite).unwrap();
    assert_eq!(
        lite.store.location(),
        modelgate_config::StoreLocation::Sqlite(Path::new("/tmp/s/store-1.db"))
    );
}

#[test]
fn bodies_are_about_the_asked_size_and_valid_json() {
    let body = request_body(CHAT, "m");
    assert!((2048..2400).contains(&body.len()), "{}", body.len());
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["model"], "m");
    assert!(v.get("stream").is_none());
    let v: serde_json::Value = serde_json::from_slice(&request_body(CHAT_STREAM, "m")).unwrap();
    assert_eq!(v["stream"], true);
}
