//! Building the shared services from the configuration, in the order a
//! mistake should be reported: policies, the replica id's claim, the audit
//! log, the signing keys,
//! tokens, identities, issuers (the detectors and data classes come first,
//! from [`crate::detectors`]).

use std::sync::Arc;

use modelgate_config::Config;
use modelgate_identity::exchange::TokenExchange;
use modelgate_identity::federation::Federation;
use modelgate_identity::{
    AccessTokenSettings, AccessTokens, IdentityKind, IdentityService, KeyEncryptionKey, KeyPolicy,
    SigningKeyring,
};
use modelgate_store::Store;
use modelgate_types::clock::unix_now;

use crate::audit::AuditTrail;
use crate::detectors::Detectors;
use crate::jwks_fetch::HttpJwksSource;
use crate::metrics::Metrics;
use crate::policy::PolicySet;
use crate::posture_context::PostureContext;
use crate::replica_lease::ReplicaLease;
use crate::source::TrustedProxies;
use crate::source_limit::FailedAuthLimiter;
use crate::{Core, CoreError};

impl Core {
    /// Builds the shared services from validated configuration and the
    /// `detectors` built from it: compiles the policies, starts the audit log, loads (or creates)
    /// the signing keys with `kek`, and validates the trusted issuers, so a
    /// bad setting stops start-up. `default_issuer` is the gateway's URL
    /// when `tokens.issuer` is unset.
    pub async fn new(
        config: &Config,
        store: Store,
        kek: KeyEncryptionKey,
        default_issuer: &str,
        detectors: Detectors,
    ) -> Result<Core, CoreError> {
        let now = unix_now();
        let issuer = config
            .tokens
            .issuer
            .clone()
            .unwrap_or_else(|| default_issuer.trim_end_matches('/').to_owned());
        let audience = config
            .tokens
            .audience
            .clone()
            .unwrap_or_else(|| issuer.clone());
        let Detectors { screener, classes } = detectors;
        let policy = PolicySet::new(config, &classes).map_err(CoreError::Policy)?;
        // The key-encryption key opens the signing keys (a wrong one is a
        // configuration mistake, said before anything is claimed).
        let keyring = SigningKeyring::load(store.clone(), kek.clone()).await?;
        // The id before the chain: one writer, or the start stops here.
        let replica = config.server.replica_id();
        // A moment's wait: another replica may hold the id briefly to sign
        // the tail this one left when it was killed.
        let lease = ReplicaLease::claim_within(
            &store,
            &replica,
            config.server.replica_lease,
            std::time::Duration::from_secs(3),
        )
        .await?;
        let audit = match AuditTrail::start(
            &config.audit,
            &config.models,
            &replica,
            &store,
            &kek,
            now,
            Some(lease.holder()),
        )
        .await
        {
            Ok(audit) => audit,
            Err(e) => {
                lease.release().await;
                return Err(e.into());
            }
        };
        keyring.ensure_active(now).await?;
        let settings = AccessTokenSettings {
            issuer: issuer.clone(),
            audience: audience.clone(),
            default_lifetime: config.tokens.default_lifetime,
            max_lifetime: config.tokens.max_lifetime,
            max_lifetime_by_kind: config
                .tokens
                .max_lifetime_by_kind
                .iter()
                .filter_map(|(kind, d)| Some((kind.parse::<IdentityKind>().ok()?, *d)))
                .collect(),
            ..AccessTokenSettings::default()
        };
        let tokens = AccessTokens::new(store.clone(), keyring.clone(), settings, now).await?;
        tokens.set_max_staleness(Some(config.tokens.max_staleness));
        let identity = IdentityService::new(
            store.clone(),
            KeyPolicy {
                max_lifetime: config.keys.max_lifetime,
            },
        )
        .with_tokens(tokens.clone())
        .with_key_cache()
        .with_roles(config.role_catalog()?);
        let source =
            HttpJwksSource::new(std::time::Duration::from_secs(5)).map_err(CoreError::Fetcher)?;
        let federation = Federation::new(config.issuers.clone(), source)?;
        let mut targets = vec![audience];
        if !targets.contains(&issuer) {
            targets.push(issuer.clone());
        }
        let exchange = TokenExchange::new(
            identity.clone(),
            tokens.clone(),
            Arc::new(federation),
            targets,
        );
        Ok(Core {
            identity,
            tokens,
            keyring,
            exchange,
            issuer,
            store,
            metrics: Arc::new(Metrics::new()),
            audit: Arc::new(audit),
            lease,
            policy,
            screener,
            classes,
            posture: PostureContext::from_config(config),
            sources: TrustedProxies::new(config.server.trusted_proxies.clone()),
            auth_limit: FailedAuthLimiter::new(config.limits.failed_auth_per_source),
        })
    }
}
