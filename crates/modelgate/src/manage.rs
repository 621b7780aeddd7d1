//! `modelgate identity ...` and `modelgate key ...`: the NHI registry and
//! API keys, on the local store.

use std::time::Duration;

use anyhow::{Result, bail};
use modelgate_config::Config;
use modelgate_identity::{IdentityService, NewIdentity};
use modelgate_types::clock::unix_now;
use serde_json::json;

use crate::cli::{IdentityCommand, KeyCommand};
use crate::output::Format;
use crate::output::{optional_time, print_table, time};

/// Asks before an irreversible command (`identity offboard`) unless
/// `--yes` was given: on a terminal, the operator types the identity's
/// name back; without a terminal (a script, a pipe) the command is refused
/// until `--yes` says the caller means it. Nothing is opened or changed
/// before this answers.
pub fn confirm(command: &crate::cli::Command) -> Result<()> {
    let crate::cli::Command::Identity(IdentityCommand::Offboard { name, yes: false }) = command
    else {
        return Ok(());
    };
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!(
            "identity offboard {name} cannot be undone and standard input is not a terminal \
             to confirm it: pass --yes to offboard without asking"
        );
    }
    let mut stderr = std::io::stderr();
    write!(
        stderr,
        "Offboarding {name} disables it for good, revokes every key and grant and refuses \
         its tokens; this cannot be undone.\nType the identity's name to confirm: "
    )?;
    stderr.flush()?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if answer.trim() != name {
        bail!("not confirmed: {name} was not offboarded");
    }
    Ok(())
}

/// Runs an `identity` command.
pub async fn identity_command(identity: &IdentityService, command: IdentityCommand) -> Result<()> {
    match command {
        IdentityCommand::Create {
            name,
            kind,
            owner,
            environment,
            purpose,
            format,
        } => {
            let kind = kind.parse().map_err(|e| anyhow::anyhow!("--kind: {e}"))?;
            let created = identity
                .create_identity(
                    NewIdentity {
                        name,
                        kind,
                        owner,
                        environment,
                        purpose,
                    },
                    unix_now(),
                )
                .await?;
            match format {
                Format::Json => println!("{}", json!({ "id": created.id, "name": created.name })),
                Format::Table => println!("created identity {} ({})", created.name, created.id),
            }
            Ok(())
        }
        IdentityCommand::Disable { name } => {
            identity.disable_identity(&name, unix_now()).await?;
            println!("disabled {name}: its keys and tokens stop working until it is enabled");
            Ok(())
        }
        IdentityCommand::Enable { name } => {
            identity.enable_identity(&name, unix_now()).await?;
            println!("enabled {name}");
            Ok(())
        }
        IdentityCommand::Offboard { name, .. } => {
            let summary = identity.offboard_identity(&name, unix_now()).await?;
            println!(
                "offboarded {name}: {} keys revoked, {} grants revoked, {} roles removed; \
                 its tokens are refused; this cannot be undone",
                summary.keys_revoked, summary.grants_revoked, summary.roles_removed
            );
            Ok(())
        }
        IdentityCommand::List { format } => {
            let identities = identity.list_identities().await?;
            match format {
                Format::Json => {
                    let rows: Vec<_> = identities
                        .iter()
                        .map(|i| {
                            json!({
                                "id": i.id, "name": i.name, "kind": i.kind.to_string(),
                                "owner": i.owner, "environment": i.environment,
                                "purpose": i.purpose, "status": i.status.to_string(),
                                "created_at": i.created_at, "last_used_at": i.last_used_at,
                            })
                        })
                        .collect();
                    println!("{}", serde_json::Value::Array(rows));
                }
                Format::Table => {
                    let rows: Vec<Vec<String>> = identities
                        .iter()
                        .map(|i| {
                            vec![
                                i.name.clone(),
                                i.kind.to_string(),
                                i.owner.clone(),
                                i.environment.clone(),
                                i.status.to_string(),
                                time(i.created_at),
                                optional_time(i.last_used_at),
                            ]
                        })
                        .collect();
                    print_table(
                        &[
                            "name",
                            "kind",
                            "owner",
                            "environment",
                            "status",
                            "created",
                            "last used",
                        ],
                        &rows,
                    );
                }
            }
            Ok(())
        }
    }
}

