//! The control plane's state: the shared services and the few settings
//! of its own.

use std::sync::Arc;
use std::time::Duration;

use modelgate_config::Config;
use modelgate_core::Core;

/// The control plane: cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct Control {
    /// The services shared with the data plane.
    pub core: Arc<Core>,
    /// How long a rotated API key keeps working beside its successor.
    pub(crate) rotation_grace: Duration,
    /// How often revocations and signing keys are re-read from the store.
    pub(crate) sync_interval: Duration,
    /// How often signing keys are retired, revocations pruned and grant
    /// expiries recorded (once across replicas).
    pub(crate) housekeeping_interval: Duration,
    /// How often expired audit bodies are pruned (once across replicas).
    pub(crate) audit_prune_interval: Duration,
    /// Who runs a shared housekeeping task, in `housekeeping_runs`:
    /// the replica id (`server.replica_id`, by default the host name) and
    /// the process id.
    pub(crate) replica: String,
    /// How long a request body may take to arrive (`limits.body_read_timeout`).
    pub(crate) body_read_timeout: Duration,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").finish_non_exhaustive()
    }
}

impl Control {
    /// The control plane over `core`, with the settings of `config` it
    /// needs (key rotation grace, state sync and housekeeping intervals).
    pub fn new(core: Arc<Core>, config: &Config) -> Control {
        Control {
            core,
            rotation_grace: config.keys.rotation_grace,
            sync_interval: config.tokens.sync_interval,
            housekeeping_interval: config.server.housekeeping_interval,
            audit_prune_interval: config.audit.prune_interval,
            replica: format!("{}/{}", config.server.replica_id(), std::process::id()),
            body_read_timeout: config.limits.body_read_timeout,
        }
    }
}
