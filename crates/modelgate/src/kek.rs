//! `modelgate kek rotate`: re-seals every value sealed with one of
//! `tokens.previous_keks` (token signing keys, audit keys) with
//! `tokens.kek`, in one store transaction that also moves the state
//! revision, so running replicas reload their keys at their next sync.
//! Nothing is written when any value opens with no configured KEK. Prints
//! KEK ids only, never a KEK.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use modelgate_config::Config;
use modelgate_core::audit::AuditKeys;
use modelgate_identity::signing::sealing_aad;
use modelgate_identity::{KekError, KeyEncryptionKey};
use modelgate_store::{SealedReplacement, SealedTable, Store, StoreError};
use serde::Serialize;

use crate::output::{Format, print_table};
use crate::setup::{load_kek, open_store};

/// Attempts when another writer changes a sealed value meanwhile.
const ATTEMPTS: usize = 3;

/// Whether a configured KEK opens a sealed value, and which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    /// `tokens.kek` opens it.
    Current,
    /// One of `tokens.previous_keks` opens it.
    Previous,
    /// No configured KEK opens it.
    Unknown,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Current => "current",
            Status::Previous => "previous",
            Status::Unknown => "unknown",
        }
    }
}

/// One sealed value in the store and which configured KEK opens it.
#[derive(Debug, Serialize)]
struct SealedValue {
    /// `signing_key` or `audit_key`.
    kind: &'static str,
    /// The row's key id.
    key_id: String,
    /// The id of the KEK that seals it (or that it names, if none opens it).
    kek: Option<String>,
    /// Which configured KEK opens it, if one does.
    status: Status,
    /// Whether the value names its KEK (false: sealed before KEK ids).
    tagged: bool,
    /// Why it does not open (status `unknown` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
    #[serde(skip)]
    table: SealedTable,
    #[serde(skip)]
    replacement: Option<(Vec<u8>, Vec<u8>)>,
}

/// Every sealed value in the store, each with its KEK and, when it is not
/// sealed with the current KEK under its id, its re-sealed value.
async fn survey(store: &Store, kek: &KeyEncryptionKey) -> Result<Vec<SealedValue>> {
    let mut rows: Vec<(SealedTable, String, Vec<u8>, Vec<u8>)> = Vec::new();
    for key in store.list_signing_keys().await? {
        let aad = sealing_aad(&key.kid).to_vec();
        rows.push((
            SealedTable::SigningKey,
            key.kid,
            aad,
            key.sealed_private_key,
        ));
    }
    for key in store.audit_keys().await? {
        let aad = AuditKeys::sealing_aad(&key);
        rows.push((SealedTable::AuditKey, key.key_id, aad, key.sealed));
    }
    let mut values = Vec::with_capacity(rows.len());
    for (table, key_id, aad, sealed) in rows {
        let mut value = SealedValue {
            kind: table.as_str(),
            key_id,
            kek: KeyEncryptionKey::named_kek(&sealed).map(|id| id.to_string()),
            status: Status::Unknown,
            tagged: false,
            problem: None,
            table,
            replacement: None,
        };
        match kek.sealed_by(&sealed, &aad) {
            Ok(by) => {
                value.kek = Some(by.kek.to_string());
                value.tagged = by.tagged;
                value.status = if by.kek == kek.id() {
                    Status::Current
                } else {
                    Status::Previous
                };
                let rotating = !kek.previous_ids().is_empty();
                if rotating && let Some(resealed) = kek.reseal(&sealed, &aad)? {
                    value.replacement = Some((sealed, resealed));
                }
            }
            Err(err @ (KekError::Open | KekError::UnknownKek(_))) => {
                value.problem = Some(err.to_string());
            }
            Err(err) => return Err(err.into()),
        }
        values.push(value);
    }
    Ok(values)
}

/// Fails, naming each value, when some value opens with no configured KEK.
fn refuse_unknown(values: &[SealedValue]) -> Result<()> {
    let unknown: Vec<String> = values
        .iter()
        .filter(|v| v.status == Status::Unknown)
        .map(|v| {
            format!(
                "{} {}: {}",
                v.kind,
                v.key_id,
                v.problem.as_deref().unwrap_or("does not open")
            )
        })
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    bail!(
        "{} sealed value(s) open with no configured key-encryption key; nothing was changed. \
         Add the KEK that sealed them to tokens.previous_keks:\n  {}",
        unknown.len(),
        unknown.join("\n  ")
    )
}

