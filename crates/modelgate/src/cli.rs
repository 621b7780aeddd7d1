//! The command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::output::Format;
use clap::{Args, Parser, Subcommand};

/// modelgate: a governing gateway in front of hosted and self-hosted AI models.
#[derive(Debug, Parser)]
#[command(name = "modelgate", version, about)]
pub struct Cli {
    /// Configuration file [default: modelgate.toml in the current
    /// directory]. Relative paths inside it are read from its directory. A
    /// missing file is an error (`serve --dev` needs none).
    #[arg(long, global = true, env = "MODELGATE_CONFIG")]
    pub config: Option<PathBuf>,
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
    /// Revoke gateway access tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// The gateway's token-signing keys.
    #[command(subcommand, name = "signing-key")]
    SigningKey(SigningKeyCommand),
    /// Admin roles for the admin API.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Trusted workload-identity issuers.
    #[command(subcommand)]
    Issuer(IssuerCommand),
    /// Key-encryption keys for signing keys at rest.
    #[command(subcommand)]
    Kek(KekCommand),
    /// Bring an existing store's schema up to this binary's (back it up
    /// first); a new store needs none of this.
    Migrate {
        /// Only say whether the schema is current; non-zero when it is not.
        #[arg(long)]
        check: bool,
    },
    /// Roles (from configuration) and standing role assignments.
    #[command(subcommand)]
    Role(crate::grants::RoleCommand),
    /// Just-in-time grants: request, approve, deny, revoke, list.
    #[command(subcommand)]
    Grant(crate::grants::GrantCommand),
    /// The tamper-evident audit log: search, export, verify, hash, prune.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Cedar policies: schema, built-in set, checks, tests, replay.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Every identity with its owner, credentials, roles, the upstreams it
    /// used and its last activity.
    Inventory {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: crate::posture::InventoryFormat,
        /// How far back to read the audit log (default `posture.audit_window`).
        #[arg(long)]
        window: Option<String>,
        /// Every column in the table (ids, models, upstreams used, each
        /// credential); the default table fits a terminal.
        #[arg(long)]
        wide: bool,
    },
    /// The posture report: OWASP NHI Top 10 findings and framework mapping.
    #[command(subcommand)]
    Posture(crate::posture::PostureCommand),
    /// Upstreams lacking owners or a rotation policy; exits non-zero when
    /// any gap exists.
    Readiness {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Hosted, self-hosted or hybrid for a workload, with reasons, risks
    /// and the configuration; asks the questions when run in a terminal
    /// without a file.
    Assess {
        /// Requirements file (see examples/requirements.toml).
        file: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Access reviews: owners keep or revoke every role and grant.
    #[command(subcommand)]
    Review(crate::posture::ReviewCommand),
}

/// `modelgate policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the Cedar schema policies are validated against.
    Schema,
    /// Print the policy set: built-in baseline and role policies, then the
    /// configured files.
    Show {
        /// Only the built-in and role policies.
        #[arg(long)]
        builtin: bool,
    },
    /// Validate a policy directory (default: `policy.dir`) against the
    /// schema; problems name file and line. Exits non-zero on any.
    Check {
        /// The directory.
        dir: Option<PathBuf>,
    },
    /// Run policy test files (request -> expected decision) against a policy
    /// directory; exits non-zero on any mismatch (for CI).
    Test {
        /// Test files (`*.test.toml`).
        files: Vec<PathBuf>,
        /// Policy directory (default: `policy.dir`, else the directory of
        /// the first test file).
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// Evaluate the requests recorded in the audit log against a candidate
    /// policy directory and list every decision that would change.
    Replay {
        /// The candidate policy directory.
        #[arg(long)]
        policies: PathBuf,
        /// From this time (RFC 3339, unix seconds, or a duration ago).
        #[arg(long)]
        since: Option<String>,
        /// Until this time.
        #[arg(long)]
        until: Option<String>,
        /// Exit non-zero when any decision would change (for CI).
        #[arg(long)]
        fail_on_change: bool,
    },
}

/// `modelgate audit ...`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the keyed hash of VALUE, as `hmac` bodies hold it, to search
    /// for a known value without the log storing it.
    Hash {
        /// The value to hash.
        value: String,
    },
    /// Print the checkpoint public key (base64) for `audit verify`.
    #[command(name = "public-key")]
    PublicKey,
    /// Write a sealed, self-contained export of one chain's records.
    Export {
        /// First time included (RFC 3339, unix seconds, or a duration ago).
        #[arg(long)]
        since: Option<String>,
        /// First time excluded.
        #[arg(long)]
        until: Option<String>,
        /// Which chain: a replica's id or `cli`. Default: this
        /// configuration's `server.replica_id`, else the store's only
        /// gateway chain.
        #[arg(long, conflicts_with = "all")]
        replica: Option<String>,
        /// Every chain in the store, one sealed file each
        /// (`OUT/REPLICA.jsonl`; `--out` names a directory).
        #[arg(long)]
        all: bool,
        /// Output file (a directory with `--all`).
        #[arg(long)]
        out: PathBuf,
    },
    /// List the chains in the store: where each ends, whether its end is
    /// signed, and which process holds its replica id.
    Chains {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Verify an export (or a log file) offline, or a chain in the store
    /// (`--replica`); names the first record where the chain breaks. Exits
    /// non-zero on any problem.
    Verify {
        /// The file to check.
        #[arg(required_unless_present_any = ["replica", "all"], conflicts_with_all = ["replica", "all"])]
        file: Option<PathBuf>,
        /// Check this chain in the store instead of a file.
        #[arg(long, conflicts_with = "all")]
        replica: Option<String>,
        /// Check every chain in the store (every replica's and the CLI's);
        /// exits non-zero if any does not verify.
        #[arg(long, conflicts_with = "against")]
        all: bool,
        /// An earlier sealed export of the same chain: also say whether
        /// the chain still holds every record it proves (after a restore
        /// from a backup, the records lost are named).
        #[arg(long, value_name = "EXPORT")]
        against: Option<PathBuf>,
        /// Trusted checkpoint public key(s), base64. Without it, the keys
        /// sealed in the store with the key-encryption key are trusted
        /// (needs the configuration and the key-encryption key).
        #[arg(long = "public-key")]
        public_key: Vec<String>,
    },
    /// Search records, oldest first; page with `--after CURSOR`.
    Search {
        /// Only this identity (or control-event target).
        #[arg(long)]
        identity: Option<String>,
        /// Only this model.
        #[arg(long)]
        model: Option<String>,
        /// Only this request decision (`allow`, `deny`) or control outcome
        /// (`ok`, `denied`, `failed`, ...); any other value is refused.
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(modelgate_audit::DECISIONS))]
        decision: Option<String>,
        /// Only `request` or `control` records.
        #[arg(long)]
        kind: Option<String>,
        /// From this time (RFC 3339, unix seconds, or a duration ago).
        #[arg(long)]
        since: Option<String>,
        /// Until this time.
        #[arg(long)]
        until: Option<String>,
        /// Continue after this cursor.
        #[arg(long)]
        after: Option<i64>,
        /// Page size; when a page is full, the command says how to get the
        /// next one (`--after CURSOR`).
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Drop the bodies whose retention period is over (the chain still
    /// verifies).
    Prune,
}

/// `modelgate token ...`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Revoke a recorded access token by its `jti`, and with it its family
    /// (every token exchanged from the same first token); refused until
    /// they would have expired.
    Revoke {
        /// The token's `jti`.
        jti: String,
        /// The identity the token was issued to.
        #[arg(long)]
        identity: String,
    },
}

/// `modelgate signing-key ...`.
#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// List signing keys (never private material).
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Sign with a new key from now on; the old key verifies until the last
    /// token it signed has expired, then is retired.
    Rotate,
}

