//! The audit records of the CLI's own changes: each command that changes
//! state is recorded in chain `cli` of the store, which is opened before the
//! change so that a change that cannot be recorded is not made. Chain `cli`
//! has one writer at a time like any other: a command claims the id first
//! (another command holding it, on any host, is waited for).

use std::collections::BTreeMap;

use anyhow::{Context, Result, anyhow};
use modelgate_config::Config;
use modelgate_core::audit::AuditTrail;
use modelgate_core::replica_lease::{LeaseError, ReplicaLease};

use crate::setup::{load_kek, open_store};

pub use modelgate_config::replica::CLI_REPLICA;

/// How long a command waits for another to finish with chain `cli`.
const CLI_CHAIN_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// A change the CLI is about to make, to be recorded once it is made.
pub struct CliEvent {
    /// `identity.create`, `key.revoke`, ...
    pub action: String,
    /// What it is done to.
    pub target: String,
    /// Who the command says acts (`--by`), if it says.
    pub by: Option<String>,
    /// More detail known from the command line.
    pub detail: BTreeMap<String, String>,
}

/// The CLI's audit chain, opened before a change so that a change that
/// cannot be recorded is not made.
pub struct CliAudit {
    trail: AuditTrail,
    lease: ReplicaLease,
}

/// Claims chain `cli`, waiting up to [`CLI_CHAIN_WAIT`] while another
/// command holds it.
async fn claim_cli_chain(store: &modelgate_store::Store, config: &Config) -> Result<ReplicaLease> {
    ReplicaLease::claim_within(
        store,
        CLI_REPLICA,
        config.server.replica_lease,
        CLI_CHAIN_WAIT,
    )
    .await
    .map_err(|e| match e {
        LeaseError::Held { .. } => anyhow!(
            "cannot open the audit log (nothing was changed): another modelgate command is \
                 recording a change: {e}"
        ),
        other => anyhow!("cannot open the audit log (nothing was changed): {other}"),
    })
}

impl CliAudit {
    /// Opens chain `cli` in the store (the only sink; the gateway's files
    /// and stdout belong to its own chain).
    pub async fn open(config: &Config) -> Result<CliAudit> {
        let kek = load_kek(config).context("the audit log needs the key-encryption key")?;
        let store = open_store(config).await?;
        let lease = claim_cli_chain(&store, config).await?;
        let mut settings = config.audit.clone();
        settings.store = true;
        settings.file = None;
        settings.stdout = false;
        let trail = AuditTrail::start(
            &settings,
            &[],
            CLI_REPLICA,
            &store,
            &kek,
            modelgate_types::clock::unix_now(),
            Some(lease.holder()),
        )
        .await;
        let trail = match trail {
            Ok(trail) => trail,
            Err(e) => {
                lease.release().await;
                return Err(anyhow!(
                    "cannot open the audit log (nothing was changed): {e}"
                ));
            }
        };
        if let Some(fault) = trail.tail_fault() {
            trail.close().await;
            lease.release().await;
            return Err(anyhow!(
                "cannot open the audit log (nothing was changed): {fault}"
            ));
        }
        Ok(CliAudit { trail, lease })
    }

    /// Records `event` with `outcome`, then closes the chain with a
    /// checkpoint.
    pub async fn record(self, event: &CliEvent, outcome: &str) -> Result<()> {
        let actor = std::env::var("USER").unwrap_or_else(|_| "cli".into());
        let mut detail = event.detail.clone();
        detail.append(&mut crate::notes::take());
        // A command that learns its target while running (the id it
        // created) notes it as `target`.
        let target = detail
            .remove("target")
            .unwrap_or_else(|| event.target.clone());
        detail.insert("via".to_owned(), "cli".to_owned());
        if let Some(by) = &event.by {
            detail.insert("by".to_owned(), by.clone());
        }
        let result = self
            .trail
            .control(
                &event.action,
                Some(&format!("cli:{actor}")),
                Some(&target),
                outcome,
                detail,
            )
            .await;
        self.trail.close().await;
        self.lease.release().await;
        result.map(|_| ()).map_err(|e| {
            anyhow!(
                "{} {} was done but could not be recorded in the audit log: {e}",
                event.action,
                event.target
            )
        })
    }
}