/// What a rotation did, as printed and recorded.
#[derive(Debug, Serialize)]
struct Summary {
    /// The current KEK's id.
    kek: String,
    /// The previous KEKs' ids.
    previous_keks: Vec<String>,
    /// Values re-sealed with the current KEK, per kind.
    resealed: BTreeMap<&'static str, usize>,
    /// Values already sealed with it, per kind.
    unchanged: BTreeMap<&'static str, usize>,
}

impl Summary {
    fn total(&self) -> usize {
        self.resealed.values().sum()
    }
}

/// Runs `kek rotate` (or, with `check`, only reports).
pub async fn rotate_command(config: &Config, check: bool, format: Format) -> Result<()> {
    let kek = load_kek(config)?;
    let store = open_store(config).await?;
    if check {
        let values = survey(&store, &kek).await?;
        print_check(&kek, &values, format)?;
        return refuse_unknown(&values);
    }
    let previous: Vec<String> = kek.previous_ids().iter().map(|id| id.to_string()).collect();
    crate::notes::note("kek", &kek.id().to_string());
    crate::notes::note("previous_keks", &previous.join(","));
    let mut attempt = 0;
    let summary = loop {
        attempt += 1;
        let values = survey(&store, &kek).await?;
        refuse_unknown(&values)?;
        let mut summary = Summary {
            kek: kek.id().to_string(),
            previous_keks: previous.clone(),
            resealed: BTreeMap::new(),
            unchanged: BTreeMap::new(),
        };
        if previous.is_empty() {
            // Nothing may be written without a rotation under way: the
            // survey above proved the current KEK opens everything.
            break summary;
        }
        let mut replacements = Vec::new();
        for value in values {
            let counts = match value.replacement {
                Some((expected, replacement)) => {
                    replacements.push(SealedReplacement {
                        table: value.table,
                        key_id: value.key_id,
                        expected,
                        replacement,
                    });
                    &mut summary.resealed
                }
                None => &mut summary.unchanged,
            };
            *counts.entry(value.kind).or_default() += 1;
        }
        match store.replace_sealed_values(&replacements).await {
            Ok(_) => break summary,
            Err(StoreError::Backend { .. }) if attempt < ATTEMPTS => continue,
            Err(err) => return Err(err.into()),
        }
    };
    for (kind, count) in &summary.resealed {
        crate::notes::note(&format!("resealed_{kind}s"), &count.to_string());
    }
    crate::notes::note("resealed", &summary.total().to_string());
    print_summary(&summary, format)
}

fn print_summary(summary: &Summary, format: Format) -> Result<()> {
    match format {
        Format::Json => println!("{}", serde_json::to_string(summary)?),
        Format::Table if summary.previous_keks.is_empty() => println!(
            "nothing to rotate: tokens.previous_keks is empty, and every sealed value opens \
             with tokens.kek (KEK id {})",
            summary.kek
        ),
        Format::Table => {
            let counts = |map: &BTreeMap<&str, usize>| {
                let parts: Vec<String> = map.iter().map(|(k, n)| format!("{k}: {n}")).collect();
                if parts.is_empty() {
                    "none".to_owned()
                } else {
                    parts.join(", ")
                }
            };
            println!(
                "re-sealed {} value(s) with KEK id {} ({}); already sealed with it: {}",
                summary.total(),
                summary.kek,
                counts(&summary.resealed),
                counts(&summary.unchanged)
            );
            println!(
                "no value is sealed with KEK id(s) {} any more: remove them from \
                 tokens.previous_keks",
                summary.previous_keks.join(", ")
            );
        }
    }
    Ok(())
}

fn print_check(kek: &KeyEncryptionKey, values: &[SealedValue], format: Format) -> Result<()> {
    match format {
        Format::Json => {
            let previous: Vec<String> = kek.previous_ids().iter().map(|i| i.to_string()).collect();
            let report = serde_json::json!({
                "kek": kek.id().to_string(),
                "previous_keks": previous,
                "values": values,
            });
            println!("{report}");
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = values
                .iter()
                .map(|v| {
                    vec![
                        v.kind.to_owned(),
                        v.key_id.clone(),
                        v.kek.clone().unwrap_or_else(|| "-".to_owned()),
                        v.status.as_str().to_owned(),
                        if v.replacement.is_some() { "yes" } else { "no" }.to_owned(),
                    ]
                })
                .collect();
            print_table(&["kind", "key id", "kek id", "status", "to re-seal"], &rows);
        }
    }
    Ok(())
}
