//! The identity service: creating identities, issuing and revoking API keys,
//! authenticating presented keys, and the credential lifecycle (rotation,
//! disabling, offboarding).

mod access;
mod admin;
mod auth;
mod grants;
mod key_cache;
mod key_label;
mod key_misses;
mod keys;
mod leak;
mod lifecycle;
mod roles;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use modelgate_store::{ApiKeyRecord, Store, StoreError};

use crate::access::{EntitlementCache, RoleCatalog};
use crate::apikey::ApiKey;
use crate::error::IdentityError;
use crate::identity::{Identity, NewIdentity};
use crate::ids::new_key_id;
use crate::tokens::AccessTokens;
use modelgate_types::IdentityStatus;

pub use admin::{AdminEntry, AdminScope, BOOTSTRAP_ADMIN};
pub use key_label::MAX_LABEL_CHARS;
pub use keys::{KeyInfo, KeyStatus};
pub use leak::LeakedKey;
pub use lifecycle::OffboardSummary;

/// Limits on the credentials the service issues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPolicy {
    /// Longest lifetime an API key may be issued with. Default 90 days.
    pub max_lifetime: Duration,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        KeyPolicy {
            max_lifetime: Duration::from_secs(90 * 24 * 60 * 60),
        }
    }
}

/// A key just issued. The secret is in here and nowhere else: show it once.
#[derive(Debug)]
pub struct IssuedKey {
    /// The key's id (`key_...`).
    pub id: String,
    /// The identity holding the key.
    pub identity: Identity,
    /// The key. Its `Debug`/`Display` print only the hint.
    pub secret: ApiKey,
    /// `mgk_…` and the last four characters.
    pub hint: String,
    /// Expiry, unix seconds.
    pub expires_at: i64,
}

/// Credential uses not yet written to the store.
#[derive(Debug, Default)]
struct UsageBuffer {
    /// API keys: key id → (identity id, latest use).
    keys: HashMap<String, (String, i64)>,
    /// Uses that name no key (access tokens, client certificates):
    /// identity id → latest use. One entry per identity, however many
    /// tokens it presents.
    identities: HashMap<String, i64>,
}

struct Inner {
    store: Store,
    policy: KeyPolicy,
    usage: Mutex<UsageBuffer>,
    tokens: Option<AccessTokens>,
    key_cache: Option<key_cache::KeyCache>,
    access: Arc<AccessState>,
}

/// Roles and grants: the configured catalog and the entitlement snapshot.
#[derive(Debug, Default)]
struct AccessState {
    catalog: RoleCatalog,
    entitlements: EntitlementCache,
}

/// Identities, API keys and authentication over a [`Store`].
///
/// Cheap to clone: clones share the store and the usage buffer.
///
/// Attach the gateway's [`AccessTokens`] with
/// [`IdentityService::with_tokens`]: then disabling, enabling and
/// offboarding apply to that instance's revocation cache at once (its
/// verification refuses the identity's tokens on the next request), and
/// [`IdentityService::mint_access_token`] works. Without it, those changes
/// still reach every `AccessTokens` through the store revision, at its next
/// `refresh`.
#[derive(Clone)]
pub struct IdentityService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for IdentityService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityService")
            .field("store", &self.inner.store)
            .field("policy", &self.inner.policy)
            .field("tokens", &self.inner.tokens.is_some())
            .finish_non_exhaustive()
    }
}

impl IdentityService {
    /// A service over `store` enforcing `policy`.
    pub fn new(store: Store, policy: KeyPolicy) -> IdentityService {
        IdentityService {
            inner: Arc::new(Inner {
                store,
                policy,
                usage: Mutex::new(UsageBuffer::default()),
                tokens: None,
                key_cache: None,
                access: Arc::default(),
            }),
        }
    }

    /// This service with an in-memory cache of the API keys it has
    /// authenticated, so repeat requests cost no store round trip. Only for
    /// a long-running process that calls [`IdentityService::refresh`]
    /// regularly: changes made elsewhere (the CLI, other replicas) reach the
    /// cache at the next refresh; changes made through this service apply at
    /// once. Call while building the service, like `with_tokens`.
    pub fn with_key_cache(self) -> IdentityService {
        let usage = std::mem::take(&mut *self.usage());
        IdentityService {
            inner: Arc::new(Inner {
                store: self.inner.store.clone(),
                policy: self.inner.policy.clone(),
                usage: Mutex::new(usage),
                tokens: self.inner.tokens.clone(),
                key_cache: Some(key_cache::KeyCache::default()),
                access: self.inner.access.clone(),
            }),
        }
    }

