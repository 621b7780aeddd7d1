//! Admin roles: which identities may use the admin API, and for whom.
//! A global admin manages every identity; an owner-scoped admin manages only
//! identities with that owner that hold no admin role (identities holding
//! any admin role, and the admin role itself, are for global admins only;
//! the admin API applies this). The first admin is bootstrapped once.

use std::time::Duration;

use modelgate_store::ApiKeyRecord;

use super::{IdentityService, IssuedKey};
use crate::apikey::ApiKey;
use crate::error::IdentityError;
use crate::identity::{Identity, NewIdentity};
use crate::ids::new_key_id;
use modelgate_types::{IdentityKind, IdentityStatus};

/// The name of the identity `bootstrap_admin` creates.
pub const BOOTSTRAP_ADMIN: &str = "modelgate-admin";

/// What an admin may manage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminScope {
    /// Every identity, and the gateway's own keys.
    Global,
    /// Identities whose owner is exactly this.
    Owner(String),
}

impl AdminScope {
    /// Whether identities owned by `owner` are within the scope.
    pub fn covers(&self, owner: &str) -> bool {
        match self {
            AdminScope::Global => true,
            AdminScope::Owner(scope) => scope == owner,
        }
    }

    /// Whether this is the global scope.
    pub fn is_global(&self) -> bool {
        matches!(self, AdminScope::Global)
    }

    fn stored(&self) -> &str {
        match self {
            AdminScope::Global => "*",
            AdminScope::Owner(owner) => owner,
        }
    }

    fn from_stored(text: String) -> AdminScope {
        if text == "*" {
            AdminScope::Global
        } else {
            AdminScope::Owner(text)
        }
    }
}

/// An identity holding the admin role.
#[derive(Debug, Clone)]
pub struct AdminEntry {
    /// The identity (whatever its status: a disabled admin still holds the role).
    pub identity: Identity,
    /// What it may manage.
    pub scope: AdminScope,
    /// When the role was granted (unix seconds).
    pub granted_at: i64,
    /// Who granted it, if recorded.
    pub granted_by: Option<String>,
}

impl AdminScope {
    /// `global`, or `owner:OWNER`: how listings and reviews name the scope.
    pub fn label(&self) -> String {
        match self {
            AdminScope::Global => "global".to_owned(),
            AdminScope::Owner(owner) => format!("owner:{owner}"),
        }
    }
}

impl IdentityService {
    /// Every identity holding the admin role, ordered by name.
    pub async fn list_admins(&self) -> Result<Vec<AdminEntry>, IdentityError> {
        let mut out = Vec::new();
        for role in self.store().list_admins().await? {
            let Some(record) = self.store().identity_by_id(&role.identity_id).await? else {
                continue;
            };
            out.push(AdminEntry {
                identity: Identity::from_record(record)?,
                scope: AdminScope::from_stored(role.scope),
                granted_at: role.granted_at,
                granted_by: role.granted_by,
            });
        }
        out.sort_by(|a, b| a.identity.name.cmp(&b.identity.name));
        Ok(out)
    }

    /// The admin scope of an identity, if it has the admin role and is
    /// active.
    pub async fn admin_scope(
        &self,
        identity_id: &str,
    ) -> Result<Option<AdminScope>, IdentityError> {
        let Some(scope) = self.store().admin_scope(identity_id).await? else {
            return Ok(None);
        };
        let active = self
            .store()
            .identity_by_id(identity_id)
            .await?
            .is_some_and(|r| r.status == IdentityStatus::Active.as_str());
        Ok(active.then(|| AdminScope::from_stored(scope)))
    }

    /// The admin role identity `identity_id` holds, whatever its status: a
    /// disabled admin still holds it (enabling it gives it back), so only a
    /// global admin may manage it. `None` if it holds none.
    pub async fn held_admin_scope(
        &self,
        identity_id: &str,
    ) -> Result<Option<AdminScope>, IdentityError> {
        Ok(self
            .store()
            .admin_scope(identity_id)
            .await?
            .map(AdminScope::from_stored))
    }

    /// Grants `name` the admin role with `scope`.
    pub async fn grant_admin(
        &self,
        name: &str,
        scope: AdminScope,
        granted_by: Option<&str>,
        now: i64,
    ) -> Result<(), IdentityError> {
        if let AdminScope::Owner(owner) = &scope
            && (owner.is_empty() || owner == "*" || owner.chars().any(char::is_control))
        {
            return Err(IdentityError::Invalid(
                crate::identity::ValidationError::Owner,
            ));
        }
        let identity = self.identity(name).await?;
        self.store()
            .grant_admin(&identity.id, scope.stored(), granted_by, now)
            .await?;
        tracing::info!(identity = %identity.name, scope = scope.stored(), "admin role granted");
        Ok(())
    }

    /// Removes the admin role from `name`.
    pub async fn revoke_admin(&self, name: &str) -> Result<bool, IdentityError> {
        let identity = self.identity(name).await?;
        Ok(self.store().revoke_admin(&identity.id).await?)
    }

    /// The identity holding API key `key_id`.
    pub async fn key_identity(&self, key_id: &str) -> Result<Identity, IdentityError> {
        let key = self
            .store()
            .api_key_by_id(key_id)
            .await?
            .ok_or_else(|| IdentityError::key_not_found(key_id))?;
        let record = self
            .store()
            .identity_by_id(&key.identity_id)
            .await?
            .ok_or_else(|| IdentityError::key_not_found(key_id))?;
        Ok(Identity::from_record(record)?)
    }

    /// Creates the first admin, [`BOOTSTRAP_ADMIN`], with a global admin role
    /// and an API key valid for `lifetime`, in one transaction; refused with
    /// [`IdentityError::AlreadyBootstrapped`] once any admin exists.
    pub async fn bootstrap_admin(
        &self,
        lifetime: Duration,
        now: i64,
    ) -> Result<IssuedKey, IdentityError> {
        if lifetime.as_secs() == 0 {
            return Err(IdentityError::LifetimeTooShort);
        }
        if lifetime > self.policy().max_lifetime {
            return Err(IdentityError::LifetimeTooLong {
                max: self.policy().max_lifetime,
            });
        }
        let new = NewIdentity {
            name: BOOTSTRAP_ADMIN.to_owned(),
            kind: IdentityKind::Tool,
            owner: "modelgate-bootstrap".to_owned(),
            environment: "admin".to_owned(),
            purpose: "first admin credential; create named admins and retire this one".to_owned(),
        };
        new.validate()?;
        let identity = Identity::activate(new, now)?;
        let expires_at = now.saturating_add(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX));
        let generated = ApiKey::generate()?;
        let key = ApiKeyRecord {
            id: new_key_id()?,
            identity_id: identity.id.clone(),
            label: Some("bootstrap".to_owned()),
            hint: generated.hint.clone(),
            key_hash: generated.hash,
            created_at: now,
            expires_at,
            revoked_at: None,
            last_used_at: None,
            replaced_by: None,
        };
        let record = identity.to_record();
        if !self.store().bootstrap_admin(&record, &key, now).await? {
            return Err(IdentityError::AlreadyBootstrapped);
        }
        self.forget_unknown_key(&key.key_hash);
        tracing::info!(identity = %identity.name, key_id = %key.id, "admin bootstrapped");
        Ok(IssuedKey {
            id: key.id,
            identity,
            secret: generated.secret,
            hint: generated.hint,
            expires_at,
        })
    }
}