/// Runs a `key` command.
pub async fn key_command(
    identity: &IdentityService,
    config: &Config,
    command: KeyCommand,
) -> Result<()> {
    let max: Duration = config.keys.max_lifetime;
    match command {
        KeyCommand::Create {
            identity: name,
            expires_in,
            label,
            format,
        } => {
            let lifetime = humantime::parse_duration(&expires_in).map_err(|_| {
                anyhow::anyhow!("--expires-in: expected a duration such as 30d or 12h")
            })?;
            if lifetime > max {
                bail!(
                    "--expires-in: at most {} (keys.max_lifetime)",
                    modelgate_types::duration::format(max)
                );
            }
            let issued = identity
                .issue_key(&name, lifetime, label, unix_now())
                .await?;
            match format {
                Format::Json => println!(
                    "{}",
                    json!({
                        "id": issued.id, "identity": name, "key": issued.secret.expose(),
                        "expires_at": issued.expires_at,
                    })
                ),
                Format::Table => {
                    println!("key id:     {}", issued.id);
                    println!("identity:   {name}");
                    println!("expires at: {}", time(issued.expires_at));
                    println!("key:        {}", issued.secret.expose());
                    eprintln!("Store the key now: it is shown once and cannot be recovered.");
                }
            }
            Ok(())
        }
        KeyCommand::List {
            identity: name,
            format,
        } => {
            let now = unix_now();
            let keys = identity.list_keys(name.as_deref()).await?;
            match format {
                Format::Json => {
                    let rows: Vec<_> = keys
                        .iter()
                        .map(|k| {
                            json!({
                                "id": k.id, "identity": k.identity_name, "label": k.label,
                                "hint": k.hint, "status": k.status(now).to_string(),
                                "created_at": k.created_at, "expires_at": k.expires_at,
                                "revoked_at": k.revoked_at, "last_used_at": k.last_used_at,
                            })
                        })
                        .collect();
                    println!("{}", serde_json::Value::Array(rows));
                }
                Format::Table => {
                    let rows: Vec<Vec<String>> = keys
                        .iter()
                        .map(|k| {
                            vec![
                                k.id.clone(),
                                k.identity_name.clone(),
                                k.hint.clone(),
                                k.status(now).to_string(),
                                time(k.expires_at),
                                optional_time(k.last_used_at),
                                k.label.clone().unwrap_or_default(),
                            ]
                        })
                        .collect();
                    print_table(
                        &[
                            "id",
                            "identity",
                            "key",
                            "status",
                            "expires",
                            "last used",
                            "label",
                        ],
                        &rows,
                    );
                }
            }
            Ok(())
        }
        KeyCommand::Revoke { id } => {
            identity.revoke_key(&id, unix_now()).await?;
            println!("revoked {id}");
            Ok(())
        }
        KeyCommand::Rotate { id, grace, format } => {
            let grace = match grace {
                Some(text) => humantime::parse_duration(&text)
                    .map_err(|_| anyhow::anyhow!("--grace: expected a duration such as 24h"))?,
                None => config.keys.rotation_grace,
            };
            let now = unix_now();
            let issued = identity.rotate_key(&id, grace, now).await?;
            let old_until = now + grace.as_secs() as i64;
            match format {
                Format::Json => println!(
                    "{}",
                    json!({
                        "id": issued.id, "replaces": id, "identity": issued.identity.name,
                        "key": issued.secret.expose(), "expires_at": issued.expires_at,
                        "old_key_valid_until": old_until,
                    })
                ),
                Format::Table => {
                    println!("key id:     {}", issued.id);
                    println!(
                        "replaces:   {id} (works until {} at the latest)",
                        time(old_until)
                    );
                    println!("expires at: {}", time(issued.expires_at));
                    println!("key:        {}", issued.secret.expose());
                    eprintln!("Store the key now: it is shown once and cannot be recovered.");
                }
            }
            Ok(())
        }
    }
}
