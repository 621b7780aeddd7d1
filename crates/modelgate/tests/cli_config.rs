//! The configuration as the command line finds and checks it: a missing
//! file is an error (never a fresh store in the working directory),
//! relative paths are read from the file's directory for every command,
//! `config check` says every problem once and warns about settings that
//! cannot work, and the documented example checks clean and is ready.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::*;

/// Runs the binary in `cwd` with `args` (no `MODELGATE_CONFIG` from the
/// test's environment).
fn run_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(binary())
        .current_dir(cwd)
        .args(args)
        .env_remove("MODELGATE_CONFIG")
        .env("MG_TEST_KEK", TEST_KEK)
        .env("MG_TEST_UPSTREAM_KEY", UPSTREAM_CANARY)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn both(out: &Output) -> String {
    format!("{}{}", stdout(out), stderr(out))
}

#[test]
fn a_missing_configuration_is_an_error_not_a_fresh_store() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["identity", "list"],
        vec!["key", "list"],
        vec!["inventory"],
        vec!["audit", "search"],
        vec![
            "identity",
            "create",
            "--name",
            "x",
            "--kind",
            "service",
            "--owner",
            "o",
            "--environment",
            "dev",
        ],
    ] {
        let out = run_in(dir.path(), &args);
        assert!(
            !out.status.success(),
            "{args:?} ran without a configuration"
        );
        let err = stderr(&out);
        assert!(err.contains("no configuration file"), "{args:?}: {err}");
        assert!(err.contains("--config"), "{args:?}: {err}");
        assert!(err.contains("serve --dev"), "{args:?}: {err}");
    }
    let out = run_in(
        dir.path(),
        &["--config", "elsewhere.toml", "identity", "list"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("configuration file elsewhere.toml not found"),
        "{}",
        stderr(&out)
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "a command left files behind: {left:?}");
    // Commands that need no state still run without one.
    assert!(run_in(dir.path(), &["kek", "generate"]).status.success());
    assert!(run_in(dir.path(), &["policy", "schema"]).status.success());
}

