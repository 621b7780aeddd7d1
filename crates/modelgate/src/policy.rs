//! `modelgate policy ...`: the schema, the built-in set, policy tests for
//! CI (against the policies next to the test files unless a directory is
//! given or configured), checking a directory (warnings for a `forbid`
//! without `@reason`), and replaying recorded traffic against a candidate
//! set (each changed decision with identity, model and time;
//! `--fail-on-change` for CI).

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use modelgate_audit::{AuditEvent, decode_record};
use modelgate_config::Config;
use modelgate_config::DataClasses;
use modelgate_core::policy::{DefaultPermit, compile, policy_roles};
use modelgate_policy::{
    DecisionChange, RecordedDecision, RequestFacts, SCHEMA, TestReport, builtin_text, replay,
    run_tests,
};
use modelgate_store::AuditQuery;

use crate::cli::PolicyCommand;
use crate::output::time;
use crate::setup::open_store;

/// Runs one `policy` subcommand.
pub async fn policy_command(config: &Config, command: PolicyCommand) -> Result<()> {
    let classes = DataClasses::new(&config.data_classes).map_err(|(f, r)| anyhow!("{f}: {r}"))?;
    let roles = policy_roles(config, &classes).map_err(|e| anyhow!(e))?;
    let default_permit = config
        .policy
        .effective_default_permit(!config.roles.is_empty());
    match command {
        PolicyCommand::Schema => print!("{SCHEMA}"),
        PolicyCommand::Show { builtin } => {
            if builtin {
                print!("{}", builtin_text(&roles));
            } else {
                let set = compile(&roles, config.policy.dir.as_deref(), default_permit)
                    .map_err(|e| anyhow!("{e}"))?;
                print!("{}", set.builtin_text());
                for file in set.files() {
                    println!("// ---- {}", file.name.display());
                    print!("{}", file.text);
                }
            }
        }
        PolicyCommand::Check { dir } => {
            let dir = policy_dir(config, dir.as_deref())?;
            let set = compile(&roles, Some(&dir), default_permit).map_err(|e| anyhow!("{e}"))?;
            print_warnings(&set);
            println!(
                "{}: OK ({} files, {} policies with the built-in and role policies{})",
                dir.display(),
                set.files().len(),
                set.len(),
                match set.warnings().len() {
                    0 => String::new(),
                    1 => "; 1 warning".to_owned(),
                    n => format!("; {n} warnings"),
                }
            );
        }
        PolicyCommand::Test { files, policies } => {
            if files.is_empty() {
                bail!("name at least one test file");
            }
            let mut report = TestReport::default();
            for (dir, files) in test_groups(config, policies.as_deref(), files) {
                let set =
                    compile(&roles, Some(&dir), DefaultPermit::None).map_err(|e| anyhow!("{e}"))?;
                print_warnings(&set);
                let ran = run_tests(&set, &files).map_err(|e| anyhow!("{e}"))?;
                report.cases.extend(ran.cases);
            }
            println!("{report}");
            if !report.passed() {
                bail!("policy tests failed");
            }
        }
        PolicyCommand::Replay {
            policies,
            since,
            until,
            fail_on_change,
        } => {
            let candidate =
                compile(&roles, Some(&policies), default_permit).map_err(|e| anyhow!("{e}"))?;
            let store = open_store(config).await?;
            let query = AuditQuery {
                kind: Some("request".into()),
                since: since.as_deref().map(crate::audit::parse_time).transpose()?,
                until: until.as_deref().map(crate::audit::parse_time).transpose()?,
                limit: 10_000,
                ..AuditQuery::default()
            };
            let (records, seen) = recorded_decisions(&store, query).await?;
            let changes = replay(&candidate, records);
            println!(
                "{seen} recorded decisions replayed against {}; {} would change",
                policies.display(),
                changes.len()
            );
            for change in &changes {
                print_change(change);
            }
            if fail_on_change && !changes.is_empty() {
                bail!(
                    "{} decision(s) would change (--fail-on-change)",
                    changes.len()
                );
            }
        }
    }
    Ok(())
}

