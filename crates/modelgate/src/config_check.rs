//! `modelgate config check`: every problem of a configuration in one run
//! (validation, secret references, upstream TLS, issuers, screening, the
//! key-encryption key, the policy set), each said once, then the warnings:
//! settings that are valid but cannot do what they say (a role pattern
//! matching no model, an issuer, screening or residency rule naming an
//! identity the store does not hold, a `jwks_file` that is not there, a
//! `forbid` without `@reason`).

use std::path::Path;

use anyhow::{Context, Result, bail};
use modelgate_config::StoreLocation;
use modelgate_config::{Config, ConfigError, DataClasses};
use modelgate_core::policy::PolicySet;

use crate::setup::{config_dir, load_kek, open_store_read_only, postgres_options, read_config};

/// Checks the configuration named on the command line (or the default one)
/// and prints every error and warning; fails when there is an error.
pub async fn check(named: Option<&Path>) -> Result<()> {
    let (path, text) = read_config(named)?;
    let mut config = Config::parse(&text)
        .with_context(|| format!("invalid configuration {}", path.display()))?;
    config.resolve_paths(&config_dir(&path));
    let mut errors = errors(&config);
    let (mut warnings, notes) = warnings(&config).await;
    let (policy_errors, policy_warnings) = policies(&config);
    errors.extend(policy_errors);
    warnings.extend(policy_warnings);
    for error in &errors {
        eprintln!("error: {error}");
    }
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    for note in &notes {
        eprintln!("note: {note}");
    }
    let warned = match warnings.len() {
        0 => String::new(),
        1 => ", 1 warning".to_owned(),
        n => format!(", {n} warnings"),
    };
    if !errors.is_empty() {
        bail!(
            "{}: {} problem{}{warned}",
            path.display(),
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        );
    }
    println!(
        "{}: OK ({} upstreams, {} models{warned})",
        path.display(),
        config.upstreams.len(),
        config.models.len()
    );
    Ok(())
}

/// The policy set as `serve` loads it (`PolicySet::new`: built-in, roles,
/// `policy.dir`, `policy.shadow_dir`): its problems as errors, its warnings
/// (a `forbid` without `@reason`) as warnings. Skipped when the data
/// classes are invalid (already an error).
fn policies(config: &Config) -> (Vec<String>, Vec<String>) {
    let Ok(classes) = DataClasses::new(&config.data_classes) else {
        return (Vec::new(), Vec::new());
    };
    match PolicySet::new(config, &classes) {
        Ok(set) => (Vec::new(), set.start_warnings().to_vec()),
        Err(e) => (vec![e], Vec::new()),
    }
}

/// Every error, in the order of the document, each once. A part already
/// found invalid is not built again (its error would repeat).
fn errors(config: &Config) -> Vec<String> {
    let problems = config.problems();
    let fields: Vec<String> = problems
        .iter()
        .filter_map(|p| match p {
            ConfigError::Invalid { field, .. } => Some(field.clone()),
            _ => None,
        })
        .collect();
    let flagged = |prefix: &str| fields.iter().any(|f| f.starts_with(prefix));
    let mut errors: Vec<String> = problems.iter().map(ToString::to_string).collect();
    for (i, upstream) in config.upstreams.iter().enumerate() {
        if flagged(&format!("upstreams[{i}]."))
            || flagged(&format!("upstreams[{}].", upstream.name))
        {
            continue;
        }
        if let Err(e) =
            modelgate_gateway::upstream::Upstream::from_config(upstream, &config.breaker)
        {
            errors.push(e.to_string());
        }
    }
    if let Err(e) = crate::credentials::federation(config) {
        errors.push(e.to_string());
    }
    if let Err((field, reason)) = modelgate_gateway::stages::screen::ScreenRules::new(
        &config.screen,
        &config.data_classes,
        &config.residency,
    ) {
        errors.push(format!("{field}: {reason}"));
    }
    // The PostgreSQL password reference and CA file, read as serve reads
    // them (the connection itself is tried only for the identity checks).
    if !flagged("store")
        && let StoreLocation::Postgres(url) = config.store.location()
        && let Err(e) = postgres_options(config, url)
    {
        errors.push(e.to_string());
    }
    if !flagged("tokens.kek")
        && !flagged("tokens.previous_keks")
        && let Err(e) = load_kek(config)
    {
        errors.push(e.to_string());
    }
    let mut seen = std::collections::HashSet::new();
    errors.retain(|e| seen.insert(e.clone()));
    errors
}

