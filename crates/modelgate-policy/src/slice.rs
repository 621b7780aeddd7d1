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
//! Within those, policies whose guards (see [`crate::guard`]) are false for
//! the request are left out too. The Cedar policy set for each resulting
//! selection is built once and cached.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use cedar_policy::{ActionConstraint, EntityUid, Policy, PolicySet, PrincipalConstraint};

use crate::facts::{Operation, RequestFacts};
use crate::guard::{Guard, guards_of, may_apply};
use crate::needs::{ContextNeeds, context_needs};
use crate::request::CedarNames;

/// Most cached policy sets per action; the cache is emptied when full
/// (distinct request shapes are few in practice).
const MAX_CACHED_SETS: usize = 4096;

/// A policy of one action, with its guards and the context it reads.
#[derive(Debug)]
struct Entry {
    policy: Policy,
    guards: Vec<Guard>,
    needs: ContextNeeds,
}

/// The policies to evaluate for a request, and the context they read.
#[derive(Debug)]
pub(crate) struct Selection {
    /// The policies.
    pub(crate) set: PolicySet,
    /// The context attributes they read.
    pub(crate) needs: ContextNeeds,
}

/// The policies of one action.
#[derive(Debug)]
pub(crate) struct ActionSlice {
    entries: Vec<Entry>,
    /// Entries whose principal scope names no role or identity.
    base: Vec<u32>,
    /// Entries scoped to a role, by role index.
    by_role: Vec<Vec<u32>>,
    /// Entries scoped to an identity, by identity index.
    by_identity: Vec<Vec<u32>>,
    /// Policy sets by the sorted entry indexes they hold.
    cache: RwLock<HashMap<Vec<u32>, Arc<Selection>>>,
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
pub(crate) fn slice(policies: &[Policy], names: &CedarNames) -> (ScopeIndex, Vec<ActionSlice>) {
    let mut index = ScopeIndex::default();
    let scoped: Vec<(Scope, Vec<Guard>, ContextNeeds, &Policy)> = policies
        .iter()
        .map(|p| (principal_scope(p, names), guards_of(p), context_needs(p), p))
        .collect();
    for (scope, _, _, _) in &scoped {
        match scope {
            Scope::Role(r) => intern(&mut index.roles, r),
            Scope::Identity(i) => intern(&mut index.identities, i),
            Scope::Everyone => {}
        }
    }
    let mut slices = Vec::with_capacity(Operation::ALL.len());
    for op in Operation::ALL {
        let mut slice = ActionSlice {
            entries: Vec::new(),
            base: Vec::new(),
            by_role: vec![Vec::new(); index.roles.len()],
            by_identity: vec![Vec::new(); index.identities.len()],
            cache: RwLock::new(HashMap::new()),
        };
        for (scope, guards, needs, policy) in &scoped {
            if !action_may_match(policy, names.action(op)) {
                continue;
            }
            let at = u32::try_from(slice.entries.len()).unwrap_or(u32::MAX);
            slice.entries.push(Entry {
                policy: (*policy).clone(),
                guards: guards.clone(),
                needs: *needs,
            });
            match scope {
                Scope::Everyone => slice.base.push(at),
                Scope::Role(r) => slice.by_role[index.roles[r] as usize].push(at),
                Scope::Identity(i) => slice.by_identity[index.identities[i] as usize].push(at),
            }
        }
        slices.push(slice);
    }
    (index, slices)
}

fn intern(map: &mut HashMap<String, u32>, name: &str) {
    let next = u32::try_from(map.len()).unwrap_or(u32::MAX);
    map.entry(name.to_owned()).or_insert(next);
}

impl ActionSlice {
    /// The policies that can apply to `facts` (whose action is this slice's).
    pub(crate) fn select(&self, index: &ScopeIndex, facts: &RequestFacts) -> Arc<Selection> {
        let mut roles: Vec<u32> = facts
            .roles
            .iter()
            .filter_map(|r| index.roles.get(&r.name).copied())
            .collect();
        roles.sort_unstable();
        roles.dedup();
        let identity = index.identities.get(&facts.principal.id).copied();
        let candidates = self
            .base
            .iter()
            .chain(roles.iter().flat_map(|&r| &self.by_role[r as usize]))
            .chain(identity.iter().flat_map(|&i| &self.by_identity[i as usize]));
        let mut chosen: Vec<u32> = candidates
            .copied()
            .filter(|&e| may_apply(&self.entries[e as usize].guards, facts))
            .collect();
        chosen.sort_unstable();
        if let Some(set) = read(&self.cache).get(&chosen) {
            return Arc::clone(set);
        }
        let set = Arc::new(self.build(&chosen));
        let mut cache = self.cache.write().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED_SETS {
            cache.clear();
        }
        cache.insert(chosen, Arc::clone(&set));
        set
    }

    fn build(&self, chosen: &[u32]) -> Selection {
        let entries = || chosen.iter().map(|&e| &self.entries[e as usize]);
        let needs = entries().fold(ContextNeeds::default(), |n, e| n.union(e.needs));
        // Ids are unique across the compiled set, so this cannot fail; if it
        // did, dropping a forbid would fail open, so take every policy.
        match PolicySet::from_policies(entries().map(|e| e.policy.clone())) {
            Ok(set) => Selection { set, needs },
            Err(_) => Selection {
                set: self.everything(),
                needs: ContextNeeds::ALL,
            },
        }
    }

    fn everything(&self) -> PolicySet {
        let mut set = PolicySet::new();
        for entry in &self.entries {
            let _ = set.add(entry.policy.clone());
        }
        set
    }

    /// Number of policies whose action scope can match this action.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
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
