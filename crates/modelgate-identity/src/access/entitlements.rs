//! Entitlements: the roles an identity holds at a given second, and the
//! in-memory snapshot that answers without a store round trip.
//!
//! The snapshot holds every standing assignment and approved grant that was
//! live when it was loaded. It is dropped when the store's state revision
//! moves (every assignment, grant step and offboarding bumps it; the
//! gateway refreshes every `tokens.sync_interval`) and at once for changes
//! made through this process. Time is applied at each lookup, so an expired
//! grant stops counting at its second without any reload. A read made
//! before a drop is not installed after it (a generation counter).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use modelgate_store::{GrantRecord, RoleAssignmentRecord};
use serde::Serialize;

use super::roles::RoleCatalog;

/// Where an active role comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RoleSource {
    /// A standing assignment.
    Standing,
    /// An approved just-in-time grant.
    Grant {
        /// The grant's id.
        grant_id: String,
    },
}

/// One role held now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActiveRole {
    /// The role's name.
    pub role: String,
    /// Where it comes from.
    pub source: RoleSource,
    /// When it stops (exclusive), if it does.
    pub until: Option<i64>,
}

/// The roles an identity holds at one second. A role may appear twice
/// (standing and through a grant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entitlements {
    /// The identity's id.
    pub identity_id: String,
    /// The second these were computed for.
    pub at: i64,
    /// The roles, standing first, then grants, each by role name.
    pub roles: Vec<ActiveRole>,
}