/// The warnings, and notes on what could not be checked.
async fn warnings(config: &Config) -> (Vec<String>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    let models: Vec<&str> = config.models.iter().map(|m| m.name.as_str()).collect();
    for role in &config.roles {
        for pattern in &role.models {
            if !models
                .iter()
                .any(|m| modelgate_config::glob::glob_matches(pattern, m))
            {
                warnings.push(format!(
                    "roles[{}].models: {pattern:?} matches no model in [[models]] ({})",
                    role.name,
                    if models.is_empty() {
                        "none configured".to_owned()
                    } else {
                        models.join(", ")
                    }
                ));
            }
        }
    }
    for issuer in &config.issuers {
        if let Some(file) = &issuer.jwks_file
            && !file.exists()
        {
            warnings.push(format!(
                "issuers[{}].jwks_file: {} does not exist: token exchange through this issuer \
                 fails until it does",
                issuer.name,
                file.display()
            ));
        }
    }
    // Every rule that names an identity exactly (a pattern with `*` may
    // match identities created later).
    let exact = |name: &&String| !name.contains('*');
    let named: Vec<(String, &str)> = config
        .issuers
        .iter()
        .flat_map(|issuer| {
            issuer.rules.iter().enumerate().map(move |(j, rule)| {
                (
                    format!("issuers[{}].rules[{j}].identity", issuer.name),
                    rule.identity.as_str(),
                )
            })
        })
        .chain(
            config
                .screen
                .rules
                .iter()
                .enumerate()
                .flat_map(|(i, rule)| {
                    rule.identities
                        .iter()
                        .filter(exact)
                        .map(move |name| (format!("screen.rules[{i}].identities"), name.as_str()))
                }),
        )
        .chain(config.residency.iter().enumerate().flat_map(|(i, rule)| {
            rule.identities
                .iter()
                .filter(exact)
                .map(move |name| (format!("residency[{i}].identities"), name.as_str()))
        }))
        .collect();
    if named.is_empty() {
        return (warnings, notes);
    }
    let store_name = config.store.describe();
    // Read-only: a check must not migrate or write the store it looks at
    // (a newer binary checked against a production store before an
    // upgrade, or a running gateway's).
    let store = match open_store_read_only(config).await {
        Ok(Some(store)) => store,
        Ok(None) => {
            notes.push(format!(
                "the store {store_name} does not exist yet: the identities rules name were not \
                 checked"
            ));
            return (warnings, notes);
        }
        Err(e) => {
            warnings.push(format!(
                "cannot open the store {store_name} ({e:#}): the identities rules name were not \
                 checked"
            ));
            return (warnings, notes);
        }
    };
    for (field, identity) in named {
        let exchange = field.starts_with("issuers");
        match store.identity_by_name(identity).await {
            Ok(Some(record)) if record.status == "offboarded" => warnings.push(format!(
                "{field}: identity {identity:?} is offboarded: {}",
                if exchange {
                    "tokens exchanged for it are refused"
                } else {
                    "the rule applies to no caller"
                }
            )),
            Ok(Some(_)) => {}
            Ok(None) => warnings.push(format!(
                "{field}: no identity named {identity:?} in the store {store_name}: {} until it \
                 is created (`modelgate identity create --name {identity} ...`)",
                if exchange {
                    "token exchange for it fails"
                } else {
                    "the rule applies to no caller"
                }
            )),
            Err(e) => warnings.push(format!("{field}: cannot read the store: {e}")),
        }
    }
    (warnings, notes)
}
