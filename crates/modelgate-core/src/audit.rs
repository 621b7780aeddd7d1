//! The gateway's side of the tamper-evident log, shared by both planes.
//!
//! [`AuditTrail`] starts the audit writer over the configured sinks (the
//! store by default, JSON-lines files, stdout), holds the audit keys, and
//! knows each route's body retention. The request path appends an `admit`
//! record before it forwards (fail closed: no durable record, no forward, a
//! 503 in the caller's dialect), a `complete` record when the response or
//! stream ends, and a single record for a refusal. Control-plane events
//! (token exchange, admin API changes) go through [`AuditTrail::control`].
//! Refusals of callers not yet authenticated are coalesced per source and
//! reason per interval ([`AuditTrail::coalesce_refusal`], [`coalesce`]).

mod chain_seal;
pub mod coalesce;
mod keys;
mod prune;
mod store_sink;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use modelgate_audit::{
    AuditConfig, AuditError, AuditEvent, AuditHmacKey, AuditLog, AuditPublicKey, AuditSigner,
    AuditSink, BodyPolicy, ControlRecord, JsonlFileOptions, JsonlFileSink, Receipt, StdoutSink,
};
use modelgate_identity::KeyEncryptionKey;
use modelgate_store::Store;

pub use chain_seal::ChainSeal;
pub use coalesce::{Coalesced, RefusalCoalescer, RefusalKey, Summary};
pub use keys::{AuditKeyError, AuditKeys};
pub use prune::prune_expired_bodies;
pub use store_sink::StoreAuditSink;

use modelgate_config::{AuditSettings, ModelConfig};

/// Why the audit log could not start. The message says the cause; it is
/// not also the `source()`, so a full error chain says it once.
#[derive(Debug, thiserror::Error)]
pub enum AuditStartError {
    /// The keys could not be loaded or created.
    #[error(transparent)]
    Keys(#[from] AuditKeyError),
    /// The log could not start (bad settings, unreadable sink).
    #[error("audit log: {0}")]
    Log(AuditError),
    /// The store sink's connection could not be opened.
    #[error("audit log: store sink: {0}")]
    Store(modelgate_store::StoreError),
}

impl From<AuditError> for AuditStartError {
    fn from(e: AuditError) -> Self {
        AuditStartError::Log(e)
    }
}

impl From<modelgate_store::StoreError> for AuditStartError {
    fn from(e: modelgate_store::StoreError) -> Self {
        AuditStartError::Store(e)
    }
}

/// The running audit log of this replica.
pub struct AuditTrail {
    log: AuditLog,
    keys: AuditKeys,
    default_bodies: BodyPolicy,
    route_bodies: HashMap<String, BodyPolicy>,
    store: Store,
    refusals: Arc<RefusalCoalescer>,
    refusal_flusher: Option<tokio::task::AbortHandle>,
}

/// Most (source, surface, reason) keys whose refusals are counted at once;
/// past it, refusals are written on their own.
const MAX_COALESCED_KEYS: usize = 65_536;

impl std::fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditTrail")
            .field("log", &self.log)
            .finish()
    }
}

impl AuditTrail {
    /// Loads (or creates) the audit keys and starts the writer for
    /// `replica` over the sinks `settings` names; resumes each sink's chain.
    /// `lease_holder` is this process's claim on `replica` (see
    /// [`crate::replica_lease`]).
    pub async fn start(
        settings: &AuditSettings,
        models: &[ModelConfig],
        replica: &str,
        store: &Store,
        kek: &KeyEncryptionKey,
        now: i64,
        lease_holder: Option<&str>,
    ) -> Result<AuditTrail, AuditStartError> {
        let keys = AuditKeys::load(store, kek, now, true).await?;
        let mut sinks: Vec<Box<dyn AuditSink>> = Vec::new();
        if settings.store {
            sinks.push(Box::new(
                StoreAuditSink::open(store, replica)?.held_by(lease_holder),
            ));
        }
        if let Some(file) = &settings.file {
            let mut options = JsonlFileOptions::new(&file.dir);
            options.max_file_bytes = file.max_file_bytes;
            options.max_file_age = file.max_file_age;
            options.required = file.required;
            sinks.push(Box::new(
                JsonlFileSink::open(options).map_err(AuditError::from)?,
            ));
        }
        if settings.stdout {
            sinks.push(Box::new(StdoutSink::stdout()));
        }
        let mut config = AuditConfig::new(replica);
        config.checkpoint_every = settings.checkpoint_every;
        config.checkpoint_interval = settings.checkpoint_interval;
        config.append_timeout = settings.append_timeout;
        config.trusted_keys = keys.trusted.clone();
        let log = AuditLog::start(sinks, keys.signer.clone(), config).await?;
        let policy = |retention, period| {
            BodyPolicy::new(retention, Some(keys.hmac.clone()), period)
                .map_err(AuditStartError::Log)
        };
        let default_bodies = policy(settings.bodies, settings.body_retention)?;
        let mut route_bodies = HashMap::new();
        for model in models {
            let retention = model.audit_bodies.unwrap_or(settings.bodies);
            let period = model.audit_body_retention.or(settings.body_retention);
            route_bodies.insert(model.name.clone(), policy(retention, period)?);
        }
        let interval = settings.refusal_coalesce_interval;
        let refusals = Arc::new(RefusalCoalescer::new(interval, MAX_COALESCED_KEYS));
        let refusal_flusher = (!interval.is_zero())
            .then(|| spawn_refusal_flusher(log.clone(), Arc::clone(&refusals)));
        Ok(AuditTrail {
            log,
            keys,
            default_bodies,
            route_bodies,
            store: store.clone(),
            refusals,
            refusal_flusher,
        })
    }