/// Prints each warning of a compiled set (a `forbid` without `@reason`)
/// to standard error, with file and line.
fn print_warnings(set: &modelgate_policy::CompiledPolicies) {
    for warning in set.warnings() {
        eprintln!("warning: {warning}");
    }
}

/// The test files, each with the policy directory it runs against:
/// `--policies`, else `policy.dir`, else the directory each file is in
/// (the policies next to their tests, as in `examples/policies/`).
fn test_groups(
    config: &Config,
    given: Option<&Path>,
    files: Vec<PathBuf>,
) -> Vec<(PathBuf, Vec<PathBuf>)> {
    if let Some(dir) = given
        .map(Path::to_path_buf)
        .or_else(|| config.policy.dir.clone())
    {
        return vec![(dir, files)];
    }
    let mut groups: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for file in files {
        let dir = match file.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match groups.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, group)) => group.push(file),
            None => groups.push((dir, vec![file])),
        }
    }
    groups
}

/// One changed decision: when, who, which model and action, the change,
/// and the candidate's reason and deciding policies.
fn print_change(change: &DecisionChange<Replayed>) {
    let verdict = |allowed: bool| if allowed { "allow" } else { "deny" };
    let r = &change.record;
    let mut line = format!(
        "{}  {}  identity {}  model {}  {}: {} -> {}",
        r.record,
        time(r.time),
        r.identity,
        r.model,
        r.action,
        verdict(change.recorded.allowed),
        verdict(change.candidate.allowed),
    );
    if let Some(reason) = &change.candidate.reason {
        line.push_str(&format!(" ({reason})"));
    }
    if !change.candidate.policy_ids.is_empty() {
        line.push_str(&format!(" [{}]", change.candidate.policy_ids.join(", ")));
    }
    println!("{line}");
}

fn policy_dir(config: &Config, given: Option<&Path>) -> Result<PathBuf> {
    given
        .map(Path::to_path_buf)
        .or_else(|| config.policy.dir.clone())
        .ok_or_else(|| anyhow!("give --policies DIR (or set policy.dir in the configuration)"))
}

/// A replayed request as the output names it.
struct Replayed {
    /// `replica/seq request_id`.
    record: String,
    /// The identity's name.
    identity: String,
    /// The public model asked for.
    model: String,
    /// The operation.
    action: String,
    /// When it was decided (unix seconds).
    time: i64,
}

/// Every recorded decision with its facts (admit records and refusals that
/// carry `policy_input`), and how many there were.
async fn recorded_decisions(
    store: &modelgate_store::Store,
    mut query: AuditQuery,
) -> Result<(Vec<(Replayed, RequestFacts, RecordedDecision)>, usize)> {
    let mut out = Vec::new();
    loop {
        let hits = store.search_audit(&query).await?;
        let Some(last) = hits.last() else {
            break;
        };
        query.after = Some(last.id);
        for hit in &hits {
            let Ok(record) = decode_record(hit.line.as_bytes()) else {
                continue;
            };
            let AuditEvent::Request(request) = &record.event else {
                continue;
            };
            let (Some(input), Some(decision)) = (&request.policy_input, &request.decision) else {
                continue;
            };
            let Ok(facts) = serde_json::from_str::<RequestFacts>(input) else {
                continue;
            };
            let row = Replayed {
                record: format!("{}/{} {}", record.replica, record.seq, request.request_id),
                identity: facts.principal.name.clone(),
                model: facts.model.clone(),
                action: facts.action.to_string(),
                time: facts.time.unix,
            };
            out.push((
                row,
                facts,
                RecordedDecision {
                    allowed: decision == "allow",
                    policy_ids: request.policy_ids.clone(),
                },
            ));
        }
    }
    let seen = out.len();
    Ok((out, seen))
}
