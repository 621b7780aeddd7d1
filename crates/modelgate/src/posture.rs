//! `modelgate inventory`, `posture report`, `readiness` and `review ...`:
//! the posture of the live state (the local store, its audit
//! log and the configuration), through the gateway crate's snapshot
//! builder, which the admin API uses too.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{ArgGroup, Subcommand, ValueEnum};
use modelgate_config::Config;
use modelgate_control::posture::review::{AnswerRequest, answer_review, start_review};
use modelgate_control::posture::snapshot::{
    SnapshotOptions, build_snapshot, kind_categories, stored_reviews,
};
use modelgate_core::posture_context::PostureContext;
use modelgate_identity::access::Requester;
use modelgate_identity::{IdentityService, KeyPolicy};
use modelgate_posture::{PostureSnapshot, Report, ReportFormat, ReviewDecision};
use modelgate_types::clock::unix_now;

use crate::output::Format;
use crate::output::{optional_time, print_table, time};
use crate::setup::open_store;

/// Output of `modelgate inventory`.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum InventoryFormat {
    /// Aligned columns.
    #[default]
    Table,
    /// A JSON array.
    Json,
    /// CSV with a header row.
    Csv,
}

/// Output of `modelgate posture report`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormatArg {
    /// Markdown.
    Md,
    /// JSON.
    Json,
    /// One self-contained HTML page.
    Html,
}

/// `modelgate posture ...`.
#[derive(Debug, Subcommand)]
pub enum PostureCommand {
    /// Findings by OWASP NHI Top 10 item with evidence and remediation,
    /// readiness gaps, and the NIST CSF 2.0 / AI RMF mapping.
    Report {
        /// Output format.
        #[arg(long, value_enum)]
        format: ReportFormatArg,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// How far back to read the audit log (default `posture.audit_window`).
        #[arg(long)]
        window: Option<String>,
    },
}

/// `modelgate review ...`.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// Open an access review of every identity's roles and grants, each
    /// item addressed to the identity's owner.
    Start {
        /// Answers are due this long from now.
        #[arg(long, default_value = "14d")]
        due: String,
    },
    /// The recent reviews and their items.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Keep or revoke one item, as the identity's owner; a revoke removes
    /// the role or grant at once.
    #[command(group(ArgGroup::new("decision").required(true).args(["keep", "revoke"])))]
    Answer {
        /// Review id (`review-...`).
        review: String,
        /// Item id (`IDENTITY_ID:role:ROLE`).
        item: String,
        /// Still needed.
        #[arg(long)]
        keep: bool,
        /// Take it away.
        #[arg(long)]
        revoke: bool,
        /// The owner answering.
        #[arg(long)]
        by: String,
    },
}

fn window(config: &Config, text: Option<&str>) -> Result<Duration> {
    match text {
        None => Ok(config.posture.audit_window),
        Some(text) => humantime::parse_duration(text)
            .map_err(|_| anyhow!("--window: expected a duration such as 30d")),
    }
}

/// The identity service with the configured roles, on the local store.
async fn open(config: &Config) -> Result<IdentityService> {
    let store = open_store(config).await?;
    let catalog = config.role_catalog().context("invalid roles")?;
    Ok(IdentityService::new(
        store,
        KeyPolicy {
            max_lifetime: config.keys.max_lifetime,
        },
    )
    .with_roles(catalog))
}

async fn snapshot(config: &Config, window: Duration) -> Result<PostureSnapshot> {
    let identity = open(config).await?;
    let context = PostureContext::from_config(config);
    let stage = modelgate_gateway::stages::screen::ScreenRules::new(
        &config.screen,
        &config.data_classes,
        &config.residency,
    )
    .map_err(|(field, reason)| anyhow!("{field}: {reason}"))?;
    let snapshot = build_snapshot(
        &identity,
        &context,
        &kind_categories(stage.screener()),
        SnapshotOptions {
            now: unix_now(),
            window: Some(window),
        },
    )
    .await?;
    Ok(snapshot)
}

/// `modelgate inventory`.
pub async fn inventory_command(
    config: &Config,
    format: InventoryFormat,
    window_text: Option<&str>,
    wide: bool,
) -> Result<()> {
    let snapshot = snapshot(config, window(config, window_text)?).await?;
    let rows = modelgate_posture::inventory(&snapshot);
    let text = match format {
        InventoryFormat::Table if wide => modelgate_posture::inventory::render_wide_table(&rows),
        InventoryFormat::Table => modelgate_posture::inventory::render_table(&rows),
        InventoryFormat::Json => modelgate_posture::inventory::render_json(&rows)?,
        InventoryFormat::Csv => modelgate_posture::inventory::render_csv(&rows)?,
    };
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    Ok(())
}

