//! Why a role or grant operation was refused.
//!
//! Names and ids are echoed only when they have the shape of a name or an
//! id, so a secret pasted into the wrong argument never reaches a log.

use std::time::Duration;

use modelgate_store::StoreError;

use super::grant::GrantState;
use super::roles::is_valid_role_name;
use crate::error::IdentityError;
use crate::identity::is_valid_name;
use crate::ids::is_grant_id;

/// Why a role or grant operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// No role of this name is defined in the configuration.
    #[error("no role named {0} is defined")]
    UnknownRole(String),
    /// The role can only be held through an approved grant.
    #[error("role {0:?} is jit_only: it can only be held through an approved just-in-time grant")]
    JitOnly(String),
    /// The identity does not hold this role standing.
    #[error("identity {identity:?} does not hold role {role} standing")]
    NotAssigned {
        /// The identity's name.
        identity: String,
        /// The role as shown.
        role: String,
    },
    /// An assignment's end is not in the future.
    #[error("the assignment's end must be in the future")]
    UntilInPast,
    /// The grant duration is zero or over the cap.
    #[error("grant duration must be between 1s and {}", modelgate_types::duration::format(*.max))]
    InvalidDuration {
        /// The longest allowed for this role.
        max: Duration,
    },
    /// The reason is missing, too long or has control characters.
    #[error("a reason of 1 to 500 characters without control characters is required")]
    InvalidReason,
    /// Who acts is not named properly.
    #[error("who acts must be named with 1 to 200 characters without control characters")]
    InvalidActor,
    /// No grant has this id.
    #[error("no grant with id {0}")]
    GrantNotFound(String),
    /// The grant is not pending, so it cannot be approved or denied.
    #[error("grant {id} is {state}, not pending; it can no longer be approved or denied")]
    NotPending {
        /// The grant.
        id: String,
        /// Its state now.
        state: GrantState,
    },
    /// The grant is already over, so there is nothing to revoke.
    #[error("grant {id} is {state}; only pending or active grants can be revoked")]
    NotRevocable {
        /// The grant.
        id: String,
        /// Its state now.
        state: GrantState,
    },
    /// The requester (or an identity of the requesting owner) tried to
    /// approve the grant: separation of duties.
    #[error(
        "grant {id} was requested by {requester:?}, who cannot approve it (separation of duties)"
    )]
    SelfApproval {
        /// The grant.
        id: String,
        /// Who requested it.
        requester: String,
    },
    /// The approver shares its owner with the requester or with the
    /// identity the grant is for: separation of duties.
    #[error(
        "grant {id}: {approver:?} shares its owner {owner:?} with the {with}, so it cannot \
         approve it (separation of duties)"
    )]
    SharedOwnerApproval {
        /// The grant.
        id: String,
        /// Who tried to approve.
        approver: String,
        /// The owner they share.
        owner: String,
        /// `requester` or `identity the grant is for`.
        with: &'static str,
    },
    /// The identity the grant is for tried to approve it.
    #[error("grant {id} is for {identity:?}, which cannot approve its own grant")]
    BeneficiaryApproval {
        /// The grant.
        id: String,
        /// The identity.
        identity: String,
    },
    /// This approver already approved the grant; approvals must be distinct.
    #[error("{approver:?} already approved grant {id}; another approver is needed")]
    AlreadyApproved {
        /// The grant.
        id: String,
        /// The approver.
        approver: String,
    },
    /// The approver does not hold the approver role.
    #[error("{who:?} does not hold the approver role {role:?}")]
    NotApprover {
        /// Who tried.
        who: String,
        /// The approver role.
        role: String,
    },
    /// Who acts may not do this to this identity's grants.
    #[error("{who:?} may not {action} grants of identity {identity:?}: {rule}")]
    NotPermitted {
        /// Who tried.
        who: String,
        /// `request` or `revoke`.
        action: &'static str,
        /// The identity.
        identity: String,
        /// The rule that applies.
        rule: &'static str,
    },
    /// Identity lookups, the store, or randomness failed.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl From<StoreError> for AccessError {
    fn from(e: StoreError) -> Self {
        AccessError::Identity(IdentityError::Store(e))
    }
}

impl From<crate::identity::CorruptRecord> for AccessError {
    fn from(e: crate::identity::CorruptRecord) -> Self {
        AccessError::Identity(IdentityError::Corrupt(e))
    }
}

impl AccessError {
    /// [`AccessError::UnknownRole`] showing the name only if it looks like one.
    pub(crate) fn unknown_role(name: &str) -> AccessError {
        AccessError::UnknownRole(shown_role(name))
    }

    /// [`AccessError::GrantNotFound`] showing the id only if it looks like one.
    pub(crate) fn grant_not_found(id: &str) -> AccessError {
        AccessError::GrantNotFound(if is_grant_id(id) {
            format!("{id:?}")
        } else {
            "(not a grant id)".to_owned()
        })
    }

    /// Whether the caller (not the gateway) is at fault.
    pub fn is_caller_error(&self) -> bool {
        match self {
            AccessError::Identity(e) => !matches!(
                e,
                IdentityError::Store(_) | IdentityError::Corrupt(_) | IdentityError::Randomness(_)
            ),
            _ => true,
        }
    }
}

/// A role name as shown in messages: quoted if valid, else a placeholder.
pub(crate) fn shown_role(name: &str) -> String {
    if is_valid_role_name(name) {
        format!("{name:?}")
    } else {
        "(not a role name)".to_owned()
    }
}

/// An actor's name as shown: itself, unless it could be a pasted
/// credential (an API key or a JWT).
pub(crate) fn shown_actor(name: &str) -> String {
    if is_valid_name(name)
        || !(name.contains(crate::apikey::API_KEY_PREFIX) || crate::tokens::looks_like_jwt(name))
    {
        name.to_owned()
    } else {
        "(that name)".to_owned()
    }
}