/// A configuration in `dir/conf/` whose store and KEK file are relative.
fn relative_config(dir: &Path) -> std::path::PathBuf {
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(conf.join("kek"), format!("{TEST_KEK}\n")).unwrap();
    let path = conf.join("modelgate.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"off\"\n\
         [store]\npath = \"state/modelgate.db\"\n[tokens]\nkek = \"file:kek\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(conf.join("state")).unwrap();
    path
}

#[test]
fn relative_paths_are_read_from_the_configuration_directory() {
    let dir = tempfile::tempdir().unwrap();
    relative_config(dir.path());
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let config = "../conf/modelgate.toml";
    let out = run_in(
        &elsewhere,
        &[
            "--config",
            config,
            "identity",
            "create",
            "--name",
            "billing",
            "--kind",
            "service",
            "--owner",
            "team",
            "--environment",
            "prod",
        ],
    );
    assert!(out.status.success(), "{}", both(&out));
    assert!(dir.path().join("conf/state/modelgate.db").exists());
    assert!(!elsewhere.join("state").exists());
    // From the configuration's own directory, and through the environment.
    let out = run_in(
        &dir.path().join("conf"),
        &["--config", "modelgate.toml", "identity", "list"],
    );
    assert!(stdout(&out).contains("billing"), "{}", both(&out));
    let out = Command::new(binary())
        .current_dir(dir.path())
        .env("MODELGATE_CONFIG", "conf/modelgate.toml")
        .args(["identity", "list"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains("billing"), "{}", both(&out));
}

#[test]
fn serve_reads_relative_paths_from_the_configuration_directory() {
    let dir = tempfile::tempdir().unwrap();
    let config = relative_config(dir.path());
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let mut child = Command::new(binary())
        .current_dir(&elsewhere)
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env_remove("MODELGATE_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stdout_lines(&mut child);
    let line = rx.recv_timeout(Duration::from_secs(30));
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let line = line.unwrap_or_else(|_| panic!("serve did not start: {}", stderr(&out)));
    assert!(line.starts_with("listening on"), "{line}");
    assert!(dir.path().join("conf/state/modelgate.db").exists());
    assert!(!elsewhere.join("state").exists());
}

fn write(dir: &Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("modelgate.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const UPSTREAM: &str = "kind = \"openai\"\nbase_url = \"https://api.openai.com/v1\"\n\
                        deployment = \"hosted\"\nregion = \"us\"\nisolation = \"contractual\"\n";

#[test]
fn config_check_reports_every_problem_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        &format!(
            "[tokens]\nkek = \"env:MG_EMPTY_KEK\"\n[breaker]\nfailure_threshold = 0\n\
             [[upstreams]]\nname = \"a\"\ncredential = \"env:MG_SURELY_UNSET_A\"\n{UPSTREAM}\
             [[upstreams]]\nname = \"b\"\ncredential = \"env:MG_SURELY_UNSET_B\"\n{UPSTREAM}"
        ),
    );
    let out = Command::new(binary())
        .args(["--config", config.to_str().unwrap(), "config", "check"])
        .env("MG_EMPTY_KEK", "")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    for needle in [
        "breaker.failure_threshold",
        "environment variable MG_SURELY_UNSET_A is not set",
        "environment variable MG_SURELY_UNSET_B is not set",
        "tokens.kek: the key from env:MG_EMPTY_KEK is empty",
    ] {
        assert_eq!(err.matches(needle).count(), 1, "{needle:?} once in:\n{err}");
    }
    assert!(!err.contains("header value"), "{err}");
    assert!(err.contains("4 problems"), "{err}");
}

#[test]
fn serve_says_a_bad_issuer_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        &format!(
            "{TOKENS_SECTION}[server]\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"off\"\n\
             [[issuers]]\nname = \"k\"\npreset = \"kubernetes\"\nissuer = \"https://k.example\"\n\
             audience = \"a\"\njwks_url = \"https://k.example/jwks\"\njwks_file = \"k.json\"\n\
             [[issuers.rules]]\nidentity = \"x\"\nclaims = {{ sub = \"s\" }}\n"
        ),
    );
    let out = cli_at(&config, &["serve"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert_eq!(err.matches("mutually exclusive").count(), 1, "{err}");
}

#[test]
fn config_check_warns_about_settings_that_cannot_work() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        &format!(
            "{TOKENS_SECTION}[[upstreams]]\nname = \"o\"\n{UPSTREAM}\
             [[models]]\nname = \"gpt-4o\"\ntargets = [{{ upstream = \"o\", model = \"gpt-4o\" }}]\n\
             [[roles]]\nname = \"chat\"\nmodels = [\"gpt-*\", \"claude-*\"]\nactions = [\"chat\"]\n\
             [[issuers]]\nname = \"k\"\npreset = \"kubernetes\"\nissuer = \"https://k.example\"\n\
             audience = \"a\"\njwks_file = \"k.jwks.json\"\n\
             [[issuers.rules]]\nidentity = \"known\"\nclaims = {{ sub = \"s1\" }}\n\
             [[issuers.rules]]\nidentity = \"ghost\"\nclaims = {{ sub = \"s2\" }}\n\
             [[screen.rules]]\nidentities = [\"known\", \"phantom\", \"team-*\"]\n\
             categories = [\"credential\"]\naction = \"block\"\n\
             [[residency]]\nidentities = [\"spectre\"]\nregions = [\"eu-west\"]\n"
        ),
    );
    // Without a store yet: nothing is created, the identities go unchecked.
    let out = cli_at(&config, &["config", "check"]);
    assert!(out.status.success(), "{}", both(&out));
    assert!(!dir.path().join("modelgate.db").exists());
    let err = stderr(&out);
    assert!(
        err.contains("warning: roles[chat].models: \"claude-*\" matches no model"),
        "{err}"
    );
    assert!(!err.contains("\"gpt-*\" matches no model"), "{err}");
    assert!(
        err.contains("warning: issuers[k].jwks_file:")
            && err.contains("k.jwks.json does not exist"),
        "{err}"
    );
    assert!(err.contains("were not checked"), "{err}");

    let out = cli_at(
        &config,
        &[
            "identity",
            "create",
            "--name",
            "known",
            "--kind",
            "service",
            "--owner",
            "o",
            "--environment",
            "prod",
        ],
    );
    assert!(out.status.success(), "{}", both(&out));
    std::fs::write(dir.path().join("k.jwks.json"), "{\"keys\":[]}").unwrap();
    let out = cli_at(&config, &["config", "check"]);
    assert!(out.status.success(), "{}", both(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: issuers[k].rules[1].identity: no identity named \"ghost\""),
        "{err}"
    );
    // Screening and residency rules name identities too; a pattern may
    // match identities made later and is not checked.
    assert!(
        err.contains("warning: screen.rules[0].identities: no identity named \"phantom\"")
            && err.contains("warning: residency[0].identities: no identity named \"spectre\""),
        "{err}"
    );
    assert!(
        !err.contains("\"known\"") && !err.contains("team-*"),
        "{err}"
    );
    assert!(!err.contains("jwks_file"), "{err}");
    assert!(stdout(&out).contains("4 warnings"), "{}", stdout(&out));
}

#[test]
fn durations_print_as_configured() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        &format!("{TOKENS_SECTION}[keys]\nmax_lifetime = \"90d\"\n"),
    );
    let out = cli_at(
        &config,
        &["key", "create", "--identity", "x", "--expires-in", "100d"],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("at most 90d (keys.max_lifetime)"), "{err}");
}

