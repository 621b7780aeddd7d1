//! The live policy engine: the active set, swapped whole on reload, and an
//! optional shadow set evaluated beside it.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::compiled::CompiledPolicies;
use crate::decision::Decision;
use crate::error::LoadError;
use crate::facts::RequestFacts;
use crate::role::RoleDef;

/// What a successful reload installed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReloadSummary {
    /// Policy files read.
    pub files: usize,
    /// Policies now active, built-in and user.
    pub policies: usize,
}

/// Decides requests against the active policy set. Cheap to share (`Arc`);
/// readers never wait for a reload to compile.
#[derive(Debug)]
pub struct PolicyEngine {
    active: RwLock<Arc<CompiledPolicies>>,
    shadow: RwLock<Option<Arc<CompiledPolicies>>>,
    shadow_differences: AtomicU64,
}

impl PolicyEngine {
    /// An engine enforcing `active`, with no shadow set.
    pub fn new(active: CompiledPolicies) -> PolicyEngine {
        PolicyEngine {
            active: RwLock::new(Arc::new(active)),
            shadow: RwLock::new(None),
            shadow_differences: AtomicU64::new(0),
        }
    }

    /// The set being enforced.
    pub fn active(&self) -> Arc<CompiledPolicies> {
        Arc::clone(&self.active.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The shadow set, if one is installed.
    pub fn shadow(&self) -> Option<Arc<CompiledPolicies>> {
        self.shadow
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces the active set.
    pub fn install(&self, set: CompiledPolicies) {
        *self.active.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
    }

    /// Compiles `roles` and the `*.cedar` files of `dir`, and makes them
    /// active only if everything is valid; on any error the previous set
    /// stays active and the error names each problem's file and line.
    pub fn reload(&self, roles: &[RoleDef], dir: &Path) -> Result<ReloadSummary, LoadError> {
        let set = CompiledPolicies::from_dir(roles, dir)?;
        let summary = ReloadSummary {
            files: set.files().len(),
            policies: set.len(),
        };
        self.install(set);
        Ok(summary)
    }

    /// Installs (or with `None` removes) the shadow set.
    pub fn set_shadow(&self, candidate: Option<CompiledPolicies>) {
        *self.shadow.write().unwrap_or_else(|e| e.into_inner()) = candidate.map(Arc::new);
    }

    /// Compiles a candidate set from `dir` and installs it as the shadow;
    /// on error the previous shadow (if any) stays.
    pub fn load_shadow(&self, roles: &[RoleDef], dir: &Path) -> Result<ReloadSummary, LoadError> {
        let set = CompiledPolicies::from_dir(roles, dir)?;
        let summary = ReloadSummary {
            files: set.files().len(),
            policies: set.len(),
        };
        self.set_shadow(Some(set));
        Ok(summary)
    }

    /// How many decisions the shadow set has disagreed with, since start.
    pub fn shadow_differences(&self) -> u64 {
        self.shadow_differences.load(Ordering::Relaxed)
    }

    /// Decides `facts` against the active set. With a shadow set installed,
    /// evaluates it too and records its decision in
    /// [`Decision::shadow`] when it differs in allow/deny (never enforced).
    pub fn decide(&self, facts: &RequestFacts) -> Decision {
        let mut decision = self.active().decide(facts);
        if let Some(shadow) = self.shadow() {
            let candidate = shadow.decide(facts);
            if candidate.allowed != decision.allowed {
                self.shadow_differences.fetch_add(1, Ordering::Relaxed);
                decision.shadow = Some(candidate.into_shadow());
            }
        }
        decision
    }
}
