//! Token, signing-key, admin-role, issuer and KEK commands.

use anyhow::{Context, Result};
use modelgate_config::Config;
use modelgate_identity::admin::AdminScope;
use modelgate_identity::federation::{Federation, IssuerSummary};
use modelgate_identity::tokens::is_token_id;
use modelgate_identity::{AccessTokenSettings, AccessTokens, IdentityService, SigningKeyring};
use modelgate_types::clock::unix_now;

use crate::cli::{AdminCommand, IssuerCommand, SigningKeyCommand, TokenCommand};
use crate::output::Format;
use crate::output::{optional_time, print_table, time};
use crate::setup::{load_kek, open_store};

/// Validates the configured issuers (no network).
pub fn federation(config: &Config) -> Result<Federation> {
    let source = modelgate_core::jwks_fetch::HttpJwksSource::new(std::time::Duration::from_secs(5))
        .map_err(|e| anyhow::anyhow!("issuer key fetcher: {e}"))?;
    Ok(Federation::new(config.issuers.clone(), source)?)
}

async fn open_tokens(config: &Config) -> Result<AccessTokens> {
    let store = open_store(config).await?;
    let kek = load_kek(config)?;
    let keyring = SigningKeyring::load(store.clone(), kek)
        .await
        .context("cannot load signing keys")?;
    let settings = AccessTokenSettings {
        default_lifetime: config.tokens.default_lifetime,
        max_lifetime: config.tokens.max_lifetime,
        ..AccessTokenSettings::default()
    };
    Ok(AccessTokens::new(store, keyring, settings, unix_now()).await?)
}

/// Runs a `token` command.
pub async fn token_command(config: &Config, command: TokenCommand) -> Result<()> {
    match command {
        TokenCommand::Revoke { jti, identity } => {
            // The shape first: nothing is read or written for a value that
            // cannot be a token the gateway minted.
            if !is_token_id(&jti) {
                anyhow::bail!(
                    "cannot revoke a token of {identity:?}: the jti is not a gateway token id \
                     (22 base62 characters)"
                );
            }
            let store = open_store(config).await?;
            let record = store
                .identity_by_name(&identity)
                .await?
                .ok_or_else(|| anyhow::anyhow!("no identity named {identity:?}"))?;
            let token = store
                .issued_token(&jti)
                .await?
                .filter(|t| t.identity_id == record.id)
                .ok_or_else(|| {
                    anyhow::anyhow!("no recorded token {jti} of identity {identity:?}")
                })?;
            let revoked = store.revoke_token_family(&token, unix_now()).await?;
            let note = if revoked.fresh {
                ""
            } else {
                " (already revoked)"
            };
            let count = match revoked.members {
                1 => "1 token".to_owned(),
                n => format!("{n} tokens"),
            };
            println!(
                "revoked token {jti} and its family {} ({count} still live){note}; every replica \
                 refuses them within tokens.sync_interval",
                revoked.family
            );
            Ok(())
        }
    }
}

/// Runs a `signing-key` command.
pub async fn signing_key_command(config: &Config, command: SigningKeyCommand) -> Result<()> {
    let tokens = open_tokens(config).await?;
    match command {
        SigningKeyCommand::List { format } => {
            let keys = tokens.keyring().keys();
            match format {
                Format::Json => println!("{}", serde_json::to_value(&keys)?),
                Format::Table => {
                    let rows: Vec<Vec<String>> = keys
                        .iter()
                        .map(|k| {
                            vec![
                                k.kid.clone(),
                                k.state.as_str().to_owned(),
                                time(k.created_at),
                                optional_time(k.verify_until),
                            ]
                        })
                        .collect();
                    print_table(&["kid", "state", "created", "verifies until"], &rows);
                }
            }
            Ok(())
        }
        SigningKeyCommand::Rotate => {
            let kid = tokens.rotate_signing_key(unix_now()).await?;
            println!(
                "new signing key {kid} is active; the previous key verifies for {} more",
                modelgate_types::duration::format(config.tokens.max_lifetime)
            );
            Ok(())
        }
    }
}