/// The example, copied into `dir` with its absolute secret and TLS paths
/// moved under `dir` and every file it names written there.
fn example_in(dir: &Path) -> std::path::PathBuf {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/modelgate.toml");
    let root = dir.display().to_string();
    let text = std::fs::read_to_string(example)
        .unwrap()
        .replace("/run/secrets/", &format!("{root}/secrets/"))
        .replace("/etc/modelgate/", &format!("{root}/etc/"));
    for sub in ["secrets", "etc/tls"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let ca = pki::Ca::new("model servers");
    let client = ca.plain_client("gateway");
    for (file, content) in [
        ("secrets/anthropic_api_key", "sk-ant-test".to_owned()),
        ("secrets/vllm_api_key", "vllm-test".to_owned()),
        ("secrets/gateway-client-key.pem", client.key_pem.clone()),
        ("etc/tls/model-servers-ca.pem", ca.cert_pem.clone()),
        ("etc/tls/gateway-client.pem", client.cert_pem.clone()),
        ("etc/prod-cluster-jwks.json", "{\"keys\":[]}".to_owned()),
    ] {
        std::fs::write(dir.join(file), content).unwrap();
    }
    let path = dir.join("modelgate.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_example_configuration_checks_clean_and_is_ready() {
    let dir = tempfile::tempdir().unwrap();
    let config = example_in(dir.path());
    let run = |args: &[&str]| {
        Command::new(binary())
            .args(["--config", config.to_str().unwrap()])
            .args(args)
            .env("OPENAI_API_KEY", "sk-test")
            .env("AZURE_OPENAI_API_KEY", "azure-test")
            .env("MODELGATE_KEK", TEST_KEK)
            .output()
            .unwrap()
    };
    let out = run(&["config", "check"]);
    assert!(out.status.success(), "{}", both(&out));
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    assert!(stdout(&out).contains(": OK ("), "{}", stdout(&out));
    let out = run(&["readiness"]);
    assert!(out.status.success(), "{}", both(&out));
    assert!(stdout(&out).contains("are ready"), "{}", stdout(&out));
}

#[test]
fn config_check_loads_the_policies_as_serve_would() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(
        policies.join("quiet.cedar"),
        "@id(\"quiet\")\nforbid (principal, action, resource)\nwhen { context.findings.has_secret };\n",
    )
    .unwrap();
    let config = write(
        dir.path(),
        &format!("{TOKENS_SECTION}[policy]\ndir = \"policies\"\n"),
    );
    // A forbid without @reason: a warning with its place; still OK.
    let out = cli_at(&config, &["config", "check"]);
    assert!(out.status.success(), "{}", both(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning:") && err.contains("quiet.cedar"),
        "{err}"
    );
    assert!(err.contains("@reason"), "{err}");

    // A policy that does not validate is an error, as it would stop `serve`.
    std::fs::write(
        policies.join("broken.cedar"),
        "permit (principal, action == Action::\"invoke\", resource);\n",
    )
    .unwrap();
    let out = cli_at(&config, &["config", "check"]);
    assert!(!out.status.success(), "{}", both(&out));
    let err = stderr(&out);
    assert!(
        err.contains("error: policies:") && err.contains("broken.cedar"),
        "{err}"
    );
}
