//! Command dispatch: which module runs each command, and the audit record
//! of a command that changes state.

use anyhow::{Context, Result};
use modelgate_identity::KeyEncryptionKey;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::setup::{load_config, load_config_or_default, load_kek, open_identity};

/// Runs one command. A command that changes state is recorded in the
/// audit log (chain `cli`); the log is opened first, so a change that
/// cannot be recorded is not made.
pub async fn run(cli: Cli) -> Result<()> {
    let Some(event) = crate::cli_audit::cli_event(&cli.command) else {
        return dispatch(cli).await;
    };
    let config = load_config_or_default(&cli.config)?;
    let audit = crate::cli_audit::CliAudit::open(&config).await?;
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
        Command::Kek(crate::cli::KekCommand::Rotate { check, format }) => {
            let config = load_config(&cli.config)?;
            crate::kek::rotate_command(&config, check, format).await
        }
    }
}
