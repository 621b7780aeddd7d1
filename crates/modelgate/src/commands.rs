//! Command dispatch: which module runs each command, and the audit record
//! of a command that changes state.

use anyhow::{Context, Result};
use modelgate_identity::KeyEncryptionKey;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::setup::{load_config, load_config_or_default, open_identity};

/// Runs one command. A command that changes state is recorded in the
/// audit log (chain `cli`); the log is opened first, so a change that
/// cannot be recorded is not made.
pub async fn run(cli: Cli) -> Result<()> {
    let Some(event) = crate::cli_audit::cli_event(&cli.command) else {
        crate::manage::confirm(&cli.command)?;
        return dispatch(cli).await;
    };
    let config = load_config(cli.config.as_deref())?;
    // Asked once the configuration is known to be there; a change refused
    // here was never begun, so it is not recorded.
    crate::manage::confirm(&cli.command)?;
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
        Command::Serve(args) if args.dev => {
            crate::dev::serve_dev(args.listen, cli.config.as_deref()).await
        }
        Command::Serve(args) => {
            let config = load_config(cli.config.as_deref())?;
            crate::serve::serve(config, args.listen, None).await
        }
        Command::Config(ConfigCommand::Check) => {
            crate::config_check::check(cli.config.as_deref()).await
        }
        Command::Identity(command) => {
            let config = load_config(cli.config.as_deref())?;
            let identity = open_identity(&config).await?;
            crate::manage::identity_command(&identity, command).await
        }
        Command::Key(command) => {
            let config = load_config(cli.config.as_deref())?;
            let identity = open_identity(&config).await?;
            crate::manage::key_command(&identity, &config, command).await
        }
        Command::Token(command) => {
            let config = load_config(cli.config.as_deref())?;
            crate::credentials::token_command(&config, command).await
        }
        Command::SigningKey(command) => {
            let config = load_config(cli.config.as_deref())?;
            crate::credentials::signing_key_command(&config, command).await
        }
        Command::Admin(command) => {
            let config = load_config(cli.config.as_deref())?;
            let identity = open_identity(&config).await?;
            crate::credentials::admin_command(&identity, command).await
        }
        Command::Issuer(command) => {
            let config = load_config(cli.config.as_deref())?;
            crate::credentials::issuer_command(&config, command)
        }
        Command::Policy(command) => {
            // Only replay reads the store; the rest work on policy files
            // (and the roles of a configuration, when there is one).
            let config = if matches!(command, crate::cli::PolicyCommand::Replay { .. }) {
                load_config(cli.config.as_deref())?
            } else {
                load_config_or_default(cli.config.as_deref())?
            };
            crate::policy::policy_command(&config, command).await
        }
        Command::Audit(command) => {
            let config = if crate::audit::is_offline(&command) {
                load_config_or_default(cli.config.as_deref())?
            } else {
                load_config(cli.config.as_deref())?
            };
            crate::audit::audit_command(&config, command).await
        }
        Command::Role(command) => {
            let config = load_config(cli.config.as_deref())?;
            crate::grants::role_command(&config, command).await
        }
        Command::Grant(command) => {
            let config = load_config(cli.config.as_deref())?;
            crate::grants::grant_command(&config, command).await
        }
        Command::Inventory {
            format,
            window,
            wide,
        } => {
            let config = load_config(cli.config.as_deref())?;
            crate::posture::inventory_command(&config, format, window.as_deref(), wide).await
        }
        Command::Posture(command) => {
            let config = load_config(cli.config.as_deref())?;
            crate::posture::posture_command(&config, command).await
        }
        Command::Readiness { format } => {
            let config = load_config(cli.config.as_deref())?;
            crate::posture::readiness_command(&config, format)
        }
        Command::Assess { file, format } => crate::assess::assess_command(file, format),
        Command::Review(command) => {
            let config = load_config(cli.config.as_deref())?;
            crate::posture::review_command(&config, command).await
        }
        Command::Migrate { check } => {
            let config = load_config(cli.config.as_deref())?;
            crate::migrate::migrate_command(&config, check).await
        }
        Command::Kek(crate::cli::KekCommand::Generate) => {
            let kek = KeyEncryptionKey::generate().context("cannot generate a key")?;
            println!("{}", kek.to_base64());
            Ok(())
        }
        Command::Kek(crate::cli::KekCommand::Rotate { check, format }) => {
            let config = load_config(cli.config.as_deref())?;
            crate::kek::rotate_command(&config, check, format).await
        }
    }
}
