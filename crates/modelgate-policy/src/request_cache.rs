//! The Cedar inputs and decisions of recurring requests, built once.
//!
//! The same few (principal, roles, model, upstream) combinations recur on
//! every request. For each, the cache keeps the entities and the entity
//! uids (building them costs more than evaluating a dozen policies), and
//! the decisions of the last few sets of other facts seen with it (action,
//! data class, findings, time, `max_tokens`, delegation). A decision is a
//! function of the compiled set and every fact, and the two keys together
//! hold every fact, so a hit gives exactly what evaluating again would;
//! time is in seconds, so a recurring request is evaluated at most once a
//! second.
//!
//! The cache belongs to one compiled policy set, so a reload starts with an
//! empty one; a change of roles, status or any other principal fact makes a
//! different key. Both levels are bounded, and emptied when full.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use cedar_policy::{Entities, EntityUid};

use crate::decision::Decision;

use crate::facts::{
    ActiveRole, DataClass, FindingSummary, Operation, PrincipalFacts, RequestFacts, TimeFacts,
    UpstreamFacts,
};

/// Most (principal, roles, model, upstream) entries kept.
pub(crate) const MAX_ENTRIES: usize = 4096;

/// Most decisions kept per entry.
pub(crate) const MAX_DECISIONS_PER_ENTRY: usize = 16;

/// The facts the entities are built from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct EntityKey {
    principal: PrincipalFacts,
    roles: Vec<ActiveRole>,
    model: String,
    upstream: UpstreamFacts,
}

impl EntityKey {
    fn of(facts: &RequestFacts) -> EntityKey {
        EntityKey {
            principal: facts.principal.clone(),
            roles: facts.roles.clone(),
            model: facts.model.clone(),
            upstream: facts.upstream.clone(),
        }
    }

    fn matches(&self, facts: &RequestFacts) -> bool {
        self.principal == facts.principal
            && self.roles == facts.roles
            && self.model == facts.model
            && self.upstream == facts.upstream
    }
}

/// What a request adds to its entry's facts: every other fact, whether the
/// selected policies read it or not (so a hit is right by construction).
#[derive(Clone, Debug, PartialEq, Eq)]
struct RequestKey {
    action: Operation,
    data_class: DataClass,
    findings: FindingSummary,
    time: TimeFacts,
    max_tokens: Option<u64>,
    delegation: Vec<String>,
}

impl RequestKey {
    fn of(facts: &RequestFacts) -> RequestKey {
        // Every field named: a fact added to `RequestFacts` must be placed
        // in one key or the other before this compiles.
        let RequestFacts {
            principal: _,
            roles: _,
            model: _,
            upstream: _,
            action,
            data_class,
            findings,
            time,
            max_tokens,
            delegation,
        } = facts;
        RequestKey {
            action: *action,
            data_class: *data_class,
            findings: findings.clone(),
            time: *time,
            max_tokens: *max_tokens,
            delegation: delegation.clone(),
        }
    }

    fn matches(&self, facts: &RequestFacts) -> bool {
        self.action == facts.action
            && self.data_class == facts.data_class
            && self.time == facts.time
            && self.max_tokens == facts.max_tokens
            && self.findings == facts.findings
            && self.delegation == facts.delegation
    }
}

/// The Cedar inputs of one (principal, roles, model, upstream).
#[derive(Debug)]
pub(crate) struct PrincipalEntry {
    /// The principal, model and upstream entities.
    pub(crate) entities: Arc<Entities>,
    /// `Identity::"id"`.
    pub(crate) principal: EntityUid,
    /// `Model::"name"`.
    pub(crate) model: EntityUid,
    /// `Upstream::"name"`.
    pub(crate) upstream: EntityUid,
    decisions: RwLock<Vec<(RequestKey, Decision)>>,
}

impl PrincipalEntry {
    /// An entry with no request cached yet.
    pub(crate) fn new(
        entities: Entities,
        principal: EntityUid,
        model: EntityUid,
        upstream: EntityUid,
    ) -> PrincipalEntry {
        PrincipalEntry {
            entities: Arc::new(entities),
            principal,
            model,
            upstream,
            decisions: RwLock::new(Vec::new()),
        }
    }

    /// The decision on `facts`, from the cache or made by `decide`, which
    /// also says whether its decision may be kept (not when the request
    /// could not be built: that is retried).
    pub(crate) fn decision(
        &self,
        facts: &RequestFacts,
        decide: impl FnOnce() -> (Decision, bool),
    ) -> Decision {
        {
            let decisions = self.decisions.read().unwrap_or_else(|e| e.into_inner());
            if let Some((_, found)) = decisions.iter().find(|(k, _)| k.matches(facts)) {
                return found.clone();
            }
        }
        let (decision, keep) = decide();
        if keep {
            let mut decisions = self.decisions.write().unwrap_or_else(|e| e.into_inner());
            if decisions.len() >= MAX_DECISIONS_PER_ENTRY {
                decisions.clear();
            }
            decisions.push((RequestKey::of(facts), decision.clone()));
        }
        decision
    }

    #[cfg(test)]
    pub(crate) fn cached_decisions(&self) -> usize {
        self.decisions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

/// Entries with keys of the same hash.
type Bucket = Vec<(EntityKey, Arc<PrincipalEntry>)>;

/// The cache of one compiled set.
#[derive(Debug, Default)]
pub(crate) struct RequestCache {
    hasher: RandomState,
    entries: RwLock<HashMap<u64, Bucket>>,
}

impl RequestCache {
    /// The entry of `facts`' (principal, roles, model, upstream), from the
    /// cache or built by `build`.
    pub(crate) fn entry(
        &self,
        facts: &RequestFacts,
        build: impl FnOnce() -> Result<PrincipalEntry, String>,
    ) -> Result<Arc<PrincipalEntry>, String> {
        let hash = self.hasher.hash_one((
            &facts.principal,
            &facts.roles,
            &facts.model,
            &facts.upstream,
        ));
        {
            let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
            if let Some((_, found)) = entries
                .get(&hash)
                .and_then(|b| b.iter().find(|(k, _)| k.matches(facts)))
            {
                return Ok(Arc::clone(found));
            }
        }
        let built = Arc::new(build()?);
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries
            .entry(hash)
            .or_default()
            .push((EntityKey::of(facts), Arc::clone(&built)));
        Ok(built)
    }

    /// Number of entries (distinct hashes).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
#[path = "request_cache_tests.rs"]
mod tests;