/// `modelgate admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create the first admin credential (once; printed once).
    Bootstrap {
        /// Lifetime of the bootstrap key.
        #[arg(long, default_value = "24h")]
        expires_in: String,
    },
    /// Give an identity the admin role (global, or for one owner).
    Grant {
        /// Identity name.
        #[arg(long)]
        identity: String,
        /// Limit the role to identities with this owner.
        #[arg(long)]
        owner: Option<String>,
    },
    /// Take the admin role away.
    Revoke {
        /// Identity name.
        #[arg(long)]
        identity: String,
    },
    /// List the identities holding the admin role, their scope and keys.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `modelgate issuer ...`.
#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// List the configured issuers (validated).
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `modelgate kek ...`.
#[derive(Debug, Subcommand)]
pub enum KekCommand {
    /// Print a new random key-encryption key (base64) to store as a secret.
    Generate,
    /// Re-seal every key sealed with one of `tokens.previous_keks` (token
    /// signing keys, audit keys) with `tokens.kek`, in one transaction;
    /// replicas pick it up at their next sync. Audited; see docs/kek.md.
    Rotate {
        /// Only report how many values each KEK seals; change nothing.
        #[arg(long)]
        check: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}

/// `modelgate serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Quick start: throwaway store, built-in demo upstream, a dev identity
    /// with a fresh key. Ignores any configuration file, including a
    /// modelgate.toml in the current directory (and says so on start).
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
    /// Disable an identity (reversible): its keys and tokens stop working.
    Disable {
        /// Identity name.
        name: String,
    },
    /// Re-enable a disabled identity.
    Enable {
        /// Identity name.
        name: String,
    },
    /// Offboard an identity (irreversible): disabled, every key revoked,
    /// every token refused, in one transaction. Asks for the name again
    /// on a terminal; scripts pass --yes.
    Offboard {
        /// Identity name.
        name: String,
        /// Do not ask for confirmation (required when standard input is
        /// not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
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
    /// Issue a successor; the old key keeps working for the grace window.
    Rotate {
        /// Key id (`key_...`).
        id: String,
        /// Grace window for the old key (default: `keys.rotation_grace`).
        #[arg(long)]
        grace: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
}