/// `modelgate posture ...`.
pub async fn posture_command(config: &Config, command: PostureCommand) -> Result<()> {
    let PostureCommand::Report {
        format,
        out,
        window: window_text,
    } = command;
    let snapshot = snapshot(config, window(config, window_text.as_deref())?).await?;
    let report = Report::build(&snapshot, &config.posture.thresholds);
    let format = match format {
        ReportFormatArg::Md => ReportFormat::Markdown,
        ReportFormatArg::Json => ReportFormat::Json,
        ReportFormatArg::Html => ReportFormat::Html,
    };
    let text = report.render(format)?;
    match out {
        Some(path) => {
            std::fs::write(&path, text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "wrote the posture report ({} findings) to {}",
                report.findings.len(),
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// `modelgate readiness`: fails when any upstream has a gap.
pub fn readiness_command(config: &Config, format: Format) -> Result<()> {
    let context = PostureContext::from_config(config);
    let gaps = context.readiness();
    match format {
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "ready": gaps.is_empty(),
                "require_readiness": context.require_readiness(),
                "gaps": gaps,
            })
        ),
        Format::Table if gaps.is_empty() => {
            println!("all {} upstreams are ready", config.upstreams.len());
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = gaps
                .iter()
                .map(|g| {
                    vec![
                        g.upstream.clone(),
                        g.kind.field().to_owned(),
                        g.reason.clone(),
                    ]
                })
                .collect();
            print_table(&["upstream", "missing", "reason"], &rows);
        }
    }
    if !gaps.is_empty() {
        let mut upstreams: Vec<&str> = gaps.iter().map(|g| g.upstream.as_str()).collect();
        upstreams.dedup();
        bail!(
            "{} readiness gap(s) in upstream(s) {}{}",
            gaps.len(),
            upstreams.join(", "),
            if context.require_readiness() {
                "; the gateway refuses to route to them (posture.require_readiness)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// `modelgate review ...`.
pub async fn review_command(config: &Config, command: ReviewCommand) -> Result<()> {
    let identity = open(config).await?;
    let now = unix_now();
    match command {
        ReviewCommand::Start { due } => {
            let due = humantime::parse_duration(&due)
                .map_err(|_| anyhow!("--due: expected a duration such as 14d"))?;
            let due_at = now.saturating_add(i64::try_from(due.as_secs()).unwrap_or(i64::MAX));
            let context = PostureContext::from_config(config);
            let review = start_review(&identity, &context, now, due_at).await?;
            crate::notes::note("target", &review.id);
            crate::notes::note("items", &review.items.len().to_string());
            crate::notes::note("due_at", &review.due_at.to_string());
            println!(
                "opened review {} with {} items, due {}",
                review.id,
                review.items.len(),
                time(review.due_at)
            );
        }
        ReviewCommand::List { format } => {
            let reviews = stored_reviews(identity.store()).await?;
            match format {
                Format::Json => println!("{}", serde_json::to_string(&reviews)?),
                Format::Table => {
                    let rows: Vec<Vec<String>> = reviews
                        .iter()
                        .flat_map(|r| {
                            r.items.iter().map(|i| {
                                vec![
                                    r.id.clone(),
                                    i.id.clone(),
                                    i.identity_name.clone(),
                                    i.entitlement.clone(),
                                    i.source.clone(),
                                    i.owner.clone().unwrap_or_else(|| "-".to_owned()),
                                    time(r.due_at),
                                    i.answer.as_ref().map_or_else(
                                        || "pending".to_owned(),
                                        |a| {
                                            format!(
                                                "{} by {} {}",
                                                decision(a.decision),
                                                a.reviewer,
                                                optional_time(Some(a.answered_at))
                                            )
                                        },
                                    ),
                                ]
                            })
                        })
                        .collect();
                    if rows.is_empty() {
                        println!("no reviews (open one with `modelgate review start`)");
                    } else {
                        print_table(
                            &[
                                "review", "item", "identity", "role", "source", "owner", "due",
                                "answer",
                            ],
                            &rows,
                        );
                    }
                }
            }
        }
        ReviewCommand::Answer {
            review,
            item,
            keep: _,
            revoke,
            by,
        } => {
            let decided = if revoke {
                ReviewDecision::Revoke
            } else {
                ReviewDecision::Keep
            };
            let answered = answer_review(
                &identity,
                AnswerRequest {
                    review: &review,
                    item: &item,
                    reviewer: &by,
                    decision: decided,
                    revoker: Requester::Named(by.clone()),
                    now,
                },
            )
            .await?;
            if let Some(applied) = &answered.applied {
                crate::notes::note("applied", applied);
            }
            crate::notes::note("identity", &answered.item.identity_name);
            println!(
                "{}: {} {} of {}{}",
                review,
                decision(decided),
                answered.item.entitlement,
                answered.item.identity_name,
                answered
                    .applied
                    .map(|a| format!(" (done: {a})"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}

fn decision(d: ReviewDecision) -> &'static str {
    match d {
        ReviewDecision::Keep => "keep",
        ReviewDecision::Revoke => "revoke",
    }
}
