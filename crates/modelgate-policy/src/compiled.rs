//! A compiled, validated policy set: built-in policies (role permits and
//! baseline forbids) plus user policies, sliced per action.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;

use cedar_policy::{
    AuthorizationError, Authorizer, Decision as CedarDecision, Effect, Policy, PolicySet, Schema,
    Validator,
};

use crate::decision::{
    Decision, EVALUATION_ERROR_REASON, GENERIC_FORBID_REASON, explain_no_permit,
};
use crate::error::{LoadError, PolicyProblem};
use crate::facts::RequestFacts;
use crate::needs::ContextNeeds;
use crate::request::CedarNames;
use crate::request_cache::{PrincipalEntry, RequestCache};
use crate::role::{RoleDef, validate_roles};
use crate::slice::{ActionSlice, ScopeIndex, slice};
use crate::source::{NamedPolicy, PolicyFile, parse_files, read_policy_dir};

/// The gateway's Cedar schema (`modelgate policy schema`).
pub const SCHEMA: &str = include_str!("../schema/modelgate.cedarschema");

/// Baseline forbids that hold whatever the roles and user policies say.
pub const BASELINE_POLICIES: &str = r#"@id("builtin:inactive-identity")
@reason("the identity is not active")
forbid (principal, action, resource)
when { principal.status != "active" };
"#;

/// A validated policy set, ready to decide. Immutable: reloading builds a
/// new one.
#[derive(Debug)]
pub struct CompiledPolicies {
    roles: Vec<RoleDef>,
    files: Vec<PolicyFile>,
    warnings: Vec<PolicyProblem>,
    builtin_text: String,
    all: PolicySet,
    reasons: HashMap<String, String>,
    index: ScopeIndex,
    slices: Vec<ActionSlice>,
    names: CedarNames,
    requests: RequestCache,
    authorizer: Authorizer,
}

impl CompiledPolicies {
    /// Compiles roles and the baseline, parses and validates `files`
    /// against [`SCHEMA`]. Every problem is reported, with file and line.
    pub fn compile(roles: &[RoleDef], files: Vec<PolicyFile>) -> Result<Self, LoadError> {
        validate_roles(roles)?;
        let (schema, _warnings) =
            Schema::from_cedarschema_str(SCHEMA).map_err(|e| LoadError::Internal(e.to_string()))?;
        let validator = Validator::new(schema);

        let builtin_text = builtin_text(roles);
        let builtin = parse_builtin(&builtin_text, &validator)?;
        let mut taken: HashSet<String> =
            builtin.iter().map(|p| p.policy.id().to_string()).collect();
        let user = parse_files(&files, &validator, &mut taken).map_err(LoadError::Policies)?;

        let mut reasons = HashMap::new();
        let warnings: Vec<PolicyProblem> = user.iter().filter_map(|n| n.warning.clone()).collect();
        let mut policies: Vec<Policy> = Vec::with_capacity(builtin.len() + user.len());
        for named in builtin.into_iter().chain(user) {
            if let Some(reason) = named.reason {
                reasons.insert(named.policy.id().to_string(), reason);
            }
            policies.push(named.policy);
        }
        let names = CedarNames::new().map_err(LoadError::Internal)?;
        let all = PolicySet::from_policies(policies.iter().cloned())
            .map_err(|e| LoadError::Internal(e.to_string()))?;
        let (index, slices) = slice(&policies, &names);
        Ok(CompiledPolicies {
            roles: roles.to_vec(),
            files,
            warnings,
            builtin_text,
            all,
            reasons,
            index,
            slices,
            names,
            requests: RequestCache::default(),
            authorizer: Authorizer::new(),
        })
    }

    /// [`CompiledPolicies::compile`] over every `*.cedar` file in `dir`.
    pub fn from_dir(roles: &[RoleDef], dir: &Path) -> Result<Self, LoadError> {
        Self::compile(roles, read_policy_dir(dir)?)
    }

    /// The roles this set was compiled from.
    pub fn roles(&self) -> &[RoleDef] {
        &self.roles
    }

    /// The user policy files this set was compiled from.
    pub fn files(&self) -> &[PolicyFile] {
        &self.files
    }

    /// What is legal but likely a mistake in the user policies, with file
    /// and line: each `forbid` without `@reason`.
    pub fn warnings(&self) -> &[PolicyProblem] {
        &self.warnings
    }

    /// The built-in policies as Cedar text (`modelgate policy show --builtin`).
    pub fn builtin_text(&self) -> &str {
        &self.builtin_text
    }

