//! `modelgate policy ...`: the schema, the built-in set, policy tests for
//! CI, checking a directory, and replaying recorded traffic against a
//! candidate set.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use modelgate_audit::{AuditEvent, decode_record};
use modelgate_config::Config;
use modelgate_config::DataClasses;
use modelgate_core::policy::{DefaultPermit, compile, policy_roles};
use modelgate_policy::{RecordedDecision, RequestFacts, SCHEMA, builtin_text, replay, run_tests};
use modelgate_store::AuditQuery;

use crate::cli::PolicyCommand;
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
            println!(
                "{}: OK ({} files, {} policies with the built-in and role policies)",
                dir.display(),
                set.files().len(),
                set.len()
            );
        }
        PolicyCommand::Test { files, policies } => {
            if files.is_empty() {
                bail!("name at least one test file");
            }
            let dir = policy_dir(config, policies.as_deref())?;
            let set =
                compile(&roles, Some(&dir), DefaultPermit::None).map_err(|e| anyhow!("{e}"))?;
            let report = run_tests(&set, &files).map_err(|e| anyhow!("{e}"))?;
            println!("{report}");
            if !report.passed() {
                bail!("policy tests failed");
            }
        }
        PolicyCommand::Replay {
            policies,
            since,
            until,
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
                println!(
                    "{}: {} -> {}{}",
                    change.record,
                    if change.recorded.allowed {
                        "allow"
                    } else {
                        "deny"
                    },
                    if change.candidate.allowed {
                        "allow"
                    } else {
                        "deny"
                    },
                    change
                        .candidate
                        .reason
                        .as_deref()
                        .map(|r| format!(" ({r})"))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(())
}

fn policy_dir(config: &Config, given: Option<&Path>) -> Result<PathBuf> {
    given
        .map(Path::to_path_buf)
        .or_else(|| config.policy.dir.clone())
        .ok_or_else(|| anyhow!("give --policies DIR (or set policy.dir in the configuration)"))
}

type Replayed = Vec<(String, RequestFacts, RecordedDecision)>;

/// Every recorded decision with its facts (admit records and refusals that
/// carry `policy_input`): (`replica/seq request_id`, facts, decision).
async fn recorded_decisions(
    store: &modelgate_store::Store,
    mut query: AuditQuery,
) -> Result<(Replayed, usize)> {
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
            out.push((
                format!("{}/{} {}", record.replica, record.seq, request.request_id),
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
