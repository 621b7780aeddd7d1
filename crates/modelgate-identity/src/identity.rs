//! Identities: the typed view of a stored identity, and the validated input
//! for creating one.

use modelgate_store::IdentityRecord;
use serde::Serialize;

use modelgate_types::{IdentityKind, IdentityStatus};

/// Longest owner, in characters.
pub const MAX_OWNER_CHARS: usize = 200;
/// Longest purpose, in characters.
pub const MAX_PURPOSE_CHARS: usize = 500;

/// A non-human identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Identity {
    /// Random id (`idn_...`).
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Kind of workload.
    pub kind: IdentityKind,
    /// Who answers for it.
    pub owner: String,
    /// Deployment environment.
    pub environment: String,
    /// Why it exists.
    pub purpose: String,
    /// Lifecycle status.
    pub status: IdentityStatus,
    /// Creation time, unix seconds.
    pub created_at: i64,
    /// Last use of any of its credentials, unix seconds (as last flushed).
    pub last_used_at: Option<i64>,
}

impl Identity {
    /// A new, active identity from validated input.
    pub(crate) fn activate(
        new: NewIdentity,
        now: i64,
    ) -> Result<Identity, crate::base62::RandomnessError> {
        Ok(Identity {
            id: crate::ids::new_identity_id()?,
            name: new.name,
            kind: new.kind,
            owner: new.owner,
            environment: new.environment,
            purpose: new.purpose,
            status: modelgate_types::IdentityStatus::Active,
            created_at: now,
            last_used_at: None,
        })
    }

    /// The stored form.
    pub(crate) fn to_record(&self) -> IdentityRecord {
        IdentityRecord {
            id: self.id.clone(),
            name: self.name.clone(),
            kind: self.kind.as_str().to_owned(),
            owner: self.owner.clone(),
            environment: self.environment.clone(),
            purpose: self.purpose.clone(),
            status: self.status.as_str().to_owned(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }

    /// Reads a stored record. Fails when the stored kind or status is
    /// unknown (a database written by a newer version, or edited by hand).
    pub fn from_record(r: IdentityRecord) -> Result<Identity, CorruptRecord> {
        let kind = r
            .kind
            .parse()
            .map_err(|_| CorruptRecord("stored identity has an unknown kind"))?;
        let status = r
            .status
            .parse()
            .map_err(|_| CorruptRecord("stored identity has an unknown status"))?;
        Ok(Identity {
            id: r.id,
            name: r.name,
            kind,
            owner: r.owner,
            environment: r.environment,
            purpose: r.purpose,
            status,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        })
    }

    /// Whether the identity may authenticate and receive credentials.
    pub fn is_active(&self) -> bool {
        self.status == IdentityStatus::Active
    }
}

/// A stored record that does not fit the typed view. Holds a fixed
/// description, never a stored value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("corrupt stored record: {0}")]
pub struct CorruptRecord(pub &'static str);

/// Input for creating an identity. Checked by [`NewIdentity::validate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIdentity {
    /// `[a-z0-9][a-z0-9._-]{0,62}`, not starting with `mgk_`.
    pub name: String,
    /// Kind of workload.
    pub kind: IdentityKind,
    /// Non-empty, at most 200 characters, no control characters.
    pub owner: String,
    /// `[a-z0-9][a-z0-9_-]{0,31}`.
    pub environment: String,
    /// At most 500 characters; no control characters except newline and tab.
    pub purpose: String,
}

/// Which field of a [`NewIdentity`] is invalid, and the rule it breaks.
/// Never repeats the value: a mistaken paste could be a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// The name breaks `[a-z0-9][a-z0-9._-]{0,62}`.
    #[error(
        "invalid name: use 1 to 63 characters from a-z, 0-9, '.', '_', '-', \
         starting with a letter or digit (and not with mgk_)"
    )]
    Name,
    /// The environment breaks `[a-z0-9][a-z0-9_-]{0,31}`.
    #[error(
        "invalid environment: use 1 to 32 characters from a-z, 0-9, '_', '-', \
         starting with a letter or digit"
    )]
    Environment,
    /// The owner is empty, too long or has control characters.
    #[error("invalid owner: must be non-empty, at most 200 characters, without control characters")]
    Owner,
    /// The purpose is too long or has control characters.
    #[error(
        "invalid purpose: at most 500 characters, without control characters \
         other than newline and tab"
    )]
    Purpose,
    /// A key label is too long or has control characters.
    #[error("invalid label: at most 200 characters, without control characters")]
    Label,
}

