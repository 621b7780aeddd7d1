//! Command dispatch and the store-backed management commands.

use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use modelgate_config::Config;
use modelgate_config::SecretRef;
use modelgate_identity::{IdentityService, KeyEncryptionKey, KeyPolicy};
use modelgate_store::Store;

use crate::cli::{Cli, Command, ConfigCommand};

/// Runs one command. A command that changes state is recorded in the
/// audit log (chain `cli`); the log is opened first, so a change that
/// cannot be recorded is not made.
pub async fn run(cli: Cli) -> Result<()> {
    let Some(event) = crate::audit::cli_event(&cli.command) else {
        return dispatch(cli).await;
    };
    let config = load_config_or_default(&cli.config)?;
    let audit = crate::audit::CliAudit::open(&config).await?;
    match dispatch(cli).await {
        Ok(()) => audit.record(&event, "ok").await,
        Err(err) => {
            if let Err(audit_err) = audit.record(&event, "failed").await {
                eprintln!("error: {audit_err:#}");
            }
            Err(err)
        }
    }
}

async fn dispatch(cli: Cli) -> Result<()> {
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
            crate::credentials::federation(&config)?;
            modelgate_gateway::stages::screen::ScreenRules::new(
                &config.screen,
                &config.data_classes,
                &config.residency,
            )
            .map_err(|(field, reason)| anyhow::anyhow!("{field}: {reason}"))?;
            load_kek(&config)?;
            println!(
                "{}: OK ({} upstreams, {} models)",
                cli.config.display(),
                config.upstreams.len(),
                config.models.len()
            );
            Ok(())
        }
        Command::Identity(command) => {
            let config = load_config_or_default(&cli.config)?;
            let identity = open_identity(&config).await?;
            crate::manage::identity_command(&identity, command).await
        }
        Command::Key(command) => {
            let config = load_config_or_default(&cli.config)?;
            let identity = open_identity(&config).await?;
            crate::manage::key_command(&identity, &config, command).await
        }
        Command::Token(command) => {
            let config = load_config_or_default(&cli.config)?;
            crate::credentials::token_command(&config, command).await
        }
        Command::SigningKey(command) => {
            let config = load_config_or_default(&cli.config)?;
            crate::credentials::signing_key_command(&config, command).await
        }
        Command::Admin(command) => {
            let config = load_config_or_default(&cli.config)?;
            let identity = open_identity(&config).await?;
            crate::credentials::admin_command(&identity, command).await
        }
        Command::Issuer(command) => {
            let config = load_config(&cli.config)?;
            crate::credentials::issuer_command(&config, command)
        }
        Command::Policy(command) => {
            let config = load_config_or_default(&cli.config)?;
            crate::policy::policy_command(&config, command).await
        }
        Command::Audit(command) => {
            let config = load_config_or_default(&cli.config)?;
            crate::audit::audit_command(&config, command).await
        }
        Command::Role(command) => {
            let config = load_config_or_default(&cli.config)?;
            crate::grants::role_command(&config, command).await
        }
        Command::Grant(command) => {
            let config = load_config_or_default(&cli.config)?;
            crate::grants::grant_command(&config, command).await
        }
        Command::Inventory { format, window } => {
            let config = load_config_or_default(&cli.config)?;
            crate::posture::inventory_command(&config, format, window.as_deref()).await
        }
        Command::Posture(command) => {
            let config = load_config_or_default(&cli.config)?;
            crate::posture::posture_command(&config, command).await
        }
        Command::Readiness { format } => {
            let config = load_config(&cli.config)?;
            crate::posture::readiness_command(&config, format)
        }
        Command::Assess { file, format } => crate::posture::assess_command(file, format),
        Command::Review(command) => {
            let config = load_config_or_default(&cli.config)?;
            crate::posture::review_command(&config, command).await
        }
        Command::Kek(crate::cli::KekCommand::Generate) => {
            let kek = KeyEncryptionKey::generate().context("cannot generate a key")?;
            println!("{}", kek.to_base64());
            Ok(())
        }
    }
}

/// The key-encryption key named by `tokens.kek`.
pub fn load_kek(config: &Config) -> Result<KeyEncryptionKey> {
    let Some(reference) = &config.tokens.kek else {
        bail!(
            "tokens.kek is required: create one with `modelgate kek generate`, store it as a \
             secret, and reference it as tokens.kek = \"env:NAME\" or \"file:PATH\""
        );
    };
    let reference = SecretRef::parse(reference).map_err(|e| anyhow::anyhow!("tokens.kek: {e}"))?;
    let value = reference.resolve().context("tokens.kek")?;
    KeyEncryptionKey::parse(value.expose()).map_err(|e| anyhow::anyhow!("tokens.kek: {e}"))
}

/// Reads and validates the configuration file.
pub fn load_config(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read configuration file {}", path.display()))?;
    Config::from_toml(&text).with_context(|| format!("invalid configuration {}", path.display()))
}

/// Reads the configuration if the file exists, else the defaults.
pub fn load_config_or_default(path: &Path) -> Result<Config> {
    if path.exists() {
        load_config(path)
    } else {
        Ok(Config::default())
    }
}

/// Opens the configured store.
pub async fn open_store(config: &Config) -> Result<Store> {
    Store::open_sqlite(&config.store.path)
        .await
        .with_context(|| format!("cannot open store {}", config.store.path.display()))
}

async fn open_identity(config: &Config) -> Result<IdentityService> {
    let store = open_store(config).await?;
    Ok(IdentityService::new(
        store,
        KeyPolicy {
            max_lifetime: config.keys.max_lifetime,
        },
    ))
}

/// RFC 3339 time for people.
pub fn time(at: i64) -> String {
    let at = UNIX_EPOCH + Duration::from_secs(at.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()
}

pub fn optional_time(at: Option<i64>) -> String {
    at.map(time).unwrap_or_else(|| "-".to_owned())
}

/// Prints rows as aligned columns.
pub fn print_table(header: &[&str], rows: &[Vec<String>]) {
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
