//! `modelgate audit` across the store's chains: one per replica, and the
//! CLI's. Lists them with who holds each id, verifies them all, exports
//! them all, and picks the chain a command means when it names none.

use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use modelgate_audit::{AuditPublicKey, ExportRange, VerifyError, VerifyReport, export, verify_log};
use modelgate_config::Config;
use modelgate_config::replica::CLI_REPLICA;
use modelgate_core::audit::AuditKeys;
use modelgate_store::Store;

use crate::output::{Format, print_table};

/// Prints a successful verification, or fails with what broke.
pub fn report_verified(result: Result<VerifyReport, VerifyError>) -> Result<()> {
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
            Ok(())
        }
        Err(err) => bail!("verification failed: {err}"),
    }
}

/// Every line of `replica`'s chain, in written order; an error naming the
/// chains there are when it has none.
pub async fn read_chain(store: &Store, replica: &str) -> Result<Vec<String>> {
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

/// The chain a command means without `--replica`: this configuration's
/// `server.replica_id`, else the store's only gateway chain.
pub async fn default_chain(config: &Config, store: &Store) -> Result<String> {
    if let Some(id) = &config.server.replica_id {
        return Ok(id.clone());
    }
    let gateways: Vec<String> = store
        .audit_replicas()
        .await?
        .into_iter()
        .filter(|r| r != CLI_REPLICA)
        .collect();
    match gateways.as_slice() {
        [only] => Ok(only.clone()),
        [] => bail!("the store holds no gateway chain yet"),
        many => bail!(
            "the store holds several chains ({}): name one with --replica, or use --all",
            many.join(", ")
        ),
    }
}

/// Prints every chain: where it ends, whether that end is signed, and the
/// process holding its id (live or lapsed).
pub async fn list_chains(store: &Store, format: Format) -> Result<()> {
    let heads = store.audit_chain_heads().await?;
    let leases = store.replica_leases().await?;
    let rows: Vec<(String, i64, bool, String)> = heads
        .iter()
        .map(|head| {
            let holder = leases
                .leases
                .iter()
                .find(|l| l.replica_id == head.replica)
                .map(|l| {
                    let state = if l.expires_at_ms > leases.now_ms {
                        "live"
                    } else {
                        "lapsed"
                    };
                    format!("{state}: {} pid {}", l.host, l.pid)
                })
                .unwrap_or_else(|| "none".to_owned());
            (head.replica.clone(), head.last_seq, head.signed, holder)
        })
        .collect();
    match format {
        Format::Json => {
            for (replica, last_seq, signed, holder) in &rows {
                let line = serde_json::json!({
                    "replica": replica, "last_seq": last_seq, "signed": signed, "holder": holder,
                });
                println!("{line}");
            }
        }
        Format::Table => print_table(
            &["CHAIN", "LAST SEQ", "END", "HOLDER"],
            &rows
                .into_iter()
                .map(|(replica, last_seq, signed, holder)| {
                    let end = if signed { "signed" } else { "unsigned tail" };
                    vec![replica, last_seq.to_string(), end.to_owned(), holder]
                })
                .collect::<Vec<_>>(),
        ),
    }
    Ok(())
}

/// Verifies every chain in the store, saying how each fares; fails if any
/// does not verify (or ends in records no checkpoint covers yet).
pub async fn verify_all(store: &Store, keys: &[AuditPublicKey]) -> Result<()> {
    let chains = store.audit_replicas().await?;
    if chains.is_empty() {
        bail!("the store holds no audit chain");
    }
    let mut failed = Vec::new();
    for chain in &chains {
        let lines = read_chain(store, chain).await?;
        let result = verify_log(lines.into_iter().map(|l| Ok(l.into_bytes())), keys);
        if let Err(e) = report_verified(result) {
            println!("FAILED: chain {chain}: {e:#}");
            failed.push(chain.as_str());
        }
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} chains do not verify: {}",
            failed.len(),
            chains.len(),
            failed.join(", ")
        );
    }
    println!("OK: all {} chains verify", chains.len());
    Ok(())
}

/// Writes a sealed export of every chain into `dir` (`REPLICA.jsonl`).
pub async fn export_all(
    store: &Store,
    keys: &AuditKeys,
    range: ExportRange,
    dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for chain in store.audit_replicas().await? {
        let out = dir.join(format!("{chain}.jsonl"));
        export_chain(store, keys, &chain, range, &out).await?;
    }
    Ok(())
}

/// Writes a sealed export of `replica`'s chain to `out`, synced.
pub async fn export_chain(
    store: &Store,
    keys: &AuditKeys,
    replica: &str,
    range: ExportRange,
    out: &Path,
) -> Result<()> {
    let lines = read_chain(store, replica).await?;
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut writer = BufWriter::new(file);
    let summary = export(
        lines.into_iter().map(|l| Ok(l.into_bytes())),
        range,
        &keys.signer,
        &keys.trusted,
        &mut writer,
    )
    .map_err(|e| anyhow!("export of chain {replica} failed: {e}"))?;
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
    Ok(())
}