impl Entitlements {
    /// Whether `role` is held (from any source).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r.role == role)
    }

    /// The distinct role names held, sorted.
    pub fn role_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.roles.iter().map(|r| r.role.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// One entry of the snapshot: a role with its window.
#[derive(Debug, Clone)]
struct Window {
    role: ActiveRole,
    from: i64,
}

#[derive(Debug)]
pub(crate) struct Snapshot {
    loaded_at: i64,
    by_identity: HashMap<String, Vec<Window>>,
}

impl Snapshot {
    /// Builds a snapshot from what the store reported live at `loaded_at`.
    /// Only roles `catalog` defines count, and a standing assignment of a
    /// role that is now `jit_only` does not count (zero standing privilege
    /// holds even for assignments made before the role was reconfigured).
    pub(crate) fn build(
        loaded_at: i64,
        assignments: Vec<RoleAssignmentRecord>,
        grants: Vec<GrantRecord>,
        catalog: &RoleCatalog,
    ) -> Snapshot {
        let mut by_identity: HashMap<String, Vec<Window>> = HashMap::new();
        let standing = |role: &str| catalog.role(role).is_some_and(|r| !r.jit_only);
        for a in assignments.into_iter().filter(|a| standing(&a.role)) {
            by_identity.entry(a.identity_id).or_default().push(Window {
                role: ActiveRole {
                    role: a.role,
                    source: RoleSource::Standing,
                    until: a.until,
                },
                from: i64::MIN,
            });
        }
        for g in grants
            .into_iter()
            .filter(|g| catalog.role(&g.role).is_some())
        {
            let (Some(from), Some(until)) = (g.starts_at, g.expires_at) else {
                continue;
            };
            by_identity.entry(g.identity_id).or_default().push(Window {
                role: ActiveRole {
                    role: g.role,
                    source: RoleSource::Grant { grant_id: g.id },
                    until: Some(until),
                },
                from,
            });
        }
        for windows in by_identity.values_mut() {
            windows.sort_by(|a, b| {
                let rank = |w: &Window| matches!(w.role.source, RoleSource::Grant { .. });
                (rank(a), &a.role.role).cmp(&(rank(b), &b.role.role))
            });
        }
        Snapshot {
            loaded_at,
            by_identity,
        }
    }

    /// Whether this snapshot can answer for `now` (it knows nothing of what
    /// ended before it was loaded).
    pub(crate) fn covers(&self, now: i64) -> bool {
        now >= self.loaded_at
    }

    /// The entitlements of `identity_id` at `now`.
    pub(crate) fn entitlements(&self, identity_id: &str, now: i64) -> Entitlements {
        let roles = self
            .by_identity
            .get(identity_id)
            .map(|windows| {
                windows
                    .iter()
                    .filter(|w| w.from <= now && w.role.until.is_none_or(|end| end > now))
                    .map(|w| w.role.clone())
                    .collect()
            })
            .unwrap_or_default();
        Entitlements {
            identity_id: identity_id.to_owned(),
            at: now,
            roles,
        }
    }
}

/// The shared snapshot slot.
#[derive(Debug, Default)]
pub(crate) struct EntitlementCache {
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    generation: AtomicU64,
    revision: RwLock<Option<i64>>,
    /// Held while loading, so concurrent misses read the store once.
    loading: tokio::sync::Mutex<()>,
}

impl EntitlementCache {
    /// The current snapshot, if one is loaded.
    pub fn get(&self) -> Option<Arc<Snapshot>> {
        self.snapshot
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits for the right to load (one loader at a time).
    pub async fn load_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.loading.lock().await
    }

    /// The current generation; pass it back to [`EntitlementCache::install`].
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Installs a snapshot read while `generation` was current.
    pub fn install(&self, generation: u64, snapshot: Arc<Snapshot>) {
        let mut slot = self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) == generation {
            *slot = Some(snapshot);
        }
    }

    /// Drops the snapshot.
    pub fn clear(&self) {
        let mut slot = self
            .snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::AcqRel);
        *slot = None;
    }

    /// Drops the snapshot if the store's revision moved since the last call.
    pub fn observe_revision(&self, revision: i64) {
        let mut seen = self
            .revision
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if *seen != Some(revision) {
            *seen = Some(revision);
            self.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(role: &str, until: Option<i64>) -> RoleAssignmentRecord {
        RoleAssignmentRecord {
            identity_id: "idn_1".into(),
            role: role.into(),
            assigned_at: 0,
            until,
            assigned_by: "a".into(),
        }
    }

    fn grant(id: &str, from: i64, until: i64) -> GrantRecord {
        GrantRecord {
            id: id.into(),
            identity_id: "idn_1".into(),
            role: "admin".into(),
            requested_by: "b".into(),
            reason: "r".into(),
            requested_at: 0,
            duration_secs: until - from,
            pending_expires_at: 10,
            approvals_required: 1,
            state: "approved".into(),
            starts_at: Some(from),
            expires_at: Some(until),
            decided_by: None,
            decided_at: None,
            decision_reason: None,
            approvals: Vec::new(),
        }
    }

    fn catalog() -> RoleCatalog {
        let role = |name: &str, jit_only: bool| {
            serde_json::from_value::<super::super::RoleDef>(
                serde_json::json!({"name": name, "jit_only": jit_only}),
            )
            .unwrap()
        };
        RoleCatalog::new(
            &[
                role("reader", false),
                role("writer", false),
                role("admin", true),
            ],
            &super::super::GrantSettings::default(),
        )
        .unwrap()
    }

    #[test]
    fn only_defined_roles_count_and_jit_only_never_standing() {
        let s = Snapshot::build(
            0,
            vec![
                assignment("admin", None),
                assignment("gone", None),
                assignment("reader", None),
            ],
            vec![grant("grt_1", 0, 100), {
                let mut g = grant("grt_2", 0, 100);
                g.role = "gone".into();
                g
            }],
            &catalog(),
        );
        let e = s.entitlements("idn_1", 50);
        assert_eq!(e.role_names(), ["admin", "reader"]);
        let admin: Vec<_> = e.roles.iter().filter(|r| r.role == "admin").collect();
        assert_eq!(admin.len(), 1);
        assert_eq!(
            admin[0].source,
            RoleSource::Grant {
                grant_id: "grt_1".into()
            }
        );
    }

    #[test]
    fn windows_apply_at_lookup_time() {
        let s = Snapshot::build(
            100,
            vec![assignment("reader", None), assignment("writer", Some(150))],
            vec![grant("grt_1", 100, 200)],
            &catalog(),
        );
        assert!(s.covers(100) && !s.covers(99));
        let e = s.entitlements("idn_1", 149);
        assert_eq!(e.role_names(), ["admin", "reader", "writer"]);
        assert_eq!(e.roles[0].source, RoleSource::Standing);
        let e = s.entitlements("idn_1", 150);
        assert_eq!(e.role_names(), ["admin", "reader"]);
        let e = s.entitlements("idn_1", 199);
        assert!(e.has_role("admin"));
        let e = s.entitlements("idn_1", 200);
        assert!(!e.has_role("admin") && e.has_role("reader"));
        assert!(s.entitlements("idn_other", 150).roles.is_empty());
    }

    #[test]
    fn a_stale_read_is_not_installed_after_a_clear() {
        let cache = EntitlementCache::default();
        let generation = cache.generation();
        cache.clear();
        cache.install(
            generation,
            Arc::new(Snapshot::build(0, vec![], vec![], &catalog())),
        );
        assert!(cache.get().is_none());
        cache.install(
            cache.generation(),
            Arc::new(Snapshot::build(0, vec![], vec![], &catalog())),
        );
        assert!(cache.get().is_some());
        cache.observe_revision(3);
        assert!(cache.get().is_none());
        cache.install(
            cache.generation(),
            Arc::new(Snapshot::build(0, vec![], vec![], &catalog())),
        );
        cache.observe_revision(3);
        assert!(cache.get().is_some());
    }
}