/// `[a-z0-9][rest]{0,max_rest}` over ASCII.
fn matches_slug(text: &str, rest: &[u8], max_rest: usize) -> bool {
    let bytes = text.as_bytes();
    let Some((first, tail)) = bytes.split_first() else {
        return false;
    };
    let lower_digit = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    lower_digit(first)
        && tail.len() <= max_rest
        && tail.iter().all(|b| lower_digit(b) || rest.contains(b))
}

/// Whether `name` is a valid identity name: `[a-z0-9][a-z0-9._-]{0,62}`,
/// and not starting with the API key prefix `mgk_` (such a name is most
/// likely a pasted key, and would trip secret scanners).
pub fn is_valid_name(name: &str) -> bool {
    matches_slug(name, b"._-", 62) && !name.starts_with(crate::apikey::API_KEY_PREFIX)
}

/// Whether `environment` is a valid environment.
pub fn is_valid_environment(environment: &str) -> bool {
    matches_slug(environment, b"_-", 31)
}

impl NewIdentity {
    /// Checks every field; the first failure wins.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if !is_valid_name(&self.name) {
            return Err(ValidationError::Name);
        }
        if !is_valid_environment(&self.environment) {
            return Err(ValidationError::Environment);
        }
        let owner_ok = !self.owner.trim().is_empty()
            && self.owner.chars().count() <= MAX_OWNER_CHARS
            && !self.owner.chars().any(char::is_control);
        if !owner_ok {
            return Err(ValidationError::Owner);
        }
        let purpose_ok = self.purpose.chars().count() <= MAX_PURPOSE_CHARS
            && !self
                .purpose
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t');
        if !purpose_ok {
            return Err(ValidationError::Purpose);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, environment: &str, owner: &str, purpose: &str) -> NewIdentity {
        NewIdentity {
            name: name.to_owned(),
            kind: IdentityKind::Service,
            owner: owner.to_owned(),
            environment: environment.to_owned(),
            purpose: purpose.to_owned(),
        }
    }

    #[test]
    fn good_input_passes() {
        let max_name = format!("a{}", "b".repeat(62));
        let max_env = format!("p{}", "r".repeat(31));
        for (name, env) in [
            ("billing", "prod"),
            ("0", "0"),
            ("ci.deploy-web_2", "staging_eu-1"),
            (max_name.as_str(), max_env.as_str()),
        ] {
            assert_eq!(
                new(name, env, "team", "").validate(),
                Ok(()),
                "{name} {env}"
            );
        }
        let owner = "ø".repeat(200);
        let purpose = format!("line one\n\tline two {}", "x".repeat(480));
        assert_eq!(new("a", "b", &owner, &purpose).validate(), Ok(()));
    }

    #[test]
    fn bad_names_are_refused() {
        let long = "a".repeat(64);
        for name in [
            "",
            "-a",
            ".a",
            "_a",
            "Billing",
            "a b",
            "a/b",
            "é",
            "mgk_abc",
            long.as_str(),
        ] {
            assert_eq!(
                new(name, "prod", "team", "").validate(),
                Err(ValidationError::Name),
                "{name}"
            );
        }
    }

    #[test]
    fn bad_environments_are_refused() {
        let long = "a".repeat(33);
        for env in ["", "-prod", "Prod", "prod.eu", "pr od", long.as_str()] {
            assert_eq!(
                new("a", env, "team", "").validate(),
                Err(ValidationError::Environment),
                "{env}"
            );
        }
    }

    #[test]
    fn bad_owners_and_purposes_are_refused() {
        let long = "o".repeat(201);
        for owner in ["", "   ", "team\nevil", "a\u{1b}[31m", long.as_str()] {
            assert_eq!(
                new("a", "b", owner, "").validate(),
                Err(ValidationError::Owner)
            );
        }
        let long = "p".repeat(501);
        for purpose in [long.as_str(), "bell\u{7}"] {
            assert_eq!(
                new("a", "b", "team", purpose).validate(),
                Err(ValidationError::Purpose)
            );
        }
    }

    #[test]
    fn record_conversion() {
        let record = IdentityRecord {
            id: "idn_x".to_owned(),
            name: "a".to_owned(),
            kind: "ci_job".to_owned(),
            owner: "team".to_owned(),
            environment: "prod".to_owned(),
            purpose: String::new(),
            status: "disabled".to_owned(),
            created_at: 1,
            last_used_at: None,
        };
        let identity = Identity::from_record(record.clone()).unwrap();
        assert_eq!(identity.kind, IdentityKind::CiJob);
        assert!(!identity.is_active());
        let bad = IdentityRecord {
            kind: "robot".to_owned(),
            ..record
        };
        assert!(Identity::from_record(bad).is_err());
    }
}
