//! `modelgate audit ...`: hash a value for `hmac` bodies, print the public
//! key, export a sealed range, verify a file offline, search, prune. The
//! audit records of the CLI's own changes are `cli_audit`'s.

use std::io::{BufReader, BufWriter, Write};

use anyhow::{Context, Result, anyhow, bail};
use modelgate_audit::{
    AuditEvent, AuditPublicKey, ExportRange, VerifyError, VerifyReport, decode_record, export,
    hash_value, verify, verify_log,
};
use modelgate_config::Config;
use modelgate_core::audit::{AuditKeys, prune_expired_bodies};
use modelgate_store::{AuditQuery, Store};

use crate::cli::AuditCommand;
use crate::output::Format;
use crate::output::print_table;
use crate::setup::{load_kek, open_store};

/// Runs one `audit` subcommand.
pub async fn audit_command(config: &Config, command: AuditCommand) -> Result<()> {
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
            out,
        } => {
            let keys = load_keys(config, &store).await?;
            let range = ExportRange {
                since: since.as_deref().map(parse_time).transpose()?,
                until: until.as_deref().map(parse_time).transpose()?,
            };
            let lines = read_chain(&store, &replica).await?;
            let file = std::fs::File::create(&out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            let mut writer = BufWriter::new(file);
            let summary = export(
                lines.into_iter().map(|l| Ok(l.into_bytes())),
                range,
                &keys.signer,
                &keys.trusted,
                &mut writer,
            )
            .map_err(|e| anyhow!("export failed: {e}"))?;
            writer.flush()?;
            writer
                .get_ref()
                .sync_all()
                .with_context(|| format!("cannot sync {}", out.display()))?;
            println!(
                "exported {} records and {} checkpoints of chain {replica} (seq {}..={}) to {}",
                summary.records,
                summary.checkpoints,
                summary.anchor_seq + 1,
                summary.last_seq,
                out.display()
            );
        }
        AuditCommand::Verify {
            file,
            replica,
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
                public_key
                    .iter()
                    .map(|k| {
                        AuditPublicKey::from_base64(k).map_err(|e| anyhow!("--public-key: {e}"))
                    })
                    .collect::<Result<Vec<_>>>()?
            };
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
            match result {
                Ok(report) => {
                    println!(
                        "OK: chain {} records {}..={} ({} records, {} checkpoints, {} pruned bodies){}",
                        report.replica.as_deref().unwrap_or("-"),
                        report.first_seq.unwrap_or(0),
                        report.last_seq.unwrap_or(0),
                        report.records,
                        report.checkpoints,
                        report.pruned_bodies,
                        if report.sealed { ", sealed" } else { "" }
                    );
                    if report.unverified_tail > 0 {
                        bail!(
                            "{} records after the last signature are not proven",
                            report.unverified_tail
                        );
                    }
                }
                Err(err) => bail!("verification failed: {err}"),
            }
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
            let query = AuditQuery {
                identity,
                model,
                decision,
                kind,
                since: since.as_deref().map(parse_time).transpose()?,
                until: until.as_deref().map(parse_time).transpose()?,
                after,
                limit,
            };
            let hits = store.search_audit(&query).await?;
            print_hits(&hits, format)?;
        }
        AuditCommand::Prune => {
            let now = modelgate_types::clock::now_ms();
            let pruned = prune_expired_bodies(&store, now).await?;
            println!("pruned the bodies of {pruned} records");
        }
    }
    Ok(())
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

/// Every line of `replica`'s chain, in written order.
async fn read_chain(store: &Store, replica: &str) -> Result<Vec<String>> {
    let mut lines = Vec::new();
    let mut after = 0;
    loop {
        let page = store.audit_lines(replica, after, 10_000).await?;
        let Some((last, _)) = page.last() else {
            break;
        };
        after = *last;
        lines.extend(page.into_iter().map(|(_, line)| line));
    }
    if lines.is_empty() {
        let replicas = store.audit_replicas().await?;
        bail!(
            "no audit chain named {replica:?} in the store (chains: {})",
            replicas.join(", ")
        );
    }
    Ok(lines)
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
                        ]),
                        AuditEvent::Control(c) => row.extend([
                            "control".into(),
                            c.actor.clone().unwrap_or_default(),
                            c.action.clone(),
                            c.target.clone().unwrap_or_default(),
                            c.outcome.clone(),
                            String::new(),
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
