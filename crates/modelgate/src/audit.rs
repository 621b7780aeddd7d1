//! `modelgate audit ...`: hash a value for `hmac` bodies, print the public
//! key, export a sealed range, verify a file offline, search, prune. The
//! audit records of the CLI's own changes are `cli_audit`'s.

use std::io::BufReader;

use anyhow::{Context, Result, anyhow, bail};
use modelgate_audit::{
    AuditEvent, AuditPublicKey, Continuity, ExportRange, VerifyError, VerifyReport,
    compare_with_export, decode_record, hash_value, verify, verify_log,
};
use modelgate_config::Config;
use modelgate_core::audit::{AuditKeys, prune_expired_bodies};
use modelgate_store::{AuditQuery, Store};

use crate::audit_chains::{
    default_chain, export_all, export_chain, list_chains, read_chain, report_verified, verify_all,
};
use crate::cli::AuditCommand;
use crate::output::Format;
use crate::output::print_table;
use crate::setup::{load_kek, open_store};

/// Whether `command` reads nothing but a file and keys given on the command
/// line (`audit verify FILE --public-key KEY`): no configuration or store.
pub fn is_offline(command: &AuditCommand) -> bool {
    matches!(command, AuditCommand::Verify { file: Some(_), public_key, .. } if !public_key.is_empty())
}

/// Runs one `audit` subcommand.
pub async fn audit_command(config: &Config, command: AuditCommand) -> Result<()> {
    if is_offline(&command) {
        let AuditCommand::Verify {
            file: Some(file),
            public_key,
            against,
            ..
        } = command
        else {
            bail!("not an offline command");
        };
        let keys = public_keys(&public_key)?;
        if let Some(export) = against {
            return report_continuity(&export, log_file_lines(&file)?, &keys);
        }
        return report_verified(verify_file(&file, &keys)?);
    }
    let store = open_store(config).await?;
    match command {
        AuditCommand::Hash { value } => {
            let keys = load_keys(config, &store).await?;
            println!("{}", hash_value(&keys.hmac, &value));
        }
        AuditCommand::PublicKey => {
            let keys = load_keys(config, &store).await?;
            println!("{}", keys.signer.public_key().to_base64());
        }
        AuditCommand::Export {
            since,
            until,
            replica,
            all,
            out,
        } => {
            let keys = load_keys(config, &store).await?;
            let range = ExportRange {
                since: since.as_deref().map(parse_time).transpose()?,
                until: until.as_deref().map(parse_time).transpose()?,
            };
            if all {
                return export_all(&store, &keys, range, &out).await;
            }
            let replica = match replica {
                Some(replica) => replica,
                None => default_chain(config, &store).await?,
            };
            export_chain(&store, &keys, &replica, range, &out).await?;
        }
        AuditCommand::Chains { format } => list_chains(&store, format).await?,
        AuditCommand::Verify {
            file,
            replica,
            all,
            against,
            public_key,
        } => {
            let keys = if public_key.is_empty() {
                // Only keys derived from the sealed private keys: a public
                // key written into the store by itself vouches for nothing.
                load_keys(config, &store)
                    .await
                    .context("without --public-key the store's sealed audit keys are trusted")?
                    .trusted
            } else {
                public_keys(&public_key)?
            };
            if let Some(export) = against {
                let lines = match (file, replica) {
                    (Some(file), _) => log_file_lines(&file)?,
                    (None, Some(replica)) => read_chain(&store, &replica)
                        .await?
                        .into_iter()
                        .map(String::into_bytes)
                        .collect(),
                    (None, None) => bail!("give a file or --replica to compare with --against"),
                };
                return report_continuity(&export, lines, &keys);
            }
            if all {
                return verify_all(&store, &keys).await;
            }
            let result = match (file, replica) {
                (Some(file), _) => verify_file(&file, &keys)?,
                (None, Some(replica)) => {
                    let lines = read_chain(&store, &replica).await?;
                    verify_log(lines.into_iter().map(|l| Ok(l.into_bytes())), &keys)
                }
                (None, None) => {
                    bail!("give a file to verify, or --replica to verify a chain in the store")
                }
            };
            report_verified(result)?;
        }
        AuditCommand::Search {
            identity,
            model,
            decision,
            kind,
            since,
            until,
            after,
            limit,
            format,
        } => {
            if limit < 1 {
                bail!("--limit: at least 1");
            }
            let most = modelgate_store::AUDIT_PAGE_MAX;
            let limit = if limit > most {
                eprintln!("note: --limit {limit} is above the largest page; showing {most}");
                most
            } else {
                limit
            };
            let mut query = AuditQuery {
                identity,
                model,
                decision,
                kind,
                since: since.as_deref().map(parse_time).transpose()?,
                until: until.as_deref().map(parse_time).transpose()?,
                after,
                // One more than shown, to know whether another page exists
                // (within the store's largest page).
                limit: (limit + 1).min(most),
            };
            let mut hits = store.search_audit(&query).await?;
            let shown = usize::try_from(limit).unwrap_or(usize::MAX);
            let mut more = hits.len() > shown;
            if !more
                && hits.len() == shown
                && query.limit == limit
                && let Some(last) = hits.last()
            {
                // A full page of the largest size: ask for one more record.
                query.after = Some(last.id);
                query.limit = 1;
                more = !store.search_audit(&query).await?.is_empty();
            }
            hits.truncate(shown);
            print_hits(&hits, format)?;
            if more && let Some(last) = hits.last() {
                eprintln!(
                    "more records match: next page with --after {} (same filters)",
                    last.id
                );
            }
        }
        AuditCommand::Prune => {
            let now = modelgate_types::clock::now_ms();
            let pruned = prune_expired_bodies(&store, now).await?;
            println!("pruned the bodies of {pruned} records");
        }
    }
    Ok(())
}

