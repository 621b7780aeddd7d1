//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// modelgate: a governing gateway in front of hosted and self-hosted AI models.
#[derive(Debug, Parser)]
#[command(name = "modelgate", version, about)]
pub struct Cli {
    /// Configuration file.
    #[arg(
        long,
        global = true,
        env = "MODELGATE_CONFIG",
        default_value = "modelgate.toml"
    )]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve(ServeArgs),
    /// Check the configuration file and exit.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Manage non-human identities.
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

/// `modelgate serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Quick start: throwaway store, built-in demo upstream, a dev identity
    /// with a fresh key. Ignores the configuration file.
    #[arg(long)]
    pub dev: bool,
    /// Listen address (overrides `server.listen`).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
}

/// `modelgate config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Parse and validate the configuration, resolving every secret reference.
    Check,
}

/// Output format for listings.
#[derive(Debug, Clone, Copy, ValueEnum, Default)]
pub enum Format {
    /// Aligned columns.
    #[default]
    Table,
    /// A JSON array.
    Json,
}

/// `modelgate identity ...`.
#[derive(Debug, Subcommand)]
pub enum IdentityCommand {
    /// Register a non-human identity.
    Create {
        /// Unique name (a-z, 0-9, '.', '_', '-').
        #[arg(long)]
        name: String,
        /// service, ci_job, agent, retrieval or tool.
        #[arg(long)]
        kind: String,
        /// The person or team accountable for it.
        #[arg(long)]
        owner: String,
        /// The one environment it lives in (dev, staging, prod, ...).
        #[arg(long)]
        environment: String,
        /// What it is for.
        #[arg(long, default_value = "")]
        purpose: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// List identities.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `modelgate key ...`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Issue an API key; it is shown once.
    Create {
        /// Identity name.
        #[arg(long)]
        identity: String,
        /// Lifetime, such as `30d` or `12h` (required; capped by `keys.max_lifetime`).
        #[arg(long)]
        expires_in: String,
        /// A label to recognise the key by.
        #[arg(long)]
        label: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// List keys (never their values).
    List {
        /// Only this identity's keys.
        #[arg(long)]
        identity: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Revoke a key at once.
    Revoke {
        /// Key id (`key_...`).
        id: String,
    },
}