    /// Every policy id, sorted.
    pub fn policy_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.all.policies().map(|p| p.id().to_string()).collect();
        ids.sort();
        ids
    }

    /// Number of policies, built-in and user.
    pub fn len(&self) -> usize {
        self.all.num_of_policies()
    }

    /// Whether the set holds no policy at all (never true: the baseline is
    /// always there).
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The cache of Cedar requests (tests look inside).
    #[cfg(test)]
    pub(crate) fn request_cache(&self) -> &RequestCache {
        &self.requests
    }

    /// Number of policies whose action scope can match `op`.
    pub fn len_for(&self, op: crate::Operation) -> usize {
        self.slices[op.index()].len()
    }

    /// Decides one request against this set, evaluating only the policies
    /// that can apply to it. Facts decided before (within the same second)
    /// get the same decision from the cache.
    pub fn decide(&self, facts: &RequestFacts) -> Decision {
        let Ok(entry) = self
            .requests
            .entry(facts, || self.names.principal_entry(facts))
        else {
            return Decision::deny(EVALUATION_ERROR_REASON.to_owned(), Vec::new());
        };
        entry.decision(facts, || {
            let selection = self.slices[facts.action.index()].select(&self.index, facts);
            self.evaluate(&selection.set, selection.needs, facts, &entry)
        })
    }

    /// Decides against every policy of the set, unsliced and uncached.
    /// Slower; the reference that [`CompiledPolicies::decide`] must agree
    /// with.
    pub fn decide_unsliced(&self, facts: &RequestFacts) -> Decision {
        match self.names.principal_entry(facts) {
            Ok(entry) => self.evaluate(&self.all, ContextNeeds::ALL, facts, &entry).0,
            Err(_) => Decision::deny(EVALUATION_ERROR_REASON.to_owned(), Vec::new()),
        }
    }

    /// The decision, and whether it may be cached.
    fn evaluate(
        &self,
        set: &PolicySet,
        needs: ContextNeeds,
        facts: &RequestFacts,
        entry: &PrincipalEntry,
    ) -> (Decision, bool) {
        let Ok(request) = self.names.request(facts, needs, entry) else {
            return (
                Decision::deny(EVALUATION_ERROR_REASON.to_owned(), Vec::new()),
                false,
            );
        };
        let entities = &entry.entities;
        let response = self.authorizer.is_authorized(&request, set, entities);
        let diagnostics = response.diagnostics();
        let mut errored_forbids: Vec<String> = diagnostics
            .errors()
            .map(|AuthorizationError::PolicyEvaluationError(e)| e.policy_id())
            .filter(|id| set.policy(id).is_some_and(|p| p.effect() == Effect::Forbid))
            .map(|id| id.to_string())
            .collect();
        let mut ids: Vec<String> = diagnostics.reason().map(|id| id.to_string()).collect();
        ids.sort();
        let decision = match response.decision() {
            CedarDecision::Allow if errored_forbids.is_empty() => Decision::allow(ids),
            CedarDecision::Allow => {
                errored_forbids.sort();
                Decision::deny(EVALUATION_ERROR_REASON.to_owned(), errored_forbids)
            }
            CedarDecision::Deny => {
                let reason = match ids.first() {
                    Some(first) => self
                        .reasons
                        .get(first)
                        .cloned()
                        .unwrap_or_else(|| GENERIC_FORBID_REASON.to_owned()),
                    None => explain_no_permit(&self.roles, facts),
                };
                Decision::deny(reason, ids)
            }
        };
        (decision, true)
    }
}

/// The built-in policies for `roles`: the baseline, then one permit per
/// role, in the order given. Roles must be valid.
pub fn builtin_text(roles: &[RoleDef]) -> String {
    let mut text = String::from(BASELINE_POLICIES);
    for role in roles {
        text.push('\n');
        text.push_str(&role.to_cedar());
    }
    text
}

fn parse_builtin(text: &str, validator: &Validator) -> Result<Vec<NamedPolicy>, LoadError> {
    let set = PolicySet::from_str(text).map_err(|e| LoadError::Internal(e.to_string()))?;
    let result = validator.validate(&set, cedar_policy::ValidationMode::Strict);
    if let Some(error) = result.validation_errors().next() {
        return Err(LoadError::Internal(error.to_string()));
    }
    let mut named = Vec::new();
    for policy in set.policies() {
        let Some(id) = policy.annotation("id") else {
            return Err(LoadError::Internal("built-in policy without @id".into()));
        };
        named.push(NamedPolicy {
            reason: policy.annotation("reason").map(str::to_owned),
            warning: None,
            policy: policy.new_id(cedar_policy::PolicyId::new(id)),
        });
    }
    Ok(named)
}