/// The trusted keys given with `--public-key`.
fn public_keys(given: &[String]) -> Result<Vec<AuditPublicKey>> {
    given
        .iter()
        .map(|k| AuditPublicKey::from_base64(k).map_err(|e| anyhow!("--public-key: {e}")))
        .collect()
}

/// The lines of a live log file (records and checkpoints, oldest first).
fn log_file_lines(file: &std::path::Path) -> Result<Vec<Vec<u8>>> {
    let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    Ok(text
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

/// Verifies `lines` and compares them with the sealed export at `export`:
/// success only when the chain holds every record the export proves.
fn report_continuity(
    export: &std::path::Path,
    lines: Vec<Vec<u8>>,
    keys: &[AuditPublicKey],
) -> Result<()> {
    let text =
        std::fs::read(export).with_context(|| format!("cannot read {}", export.display()))?;
    let (report, continuity) = compare_with_export(&text, lines, keys)
        .map_err(|e| anyhow!("verification against {} failed: {e}", export.display()))?;
    let chain = report.replica.as_deref().unwrap_or("-");
    println!(
        "OK: chain {chain} records {}..={} ({} records, {} checkpoints) verify on their own",
        report.first_seq.unwrap_or(0),
        report.last_seq.unwrap_or(0),
        report.records,
        report.checkpoints,
    );
    match continuity {
        Continuity::Complete {
            export_last_seq,
            chain_last_seq,
        } => {
            println!(
                "OK: the chain holds every record of {} (to record {export_last_seq}, \
                 proven by its seal)",
                export.display()
            );
            // Records past the export are proven only by the chain's own
            // checkpoints, as `audit verify` alone would say.
            let signed = report.last_checkpoint_seq.unwrap_or(0).max(export_last_seq);
            if chain_last_seq > signed {
                bail!(
                    "{} records after the last signature are not proven",
                    chain_last_seq - signed
                );
            }
            Ok(())
        }
        Continuity::Truncated {
            chain_last_seq,
            export_last_seq,
        } => bail!(
            "truncated: chain {chain} ends at record {chain_last_seq}; {} proves records \
             {}..={export_last_seq} ({} records) that it no longer holds (restored from an \
             older backup?)",
            export.display(),
            chain_last_seq + 1,
            export_last_seq - chain_last_seq
        ),
    }
}

/// Verifies an export, or a live log file (no export header or seal).
fn verify_file(
    file: &std::path::Path,
    keys: &[AuditPublicKey],
) -> Result<Result<VerifyReport, VerifyError>> {
    let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    Ok(if text.starts_with(b"{\"export\"") {
        verify(BufReader::new(text.as_slice()), keys)
    } else {
        verify_log(
            text.split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| Ok(l.to_vec())),
            keys,
        )
    })
}

async fn load_keys(config: &Config, store: &Store) -> Result<AuditKeys> {
    let kek = load_kek(config)?;
    AuditKeys::load(store, &kek, modelgate_types::clock::unix_now(), false)
        .await
        .map_err(|e| anyhow!("{e}"))
}

fn print_hits(hits: &[modelgate_store::AuditHit], format: Format) -> Result<()> {
    let records = hits
        .iter()
        .map(|hit| {
            decode_record(hit.line.as_bytes())
                .map(|r| (hit.id, r))
                .map_err(|e| anyhow!("audit entry {}: {e}", hit.id))
        })
        .collect::<Result<Vec<_>>>()?;
    match format {
        Format::Json => {
            for (id, record) in &records {
                let event = serde_json::to_value(&record.event)?;
                let line = serde_json::json!({
                    "cursor": id, "replica": record.replica, "seq": record.seq,
                    "time": record.time, "hash": record.hash.to_string(), "event": event,
                });
                println!("{line}");
            }
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = records
                .iter()
                .map(|(id, r)| {
                    let time = crate::output::time(r.time / 1000);
                    let mut row = vec![id.to_string(), format!("{}/{}", r.replica, r.seq), time];
                    match &r.event {
                        AuditEvent::Request(q) => row.extend([
                            q.phase.clone().unwrap_or_else(|| "request".into()),
                            q.identity.clone().unwrap_or_default(),
                            q.operation.clone().unwrap_or_default(),
                            q.model.clone().unwrap_or_default(),
                            q.decision.clone().unwrap_or_default(),
                            q.status.map(|s| s.to_string()).unwrap_or_default(),
                            q.reason.clone().unwrap_or_default(),
                        ]),
                        AuditEvent::Control(c) => row.extend([
                            "control".into(),
                            c.actor.clone().unwrap_or_default(),
                            c.action.clone(),
                            c.target.clone().unwrap_or_default(),
                            c.outcome.clone(),
                            String::new(),
                            ["reason", "error"]
                                .iter()
                                .find_map(|k| c.detail.get(*k).cloned())
                                .unwrap_or_default(),
                        ]),
                    }
                    row
                })
                .collect();
            print_table(
                &[
                    "CURSOR",
                    "CHAIN/SEQ",
                    "TIME",
                    "KIND",
                    "IDENTITY",
                    "ACTION",
                    "MODEL/TARGET",
                    "DECISION",
                    "STATUS",
                    "REASON",
                ],
                &rows,
            );
        }
    }
    Ok(())
}

/// A time as unix milliseconds: RFC 3339 (`2026-11-27T10:00:00Z`), unix
/// seconds, or a duration before now (`15m`, `2h`, `7d`).
pub fn parse_time(text: &str) -> Result<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds.saturating_mul(1000));
    }
    if let Ok(at) = humantime::parse_rfc3339_weak(text) {
        let ms = at
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|_| anyhow!("{text:?} is before 1970"))?
            .as_millis();
        return Ok(i64::try_from(ms).unwrap_or(i64::MAX));
    }
    if let Ok(ago) = humantime::parse_duration(text) {
        let now = modelgate_types::clock::now_ms();
        return Ok(now.saturating_sub(i64::try_from(ago.as_millis()).unwrap_or(i64::MAX)));
    }
    bail!("{text:?} is not a time: use RFC 3339, unix seconds, or a duration ago such as 2h")
}