    /// Notes a refusal of a caller that is not authenticated: whether its
    /// record is written on its own ([`Coalesced::WriteOwn`], the first of
    /// `key` in the interval) or counted into the interval's
    /// `refusal.summary` record ([`Coalesced::Counted`]: write nothing).
    pub fn coalesce_refusal(&self, key: RefusalKey, now_ms: i64) -> Coalesced {
        self.refusals.note(key, now_ms)
    }

    /// Whether the last write reached every required sink.
    pub fn healthy(&self) -> bool {
        self.log.healthy()
    }

    /// Why the stored chain's records after its last checkpoint do not
    /// verify, if they do not: nothing is signed and appends are refused.
    pub fn tail_fault(&self) -> Option<String> {
        self.log.tail_fault()
    }

    /// Seq of the last durable record.
    pub fn last_seq(&self) -> u64 {
        self.log.last_seq()
    }

    /// Appends `event`; resolves once it is durable.
    pub async fn append(&self, event: AuditEvent) -> Result<Receipt, AuditError> {
        self.log.append(event).await
    }

    /// Appends `event` in the background (a `complete` record: the request
    /// already had its durable `admit`), lazily: it rides with the next
    /// admit's batch instead of costing a write of its own ahead of it. A
    /// failure is logged; the request is still proven by its admit record.
    pub fn append_later(&self, event: AuditEvent) {
        let log = self.log.clone();
        tokio::spawn(async move {
            if let Err(err) = log.append_lazy(event).await {
                tracing::error!(error = %err, "audit: a completion record was not written");
            }
        });
    }

    /// Records a control-plane event and waits until it is durable.
    pub async fn control(
        &self,
        action: &str,
        actor: Option<&str>,
        target: Option<&str>,
        outcome: &str,
        detail: BTreeMap<String, String>,
    ) -> Result<Receipt, AuditError> {
        debug_assert!(
            modelgate_audit::DECISIONS.contains(&outcome),
            "control outcome {outcome:?} is not in modelgate_audit::DECISIONS"
        );
        self.append(AuditEvent::Control(ControlRecord {
            action: action.to_owned(),
            actor: actor.map(str::to_owned),
            target: target.map(str::to_owned),
            outcome: outcome.to_owned(),
            detail,
        }))
        .await
    }

    /// The body retention of the route `model` (the default for unknown
    /// names).
    pub fn bodies(&self, model: Option<&str>) -> &BodyPolicy {
        model
            .and_then(|m| self.route_bodies.get(m))
            .unwrap_or(&self.default_bodies)
    }

    /// The HMAC key of `hmac` bodies.
    pub fn hmac_key(&self) -> &AuditHmacKey {
        &self.keys.hmac
    }

    /// The checkpoint signer (for exports).
    pub fn signer(&self) -> &Arc<AuditSigner> {
        &self.keys.signer
    }

    /// The checkpoint public key.
    pub fn public_key(&self) -> &AuditPublicKey {
        self.log.public_key()
    }

    /// Writes the open refusal counts and what is queued, signs a final
    /// checkpoint and stops.
    pub async fn close(&self) {
        if let Some(flusher) = &self.refusal_flusher {
            flusher.abort();
        }
        let due = self.refusals.take_due(None);
        write_summaries(&self.log, &self.refusals, due).await;
        self.log.clone().close().await;
    }
}

impl Drop for AuditTrail {
    fn drop(&mut self) {
        if let Some(flusher) = &self.refusal_flusher {
            flusher.abort();
        }
    }
}

/// Writes each interval's refusal counts when the interval ends (checked
/// every second, or every interval when shorter).
fn spawn_refusal_flusher(
    log: AuditLog,
    refusals: Arc<RefusalCoalescer>,
) -> tokio::task::AbortHandle {
    let every = refusals.interval().min(std::time::Duration::from_secs(1));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let due = refusals.take_due(Some(modelgate_types::clock::now_ms()));
            write_summaries(&log, &refusals, due).await;
        }
    })
    .abort_handle()
}

/// Appends one `refusal.summary` per count, together, and waits until they
/// are durable; a count that cannot be written is kept for the next flush.
async fn write_summaries(log: &AuditLog, refusals: &Arc<RefusalCoalescer>, due: Vec<Summary>) {
    let mut writes = tokio::task::JoinSet::new();
    for summary in due {
        let (log, refusals) = (log.clone(), Arc::clone(refusals));
        writes.spawn(async move {
            let event = summary.event(refusals.interval());
            if let Err(err) = log.append(event).await {
                tracing::error!(error = %err, count = summary.count(), "audit: refusal summary not written; kept for the next flush");
                refusals.put_back(summary);
            }
        });
    }
    while writes.join_next().await.is_some() {}
}
