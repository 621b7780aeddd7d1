//! Pre-sliced policy sets, so a decision evaluates only what can apply.
//!
//! Cedar evaluates every policy of the set it is given, and rebuilds each
//! policy's condition per evaluation, so its cost grows with the set. A
//! policy can only apply to a request when its action scope names the
//! request's action (or any action), and, when its principal scope is
//! `in Role::"R"`, `is Identity in Role::"R"`, `== Identity::"X"` or
//! `in Identity::"X"`, when the principal holds R or is X (identities have no
//! parents but roles, and roles have none). Everything else is kept.
//!
//! Per action there is one set of the policies that do not name a role or
//! identity; the set for a given (roles held, identity) adds the policies of
//! those roles and that identity, and is built once and cached.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use cedar_policy::{ActionConstraint, EntityUid, Policy, PolicySet, PrincipalConstraint};

use crate::facts::{Operation, RequestFacts};
use crate::request::CedarNames;

/// Most cached (roles, identity) sets per action; the cache is emptied when
/// full (distinct role combinations are few in practice).
const MAX_CACHED_SETS: usize = 4096;

/// Roles and identity (by index) that select extra policies.
type SliceKey = (Vec<u32>, Option<u32>);

/// The policies of one action.
#[derive(Debug)]
pub(crate) struct ActionSlice {
    /// Policies whose principal scope names no role or identity.
    base: Arc<PolicySet>,
    base_policies: Vec<Policy>,
    /// Policies scoped to a role, by role index.
    by_role: Vec<Vec<Policy>>,
    /// Policies scoped to an identity, by identity index.
    by_identity: Vec<Vec<Policy>>,
    cache: RwLock<HashMap<SliceKey, Arc<PolicySet>>>,
}

/// Role and identity names to indexes, shared by the slices of one set.
#[derive(Debug, Default)]
pub(crate) struct ScopeIndex {
    roles: HashMap<String, u32>,
    identities: HashMap<String, u32>,
}

/// Where a policy's principal scope puts it.
enum Scope {
    Everyone,
    Role(String),
    Identity(String),
}

/// Splits `policies` per action.
pub(crate) fn slice(
    policies: &[Policy],
    names: &CedarNames,
) -> Result<(ScopeIndex, Vec<ActionSlice>), String> {
    let mut index = ScopeIndex::default();
    let scoped: Vec<(Scope, &Policy)> = policies
        .iter()
        .map(|p| (principal_scope(p, names), p))
        .collect();
    for (scope, _) in &scoped {
        match scope {
            Scope::Role(r) => intern(&mut index.roles, r),
            Scope::Identity(i) => intern(&mut index.identities, i),
            Scope::Everyone => {}
        }
    }
    let mut slices = Vec::with_capacity(Operation::ALL.len());
    for op in Operation::ALL {
        let mut base_policies = Vec::new();
        let mut by_role = vec![Vec::new(); index.roles.len()];
        let mut by_identity = vec![Vec::new(); index.identities.len()];
        for (scope, policy) in &scoped {
            if !action_may_match(policy, names.action(op)) {
                continue;
            }
            let policy = (*policy).clone();
            match scope {
                Scope::Everyone => base_policies.push(policy),
                Scope::Role(r) => by_role[index.roles[r] as usize].push(policy),
                Scope::Identity(i) => by_identity[index.identities[i] as usize].push(policy),
            }
        }
        let base =
            PolicySet::from_policies(base_policies.iter().cloned()).map_err(|e| e.to_string())?;
        slices.push(ActionSlice {
            base: Arc::new(base),
            base_policies,
            by_role,
            by_identity,
            cache: RwLock::new(HashMap::new()),
        });
    }
    Ok((index, slices))
}

fn intern(map: &mut HashMap<String, u32>, name: &str) {
    let next = u32::try_from(map.len()).unwrap_or(u32::MAX);
    map.entry(name.to_owned()).or_insert(next);
}

impl ActionSlice {
    /// The policies that can apply to `facts` (whose action is this slice's).
    pub(crate) fn select(&self, index: &ScopeIndex, facts: &RequestFacts) -> Arc<PolicySet> {
        let mut roles: Vec<u32> = facts
            .roles
            .iter()
            .filter_map(|r| index.roles.get(&r.name).copied())
            .filter(|&i| !self.by_role[i as usize].is_empty())
            .collect();
        roles.sort_unstable();
        roles.dedup();
        let identity = index
            .identities
            .get(&facts.principal.id)
            .copied()
            .filter(|&i| !self.by_identity[i as usize].is_empty());
        if roles.is_empty() && identity.is_none() {
            return Arc::clone(&self.base);
        }
        let key = (roles, identity);
        if let Some(set) = read(&self.cache).get(&key) {
            return Arc::clone(set);
        }
        let set = Arc::new(self.build(&key));
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED_SETS {
            cache.clear();
        }
        cache.insert(key, Arc::clone(&set));
        set
    }

    fn build(&self, (roles, identity): &SliceKey) -> PolicySet {
        let extra = roles
            .iter()
            .flat_map(|&r| &self.by_role[r as usize])
            .chain(identity.iter().flat_map(|&i| &self.by_identity[i as usize]));
        let mut set = (*self.base).clone();
        for policy in extra {
            // Ids are unique and each policy sits in one list, so adding
            // cannot fail; if it did, dropping a forbid would fail open, so
            // evaluate every policy of the action instead.
            if set.add(policy.clone()).is_err() {
                return self.everything();
            }
        }
        set
    }

    fn everything(&self) -> PolicySet {
        let all = self
            .base_policies
            .iter()
            .chain(self.by_role.iter().flatten())
            .chain(self.by_identity.iter().flatten())
            .cloned();
        PolicySet::from_policies(all).unwrap_or_default()
    }

    /// Number of policies in this action's slices together.
    pub(crate) fn len(&self) -> usize {
        self.base_policies.len()
            + self.by_role.iter().map(Vec::len).sum::<usize>()
            + self.by_identity.iter().map(Vec::len).sum::<usize>()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn action_may_match(policy: &Policy, action: &EntityUid) -> bool {
    match policy.action_constraint() {
        ActionConstraint::Any => true,
        ActionConstraint::Eq(uid) => &uid == action,
        // The schema declares no action groups, so `in` is membership.
        ActionConstraint::In(uids) => uids.iter().any(|uid| uid == action),
    }
}

fn principal_scope(policy: &Policy, names: &CedarNames) -> Scope {
    let (uid, is_identity_type_or_any) = match policy.principal_constraint() {
        PrincipalConstraint::In(uid) | PrincipalConstraint::Eq(uid) => (uid, true),
        PrincipalConstraint::IsIn(ty, uid) => {
            let identity_type = &ty == names.identity_type();
            (uid, identity_type)
        }
        PrincipalConstraint::Any | PrincipalConstraint::Is(_) => return Scope::Everyone,
    };
    if !is_identity_type_or_any {
        return Scope::Everyone;
    }
    let id: &str = uid.id().as_ref();
    if uid.type_name() == names.role_type() {
        Scope::Role(id.to_owned())
    } else if uid.type_name() == names.identity_type() {
        Scope::Identity(id.to_owned())
    } else {
        Scope::Everyone
    }
}