/// The audit event of a command that changes state, if it does.
pub fn cli_event(command: &crate::cli::Command) -> Option<CliEvent> {
    use crate::cli::{AdminCommand, Command, IdentityCommand, KeyCommand, SigningKeyCommand};
    use crate::grants::{GrantCommand, RoleCommand};
    use crate::posture::ReviewCommand;
    let mut by = None;
    let mut detail = BTreeMap::new();
    let (action, target) = match command {
        Command::Review(ReviewCommand::Start { due }) => {
            detail.insert("due".to_owned(), due.clone());
            ("review.start", "review".to_owned())
        }
        Command::Review(ReviewCommand::Answer {
            review,
            item,
            revoke,
            by: who,
            ..
        }) => {
            by = Some(who.clone());
            let decision = if *revoke { "revoke" } else { "keep" };
            detail.insert("decision".to_owned(), decision.to_owned());
            ("review.answer", format!("{review}/{item}"))
        }
        Command::Role(RoleCommand::Assign {
            identity,
            role,
            by: who,
            ..
        }) => {
            by = Some(who.clone());
            ("role.assign", format!("{identity}/{role}"))
        }
        Command::Role(RoleCommand::Unassign {
            identity,
            role,
            by: who,
        }) => {
            by = Some(who.clone());
            ("role.unassign", format!("{identity}/{role}"))
        }
        Command::Grant(GrantCommand::Request {
            identity,
            role,
            by: who,
            ..
        }) => {
            by = Some(who.clone());
            ("grant.request", format!("{identity}/{role}"))
        }
        Command::Grant(GrantCommand::Approve { id, by: who }) => {
            by = Some(who.clone());
            ("grant.approve", id.clone())
        }
        Command::Grant(GrantCommand::Deny { id, by: who, .. }) => {
            by = Some(who.clone());
            ("grant.deny", id.clone())
        }
        Command::Grant(GrantCommand::Revoke { id, by: who, .. }) => {
            by = Some(who.clone());
            ("grant.revoke", id.clone())
        }
        Command::Identity(IdentityCommand::Create { name, .. }) => {
            ("identity.create", name.clone())
        }
        Command::Identity(IdentityCommand::Disable { name }) => ("identity.disable", name.clone()),
        Command::Identity(IdentityCommand::Enable { name }) => ("identity.enable", name.clone()),
        Command::Identity(IdentityCommand::Offboard { name, .. }) => {
            ("identity.offboard", name.clone())
        }
        Command::Key(KeyCommand::Create { identity, .. }) => ("key.issue", identity.clone()),
        Command::Key(KeyCommand::Revoke { id }) => ("key.revoke", id.clone()),
        Command::Key(KeyCommand::Rotate { id, .. }) => ("key.rotate", id.clone()),
        Command::Token(crate::cli::TokenCommand::Revoke { jti, .. }) => {
            ("token.revoke", jti.clone())
        }
        Command::SigningKey(SigningKeyCommand::Rotate) => {
            ("signing_key.rotate", "signing-keys".into())
        }
        Command::Kek(crate::cli::KekCommand::Rotate { check: false, .. }) => {
            ("kek.rotate", "kek".into())
        }
        Command::Admin(AdminCommand::Bootstrap { .. }) => ("admin.bootstrap", "admin".into()),
        Command::Admin(AdminCommand::Grant { identity, .. }) => ("admin.grant", identity.clone()),
        Command::Admin(AdminCommand::Revoke { identity }) => ("admin.revoke", identity.clone()),
        _ => return None,
    };
    Some(CliEvent {
        action: action.to_owned(),
        target,
        by,
        detail,
    })
}
