//! `modelgate role ...` and `modelgate grant ...`: roles from the
//! configuration, standing role assignments and just-in-time grants, on the
//! local store.

use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::Subcommand;
use modelgate_config::Config;
use modelgate_identity::access::{
    AccessEvent, Grant, GrantFilter, GrantRequest, GrantState, Requester,
};
use modelgate_identity::{IdentityService, KeyPolicy};
use modelgate_types::clock::unix_now;
use serde_json::{Value, json};

use crate::output::Format;
use crate::output::{optional_time, print_table, time};
use crate::setup::open_store;

/// `modelgate role ...`.
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// List the roles defined in the configuration.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Give an identity a role standing (never a jit_only role).
    Assign {
        /// Identity name.
        #[arg(long)]
        identity: String,
        /// Role name.
        #[arg(long)]
        role: String,
        /// End of the assignment: RFC 3339 time or a date (`2026-12-31`).
        #[arg(long, conflicts_with = "for_")]
        until: Option<String>,
        /// End of the assignment as a duration from now, such as `30d`.
        #[arg(long = "for", id = "for_")]
        for_: Option<String>,
        /// Who assigns it (recorded).
        #[arg(long)]
        by: String,
    },
    /// Take a standing role away.
    Unassign {
        /// Identity name.
        #[arg(long)]
        identity: String,
        /// Role name.
        #[arg(long)]
        role: String,
        /// Who removes it (recorded).
        #[arg(long)]
        by: String,
    },
    /// An identity's standing assignments and the roles it holds now.
    Show {
        /// Identity name.
        #[arg(long)]
        identity: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `modelgate grant ...`.
#[derive(Debug, Subcommand)]
pub enum GrantCommand {
    /// Ask for a role for a while; pending until approved.
    Request {
        /// Identity name.
        #[arg(long)]
        identity: String,
        /// Role name.
        #[arg(long)]
        role: String,
        /// How long once approved, such as `2h` (capped by configuration).
        #[arg(long = "for")]
        for_: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// Who asks: the identity itself or its owner.
        #[arg(long)]
        by: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Approve a pending grant (approver role; not the requester, not the
    /// identity the grant is for, and sharing an owner with neither).
    Approve {
        /// Grant id (`grt_...`).
        id: String,
        /// The approving identity.
        #[arg(long)]
        by: String,
    },
    /// Deny a pending grant (approver role).
    Deny {
        /// Grant id (`grt_...`).
        id: String,
        /// The denying identity.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// End a pending or active grant now.
    Revoke {
        /// Grant id (`grt_...`).
        id: String,
        /// Who revokes: the identity, its owner, the requester or an approver.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// List grants with their state now.
    List {
        /// Only this identity's grants.
        #[arg(long)]
        identity: Option<String>,
        /// Only grants in this state (pending, approved, denied, revoked, expired).
        #[arg(long)]
        state: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// The identity service with the configured roles.
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

fn parse_duration(text: &str, flag: &str) -> Result<Duration> {
    humantime::parse_duration(text)
        .map_err(|_| anyhow!("{flag}: expected a duration such as 2h or 30d"))
}

/// `2026-12-31`, `2026-12-31T12:00:00Z` or `2026-12-31 12:00:00` (UTC).
fn parse_until(text: &str) -> Result<i64> {
    let full = if text.len() == 10 {
        format!("{text}T00:00:00Z")
    } else {
        text.to_owned()
    };
    let at = humantime::parse_rfc3339_weak(&full)
        .map_err(|_| anyhow!("--until: expected a date (2026-12-31) or an RFC 3339 time"))?;
    let secs = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| anyhow!("--until: before 1970"))?
        .as_secs();
    i64::try_from(secs).map_err(|_| anyhow!("--until: out of range"))
}

/// Runs a `role` command.
pub async fn role_command(config: &Config, command: RoleCommand) -> Result<()> {
    let service = open(config).await?;
    let now = unix_now();
    match command {
        RoleCommand::List { format } => {
            let catalog = service.roles();
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_value(catalog.roles().collect::<Vec<_>>())?
                ),
                Format::Table => {
                    let rows: Vec<Vec<String>> = catalog
                        .roles()
                        .map(|r| {
                            vec![
                                r.name.clone(),
                                if r.jit_only { "jit only" } else { "standing" }.to_owned(),
                                r.approvals_required.to_string(),
                                r.models.join(","),
                                r.actions.join(","),
                                r.description.clone(),
                            ]
                        })
                        .collect();
                    print_table(
                        &[
                            "name",
                            "held",
                            "approvals",
                            "models",
                            "actions",
                            "description",
                        ],
                        &rows,
                    );
                }
            }
        }
        RoleCommand::Assign {
            identity,
            role,
            until,
            for_,
            by,
        } => {
            let until = match (until, for_) {
                (Some(text), _) => Some(parse_until(&text)?),
                (None, Some(text)) => {
                    let d = parse_duration(&text, "--for")?;
                    Some(now.saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)))
                }
                (None, None) => None,
            };
            let change = service
                .assign_role(&identity, &role, until, &by, now)
                .await?;
            println!(
                "assigned role {role} to {identity} {}",
                match change.value.until {
                    Some(at) => format!("until {}", time(at)),
                    None => "with no end".to_owned(),
                }
            );
        }
        RoleCommand::Unassign { identity, role, by } => {
            service.unassign_role(&identity, &role, &by, now).await?;
            println!("removed role {role} from {identity}");
        }
        RoleCommand::Show { identity, format } => {
            let found = service.identity(&identity).await?;
            let assignments = service.list_role_assignments(Some(&identity)).await?;
            let active = service.entitlements(&found.id, now).await?;
            match format {
                Format::Json => println!(
                    "{}",
                    json!({
                        "identity": identity,
                        "assignments": serde_json::to_value(&assignments)?,
                        "active": serde_json::to_value(&active.roles)?,
                    })
                ),
                Format::Table => {
                    let rows: Vec<Vec<String>> = active
                        .roles
                        .iter()
                        .map(|r| {
                            let source = match &r.source {
                                modelgate_identity::access::RoleSource::Standing => {
                                    "standing".to_owned()
                                }
                                modelgate_identity::access::RoleSource::Grant { grant_id } => {
                                    format!("grant {grant_id}")
                                }
                            };
                            vec![r.role.clone(), source, optional_time(r.until)]
                        })
                        .collect();
                    if rows.is_empty() {
                        println!("{identity} holds no role now");
                    } else {
                        print_table(&["role", "source", "until"], &rows);
                    }
                }
            }
        }
    }
    Ok(())
}

fn grant_json(grant: &Grant, now: i64) -> Value {
    let mut value = serde_json::to_value(grant).unwrap_or_default();
    if let Value::Object(map) = &mut value {
        map.insert("state".into(), json!(grant.state(now).as_str()));
        map.insert("active".into(), json!(grant.is_active(now)));
    }
    value
}

fn describe(event: &AccessEvent) -> String {
    match event {
        AccessEvent::GrantRequested {
            grant_id,
            identity,
            role,
            approvals_required,
            pending_expires_at,
            ..
        } => format!(
            "requested grant {grant_id}: role {role} for {identity}; pending until {} \
             ({approvals_required} approval(s) needed)",
            time(*pending_expires_at)
        ),
        AccessEvent::GrantApprovalRecorded {
            grant_id,
            approvals,
            approvals_required,
            ..
        } => format!(
            "recorded approval {approvals} of {approvals_required} for grant {grant_id}; \
             still pending"
        ),
        AccessEvent::GrantApproved {
            grant_id,
            role,
            expires_at,
            ..
        } => format!(
            "approved grant {grant_id}: role {role} active until {}",
            time(*expires_at)
        ),
        AccessEvent::GrantDenied { grant_id, .. } => format!("denied grant {grant_id}"),
        AccessEvent::GrantRevoked { grant_id, from, .. } => {
            format!("revoked grant {grant_id} (was {from}); it stops now")
        }
        other => other.action().to_owned(),
    }
}

/// Runs a `grant` command.
pub async fn grant_command(config: &Config, command: GrantCommand) -> Result<()> {
    let service = open(config).await?;
    let now = unix_now();
    let change = match command {
        GrantCommand::Request {
            identity,
            role,
            for_,
            reason,
            by,
            format,
        } => {
            let request = GrantRequest {
                identity,
                role,
                duration: parse_duration(&for_, "--for")?,
                reason,
                requested_by: Requester::Named(by),
            };
            let change = service.request_grant(request, now).await?;
            if let Format::Json = format {
                println!("{}", grant_json(&change.value, now));
                return Ok(());
            }
            change
        }
        GrantCommand::Approve { id, by } => service.approve_grant(&id, &by, now).await?,
        GrantCommand::Deny { id, by, reason } => {
            service.deny_grant(&id, &by, reason.as_deref(), now).await?
        }
        GrantCommand::Revoke { id, by, reason } => {
            service
                .revoke_grant(&id, &Requester::Named(by), reason.as_deref(), now)
                .await?
        }
        GrantCommand::List {
            identity,
            state,
            format,
        } => {
            let state = state
                .map(|s| s.parse::<GrantState>())
                .transpose()
                .map_err(|e| anyhow!("--state: {e}"))?;
            let grants = service
                .list_grants(&GrantFilter { identity, state }, now)
                .await?;
            print_grants(&grants, now, format);
            return Ok(());
        }
    };
    println!("{}", describe(&change.event));
    Ok(())
}

fn print_grants(grants: &[Grant], now: i64, format: Format) {
    match format {
        Format::Json => {
            let rows: Vec<Value> = grants.iter().map(|g| grant_json(g, now)).collect();
            println!("{}", Value::Array(rows));
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = grants
                .iter()
                .map(|g| {
                    vec![
                        g.id.clone(),
                        g.identity_name.clone(),
                        g.role.clone(),
                        g.state(now).to_string(),
                        format!("{}/{}", g.approvals.len(), g.approvals_required),
                        g.requested_by.clone(),
                        optional_time(g.expires_at),
                        g.reason.clone(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "id",
                    "identity",
                    "role",
                    "state",
                    "approvals",
                    "requested by",
                    "expires",
                    "reason",
                ],
                &rows,
            );
        }
    }
}