    /// This service with the role catalog `catalog` (roles and grant rules
    /// from configuration). Without it only the built-in approver role
    /// exists. Call while building the service, like `with_tokens`.
    pub fn with_roles(self, catalog: RoleCatalog) -> IdentityService {
        let usage = std::mem::take(&mut *self.usage());
        IdentityService {
            inner: Arc::new(Inner {
                store: self.inner.store.clone(),
                policy: self.inner.policy.clone(),
                usage: Mutex::new(usage),
                tokens: self.inner.tokens.clone(),
                key_cache: if self.inner.key_cache.is_some() {
                    Some(key_cache::KeyCache::default())
                } else {
                    None
                },
                access: Arc::new(AccessState {
                    catalog,
                    entitlements: EntitlementCache::default(),
                }),
            }),
        }
    }

    /// The role catalog in force.
    pub fn roles(&self) -> &RoleCatalog {
        &self.inner.access.catalog
    }

    pub(crate) fn entitlement_cache(&self) -> &EntitlementCache {
        &self.inner.access.entitlements
    }

    /// Re-reads what other processes changed: forgets the API keys the
    /// store did not know (inserting a key moves no revision, so a key
    /// created elsewhere works after the next refresh); when the store's
    /// revision moved, drops the cached API keys and the entitlement
    /// snapshot first, then reloads the access tokens' revocation state and
    /// signing keys (if attached). A failure to reload (the signing keys, say) therefore
    /// never leaves a revoked key or a removed role cached; and while
    /// reloads keep failing, the attached tokens' staleness bound stops
    /// authentication. Returns whether the token state changed.
    pub async fn refresh(&self, now: i64) -> Result<bool, IdentityError> {
        if let Some(cache) = &self.inner.key_cache {
            cache.clear_unknown();
        }
        let revision = self.inner.store.revision().await?;
        if let Some(cache) = &self.inner.key_cache {
            cache.observe_revision(revision);
        }
        self.inner.access.entitlements.observe_revision(revision);
        match &self.inner.tokens {
            Some(tokens) => tokens.refresh(now).await,
            None => Ok(false),
        }
    }

    /// Drops cached API keys after a change made through this service.
    pub(crate) fn invalidate_keys(&self) {
        if let Some(cache) = &self.inner.key_cache {
            cache.clear();
        }
    }

    /// Forgets `hash` as an unknown key after a key with it was created
    /// through this service.
    pub(crate) fn forget_unknown_key(&self, hash: &[u8; 32]) {
        if let Some(cache) = &self.inner.key_cache {
            cache.forget_unknown(hash);
        }
    }

    pub(crate) fn key_cache(&self) -> Option<&key_cache::KeyCache> {
        self.inner.key_cache.as_ref()
    }

    /// This service with `tokens` attached (see the type's docs). Call it
    /// while building the service: the returned service has its own usage
    /// buffer (pending uses are carried over), so clones made before do not
    /// see the tokens.
    pub fn with_tokens(self, tokens: AccessTokens) -> IdentityService {
        let usage = std::mem::take(&mut *self.usage());
        IdentityService {
            inner: Arc::new(Inner {
                store: self.inner.store.clone(),
                policy: self.inner.policy.clone(),
                usage: Mutex::new(usage),
                tokens: Some(tokens),
                key_cache: if self.inner.key_cache.is_some() {
                    Some(key_cache::KeyCache::default())
                } else {
                    None
                },
                access: self.inner.access.clone(),
            }),
        }
    }

    /// The attached access tokens, if any.
    pub fn tokens(&self) -> Option<&AccessTokens> {
        self.inner.tokens.as_ref()
    }

    /// The store the service works on.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The key policy in force.
    pub fn policy(&self) -> &KeyPolicy {
        &self.inner.policy
    }

