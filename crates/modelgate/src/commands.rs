//! Command dispatch and the store-backed management commands.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use modelgate_gateway::Config;
use modelgate_gateway::gateway::unix_now;
use modelgate_identity::{IdentityService, KeyPolicy, NewIdentity};
use modelgate_store::Store;
use serde_json::json;

use crate::cli::{Cli, Command, ConfigCommand, Format, IdentityCommand, KeyCommand};

/// Runs one command.
pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) if args.dev => crate::dev::serve_dev(args.listen).await,
        Command::Serve(args) => {
            let config = load_config(&cli.config)?;
            crate::serve::serve(config, args.listen, None).await
        }
        Command::Config(ConfigCommand::Check) => {
            let config = load_config(&cli.config)?;
            for upstream in &config.upstreams {
                modelgate_gateway::upstream::Upstream::from_config(upstream, &config.breaker)?;
            }
            println!(
                "{}: OK ({} upstreams, {} models)",
                cli.config.display(),
                config.upstreams.len(),
                config.models.len()
            );
            Ok(())
        }
        Command::Identity(command) => {
            let identity = open_identity(&cli.config).await?;
            identity_command(&identity, command).await
        }
        Command::Key(command) => {
            let (identity, max) = open_identity_with_policy(&cli.config).await?;
            key_command(&identity, max, command).await
        }
    }
}

/// Reads and validates the configuration file.
pub fn load_config(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    Config::from_toml(&text).with_context(|| format!("invalid configuration {}", path.display()))
}

/// Reads the configuration if the file exists, else the defaults.
fn load_config_or_default(path: &Path) -> Result<Config> {
    if path.exists() {
        load_config(path)
    } else {
        Ok(Config::default())
    }
}

async fn open_identity_with_policy(config_path: &Path) -> Result<(IdentityService, Duration)> {
    let config = load_config_or_default(config_path)?;
    let store = Store::open_sqlite(&config.store.path)
        .await
        .with_context(|| format!("cannot open store {}", config.store.path.display()))?;
    let max = config.keys.max_lifetime;
    Ok((
        IdentityService::new(store, KeyPolicy { max_lifetime: max }),
        max,
    ))
}

async fn open_identity(config_path: &Path) -> Result<IdentityService> {
    Ok(open_identity_with_policy(config_path).await?.0)
}

/// RFC 3339 time for people.
fn time(at: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(at.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

fn optional_time(at: Option<i64>) -> String {
    at.map(time).unwrap_or_else(|| "-".to_owned())
}

/// Prints rows as aligned columns.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_uppercase()).collect());
    for row in rows {
        line(row.clone());
    }
}

async fn identity_command(identity: &IdentityService, command: IdentityCommand) -> Result<()> {
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

async fn key_command(identity: &IdentityService, max: Duration, command: KeyCommand) -> Result<()> {
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
                    humantime::format_duration(max)
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
    }
}