/// Runs an `admin` command.
pub async fn admin_command(identity: &IdentityService, command: AdminCommand) -> Result<()> {
    match command {
        AdminCommand::Bootstrap { expires_in } => {
            let lifetime = humantime::parse_duration(&expires_in)
                .map_err(|_| anyhow::anyhow!("--expires-in: expected a duration such as 24h"))?;
            let issued = identity.bootstrap_admin(lifetime, unix_now()).await?;
            println!("identity:   {} (global admin)", issued.identity.name);
            println!("key id:     {}", issued.id);
            println!("expires at: {}", time(issued.expires_at));
            println!("key:        {}", issued.secret.expose());
            eprintln!(
                "Store the key now: it is shown once. Use it to create named admins, then revoke it."
            );
            Ok(())
        }
        AdminCommand::Grant {
            identity: name,
            owner,
        } => {
            let scope = match owner {
                Some(owner) => AdminScope::Owner(owner),
                None => AdminScope::Global,
            };
            identity
                .grant_admin(&name, scope.clone(), Some("cli"), unix_now())
                .await?;
            match scope {
                AdminScope::Global => println!("{name} is a global admin"),
                AdminScope::Owner(owner) => {
                    println!("{name} administers identities owned by {owner}")
                }
            }
            Ok(())
        }
        AdminCommand::List { format } => admin_list(identity, format).await,
        AdminCommand::Revoke { identity: name } => {
            let had = identity.revoke_admin(&name).await?;
            println!(
                "{}",
                if had {
                    "admin role removed"
                } else {
                    "it had no admin role"
                }
            );
            Ok(())
        }
    }
}

/// `modelgate admin list`: every identity holding the admin role, its
/// scope, status and live keys (ids and hints, never the keys).
async fn admin_list(identity: &IdentityService, format: Format) -> Result<()> {
    let now = unix_now();
    let admins = identity.list_admins().await?;
    let keys = identity.list_keys(None).await?;
    let live_keys = |name: &str| -> Vec<String> {
        keys.iter()
            .filter(|k| k.identity_name == name && k.revoked_at.is_none() && k.expires_at > now)
            .map(|k| format!("{} ({})", k.id, k.hint))
            .collect()
    };
    match format {
        Format::Json => {
            let rows: Vec<serde_json::Value> = admins
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "identity": a.identity.name,
                        "id": a.identity.id,
                        "scope": a.scope.label(),
                        "status": a.identity.status.as_str(),
                        "owner": a.identity.owner,
                        "granted_at": a.granted_at,
                        "granted_by": a.granted_by,
                        "live_keys": live_keys(&a.identity.name),
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(rows));
        }
        Format::Table if admins.is_empty() => {
            println!("no admins (create the first with `modelgate admin bootstrap`)");
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = admins
                .iter()
                .map(|a| {
                    let live = live_keys(&a.identity.name);
                    vec![
                        a.identity.name.clone(),
                        a.scope.label(),
                        a.identity.status.as_str().to_owned(),
                        a.identity.owner.clone(),
                        time(a.granted_at),
                        a.granted_by.clone().unwrap_or_else(|| "-".to_owned()),
                        if live.is_empty() {
                            "-".to_owned()
                        } else {
                            live.join(", ")
                        },
                    ]
                })
                .collect();
            print_table(
                &[
                    "identity",
                    "scope",
                    "status",
                    "owner",
                    "granted",
                    "by",
                    "live keys",
                ],
                &rows,
            );
        }
    }
    Ok(())
}

/// Runs an `issuer` command.
pub fn issuer_command(config: &Config, command: IssuerCommand) -> Result<()> {
    let IssuerCommand::List { format } = command;
    let issuers: Vec<IssuerSummary> = federation(config)?.issuers();
    match format {
        Format::Json => println!("{}", serde_json::to_value(&issuers)?),
        Format::Table => {
            let rows: Vec<Vec<String>> = issuers
                .iter()
                .map(|i| {
                    vec![
                        i.name.clone(),
                        i.preset.as_str().to_owned(),
                        i.issuer.clone(),
                        i.audience.clone(),
                        i.algorithms.join(","),
                        i.rules.to_string(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "name",
                    "preset",
                    "issuer",
                    "audience",
                    "algorithms",
                    "rules",
                ],
                &rows,
            );
        }
    }
    Ok(())
}