    /// The usage buffer; a poisoned lock is still usable (the map stays
    /// consistent: every update is a single insert).
    fn usage(&self) -> MutexGuard<'_, UsageBuffer> {
        self.inner
            .usage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Validates and creates an active identity.
    /// [`IdentityError::NameTaken`] if the name is in use,
    /// [`IdentityError::NameRetired`] if it belonged to an offboarded
    /// identity (names are never reused).
    pub async fn create_identity(
        &self,
        new: NewIdentity,
        now: i64,
    ) -> Result<Identity, IdentityError> {
        new.validate()?;
        let identity = Identity::activate(new, now)?;
        let record = identity.to_record();
        match self.inner.store.insert_identity(&record).await {
            Ok(()) => {
                tracing::info!(identity = %identity.name, id = %identity.id, "identity created");
                Ok(identity)
            }
            Err(StoreError::Conflict(what)) if what == "identity name" => {
                let holder = self.inner.store.identity_by_name(&identity.name).await?;
                if holder.is_some_and(|h| h.status == IdentityStatus::Offboarded.as_str()) {
                    Err(IdentityError::NameRetired(identity.name))
                } else {
                    Err(IdentityError::NameTaken(identity.name))
                }
            }
            Err(other) => Err(other.into()),
        }
    }

    /// The identity with this name. [`IdentityError::IdentityNotFound`] if
    /// there is none.
    pub async fn identity(&self, name: &str) -> Result<Identity, IdentityError> {
        match self.inner.store.identity_by_name(name).await? {
            Some(record) => Ok(Identity::from_record(record)?),
            None => Err(IdentityError::identity_not_found(name)),
        }
    }

    /// Every identity, ordered by name.
    pub async fn list_identities(&self) -> Result<Vec<Identity>, IdentityError> {
        self.inner
            .store
            .list_identities()
            .await?
            .into_iter()
            .map(|r| Identity::from_record(r).map_err(IdentityError::from))
            .collect()
    }

    /// Issues an API key to an active identity. `lifetime` must be at least
    /// one second and at most the policy's maximum.
    pub async fn issue_key(
        &self,
        identity_name: &str,
        lifetime: Duration,
        label: Option<String>,
        now: i64,
    ) -> Result<IssuedKey, IdentityError> {
        if lifetime.as_secs() == 0 {
            return Err(IdentityError::LifetimeTooShort);
        }
        let max = self.inner.policy.max_lifetime;
        if lifetime > max {
            return Err(IdentityError::LifetimeTooLong { max });
        }
        key_label::validate_label(label.as_deref())?;
        let expires_at = i64::try_from(lifetime.as_secs())
            .ok()
            .and_then(|secs| now.checked_add(secs))
            .ok_or(IdentityError::ExpiryOutOfRange)?;
        let identity = self.identity(identity_name).await?;
        if !identity.is_active() {
            return Err(IdentityError::IdentityNotActive {
                name: identity.name,
                status: identity.status,
            });
        }
        let generated = ApiKey::generate()?;
        let id = new_key_id()?;
        let record = ApiKeyRecord {
            id: id.clone(),
            identity_id: identity.id.clone(),
            label,
            hint: generated.hint.clone(),
            key_hash: generated.hash,
            created_at: now,
            expires_at,
            revoked_at: None,
            last_used_at: None,
            replaced_by: None,
        };
        self.inner.store.insert_api_key(&record).await?;
        self.forget_unknown_key(&record.key_hash);
        tracing::info!(identity = %identity.name, key_id = %id, expires_at, "api key issued");
        Ok(IssuedKey {
            id,
            identity,
            secret: generated.secret,
            hint: generated.hint,
            expires_at,
        })
    }

    /// Revokes a key. Revoking a revoked key succeeds and keeps the first
    /// revocation time. [`IdentityError::KeyNotFound`] if there is no such
    /// key.
    pub async fn revoke_key(&self, id: &str, now: i64) -> Result<(), IdentityError> {
        let revoked = self.inner.store.revoke_api_key(id, now).await?;
        self.invalidate_keys();
        if revoked {
            tracing::info!(key_id = %id, "api key revoked");
            return Ok(());
        }
        match self.inner.store.api_key_by_id(id).await? {
            Some(_) => Ok(()),
            None => Err(IdentityError::key_not_found(id)),
        }
    }
}
