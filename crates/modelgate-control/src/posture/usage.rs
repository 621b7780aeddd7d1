//! What the audit log says each identity did, for the posture snapshot:
//! one bounded pass over the records of a time window (oldest first),
//! aggregated per identity name. Request records give upstreams, data
//! classes, screening findings, client addresses, user agents, hours and
//! the credentials used on the data plane; control records give the access
//! tokens minted (`token.exchange`, with the issuer that proved the caller
//! in `via`) and revoked (`token.revoke`), admin API use (`admin.login`)
//! and the keys found in prompts (`key.leaked`, see `leaks`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use modelgate_audit::{AuditEvent, ControlRecord, Record, RequestRecord, decode_record};
use modelgate_posture::snapshot::{IdentityUsage, Observed, ScreenCount, SubjectUse, UpstreamUse};
use modelgate_store::{AuditQuery, Store, StoreError};

use crate::posture::leaks::{LeakSeen, leaked_record};

/// Records read per page.
const PAGE: i64 = 5_000;
/// Most records one scan reads; the window's newest records beyond it are
/// not counted (the snapshot says so).
pub const MAX_SCANNED_RECORDS: usize = 200_000;
/// Record ids kept as evidence per aggregate.
const EVIDENCE_IDS: usize = 5;

/// (issuer, external subject) → exchanges and evidence record ids.
pub(crate) type SubjectCounts = BTreeMap<(String, String), (u64, Vec<String>)>;

/// An access token minted in the window.
#[derive(Debug, Clone)]
pub(crate) struct TokenSeen {
    pub identity: String,
    pub jti: String,
    pub issued_at: i64,
    pub expires_at: i64,
}

/// A federated exchange (an issuer proved the caller) per identity and
/// issuer: first and last seen.
#[derive(Debug, Clone)]
pub(crate) struct FederationSeen {
    pub first: i64,
    pub last: i64,
}

/// Everything one pass over the window found.
#[derive(Debug, Default)]
pub(crate) struct AuditScan {
    /// Per identity name.
    pub usage: BTreeMap<String, IdentityUsage>,
    /// Credential ids presented on data-plane routes as API keys.
    pub data_plane_keys: HashSet<String>,
    /// Credential id → last request made with it (unix seconds).
    pub credential_last_use: HashMap<String, i64>,
    /// Access tokens minted, by jti.
    pub tokens: BTreeMap<String, TokenSeen>,
    /// Revoked token ids.
    pub revoked_tokens: HashSet<String>,
    /// (identity name, issuer) → exchanges.
    pub federations: BTreeMap<(String, String), FederationSeen>,
    /// Identity name → (issuer, external subject) → exchanges and evidence.
    pub subjects: BTreeMap<String, SubjectCounts>,
    /// (identity name, model) → last allowed request (unix seconds).
    pub model_use: HashMap<(String, String), i64>,
    /// Admin identity name → its last admin API call (`admin.login`).
    pub admin_use: HashMap<String, i64>,
    /// Key id → the modelgate key found in prompts (`key.leaked`).
    pub leaked: BTreeMap<String, LeakSeen>,
    /// Records read.
    pub scanned: usize,
    /// The scan stopped at [`MAX_SCANNED_RECORDS`].
    pub truncated: bool,
}

/// What the scan needs to know about the configuration.
pub(crate) struct ScanContext<'a> {
    /// Upstream name → its configured environment (`None`: serves all).
    pub upstream_environment: &'a HashMap<String, Option<String>>,
    /// Identity name → its environment.
    pub identity_environment: &'a HashMap<String, String>,
    /// Screening kind → category (`credential`, `personal_data`, `custom`).
    pub categories: &'a HashMap<String, &'static str>,
}

/// Reads the records from `since_ms` on and aggregates them.
pub(crate) async fn scan(
    store: &Store,
    since_ms: i64,
    context: &ScanContext<'_>,
) -> Result<AuditScan, StoreError> {
    let mut out = AuditScan::default();
    let mut accumulators: BTreeMap<String, Accumulator> = BTreeMap::new();
    let mut after = None;
    loop {
        let hits = store
            .search_audit(&AuditQuery {
                since: Some(since_ms),
                after,
                limit: PAGE,
                ..AuditQuery::default()
            })
            .await?;
        let Some(last) = hits.last() else {
            break;
        };
        after = Some(last.id);
        let full_page = hits.len() as i64 == PAGE;
        for hit in &hits {
            if out.scanned >= MAX_SCANNED_RECORDS {
                out.truncated = true;
                break;
            }
            out.scanned += 1;
            let Ok(record) = decode_record(hit.line.as_bytes()) else {
                tracing::warn!(entry = hit.id, "audit entry does not decode; skipped");
                continue;
            };
            match &record.event {
                AuditEvent::Request(request) => {
                    request_record(&record, request, context, &mut accumulators, &mut out);
                }
                AuditEvent::Control(control) => {
                    leaked_record(&record, control, &mut out.leaked);
                    control_record(&record, control, &mut out);
                }
            }
        }
        if out.truncated || !full_page {
            break;
        }
    }
    for (name, acc) in accumulators {
        out.usage.insert(name, acc.finish());
    }
    for (identity, subjects) in std::mem::take(&mut out.subjects) {
        let usage = out
            .usage
            .entry(identity.clone())
            .or_insert_with(|| IdentityUsage {
                identity: identity.clone(),
                ..IdentityUsage::default()
            });
        usage.federation_subjects = subjects
            .into_iter()
            .map(|((issuer, subject), (count, record_ids))| SubjectUse {
                environment: subject_environment(&subject),
                issuer,
                subject,
                count,
                record_ids,
            })
            .collect();
    }
    Ok(out)
}

/// Counters of one identity while scanning.
#[derive(Default)]
struct Accumulator {
    requests: u64,
    last: Option<i64>,
    upstreams: BTreeMap<String, (String, BTreeSet<String>, u64, Vec<String>)>,
    findings: BTreeMap<String, (u64, Vec<String>)>,
    addresses: BTreeMap<String, (u64, Vec<String>)>,
    agents: BTreeMap<String, (u64, Vec<String>)>,
    origins: BTreeMap<String, (u64, Vec<String>)>,
    hourly: [u64; 24],
    categories: BTreeMap<String, &'static str>,
}

fn keep(ids: &mut Vec<String>, id: &str) {
    if ids.len() < EVIDENCE_IDS {
        ids.push(id.to_owned());
    }
}

fn observed(map: BTreeMap<String, (u64, Vec<String>)>) -> Vec<Observed> {
    map.into_iter()
        .map(|(value, (count, record_ids))| Observed {
            value,
            count,
            record_ids,
        })
        .collect()
}

impl Accumulator {
    fn finish(self) -> IdentityUsage {
        let categories = self.categories;
        IdentityUsage {
            identity: String::new(),
            requests: self.requests,
            last_activity_at: self.last,
            upstreams: self
                .upstreams
                .into_iter()
                .map(
                    |(upstream, (environment, classes, requests, record_ids))| UpstreamUse {
                        upstream,
                        environment,
                        data_classes: classes.into_iter().collect(),
                        requests,
                        record_ids,
                    },
                )
                .collect(),
            screen_findings: self
                .findings
                .into_iter()
                .map(|(kind, (requests, record_ids))| ScreenCount {
                    category: categories
                        .get(&kind)
                        .copied()
                        .unwrap_or("custom")
                        .to_owned(),
                    kind,
                    requests,
                    record_ids,
                })
                .collect(),
            federation_subjects: Vec::new(),
            client_addresses: observed(self.addresses),
            user_agents: observed(self.agents),
            browser_origins: observed(self.origins),
            hourly_activity: self.hourly.to_vec(),
        }
    }
}

/// The host part of `ip:port` (`[v6]:port` too); a connection's port is
/// not part of who the client is.
fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => addr,
    }
}

fn request_record(
    record: &Record,
    request: &RequestRecord,
    context: &ScanContext<'_>,
    accumulators: &mut BTreeMap<String, Accumulator>,
    out: &mut AuditScan,
) {
    // The `admit` record of a forwarded request is followed by its
    // `complete` record, which carries everything; count each request once.
    if request.phase.as_deref() == Some("admit") {
        return;
    }
    let Some(identity) = &request.identity else {
        return;
    };
    let at = record.time.div_euclid(1000);
    let id = format!("{}/{}", record.replica, record.seq);
    let acc = accumulators.entry(identity.clone()).or_default();
    acc.requests += 1;
    acc.last = acc.last.max(Some(at));
    let hour = usize::try_from(at.rem_euclid(86_400) / 3_600).unwrap_or(0);
    if let Some(bucket) = acc.hourly.get_mut(hour) {
        *bucket += 1;
    }
    if let Some(upstream) = &request.upstream {
        let environment = context
            .upstream_environment
            .get(upstream)
            .cloned()
            .flatten()
            .or_else(|| context.identity_environment.get(identity).cloned())
            .unwrap_or_default();
        let entry = acc
            .upstreams
            .entry(upstream.clone())
            .or_insert_with(|| (environment, BTreeSet::new(), 0, Vec::new()));
        if let Some(class) = &request.data_class {
            entry.1.insert(class.clone());
        }
        entry.2 += 1;
        keep(&mut entry.3, &id);
    }
    for (kind, _) in &request.findings {
        let entry = acc.findings.entry(kind.clone()).or_default();
        entry.0 += 1;
        keep(&mut entry.1, &id);
        if let Some(category) = context.categories.get(kind) {
            acc.categories.insert(kind.clone(), category);
        }
    }
    if let Some(addr) = &request.client_addr {
        let entry = acc.addresses.entry(host_of(addr).to_owned()).or_default();
        entry.0 += 1;
        keep(&mut entry.1, &id);
    }
    if let Some(agent) = &request.user_agent {
        let entry = acc.agents.entry(agent.clone()).or_default();
        entry.0 += 1;
        keep(&mut entry.1, &id);
    }
    if let Some(origin) = &request.origin {
        let entry = acc.origins.entry(origin.clone()).or_default();
        entry.0 += 1;
        keep(&mut entry.1, &id);
    }
    if let Some(credential) = &request.credential_id {
        let last = out
            .credential_last_use
            .entry(credential.clone())
            .or_insert(at);
        *last = (*last).max(at);
        if request.credential_kind.as_deref() == Some("api_key") {
            out.data_plane_keys.insert(credential.clone());
        }
    }
    if request.decision.as_deref() == Some("allow")
        && let Some(model) = &request.model
    {
        let last = out
            .model_use
            .entry((identity.clone(), model.clone()))
            .or_insert(at);
        *last = (*last).max(at);
    }
}

fn control_record(record: &Record, control: &ControlRecord, out: &mut AuditScan) {
    let at = record.time.div_euclid(1000);
    match control.action.as_str() {
        "token.exchange" if control.outcome == "ok" => {
            let Some(identity) = &control.target else {
                return;
            };
            if let Some(jti) = control.detail.get("jti") {
                let lifetime = control
                    .detail
                    .get("expires_in")
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or(0);
                out.tokens.insert(
                    jti.clone(),
                    TokenSeen {
                        identity: identity.clone(),
                        jti: jti.clone(),
                        issued_at: at,
                        expires_at: at.saturating_add(lifetime),
                    },
                );
            }
            if let (Some(via), Some(subject)) =
                (control.detail.get("via"), control.detail.get("subject"))
            {
                let id = format!("{}/{}", record.replica, record.seq);
                let entry = out
                    .subjects
                    .entry(identity.clone())
                    .or_default()
                    .entry((via.clone(), subject.clone()))
                    .or_default();
                entry.0 += 1;
                keep(&mut entry.1, &id);
            }
            if let Some(via) = control.detail.get("via")
                && via != "api_key"
                && via != "access_token"
            {
                let seen = out
                    .federations
                    .entry((identity.clone(), via.clone()))
                    .or_insert(FederationSeen {
                        first: at,
                        last: at,
                    });
                seen.first = seen.first.min(at);
                seen.last = seen.last.max(at);
            }
        }
        "admin.login" if control.outcome == "ok" => {
            if let Some(admin) = &control.actor {
                let last = out.admin_use.entry(admin.clone()).or_insert(at);
                *last = (*last).max(at);
            }
        }
        "token.revoke" if control.outcome == "ok" => {
            if let Some(jti) = &control.target {
                out.revoked_tokens.insert(jti.clone());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn host_drops_the_port_only() {
        assert_eq!(host_of("10.0.0.1:5555"), "10.0.0.1");
        assert_eq!(host_of("[::1]:80"), "::1");
        assert_eq!(host_of("::1"), "::1");
        assert_eq!(host_of("host"), "host");
        assert_eq!(host_of("host:http"), "host:http");
    }
}

/// The environment an external subject names, when its shape says:
/// GitHub Actions `repo:ORG/REPO:environment:ENV`, Kubernetes
/// `system:serviceaccount:NAMESPACE:NAME` (the namespace).
fn subject_environment(subject: &str) -> Option<String> {
    if let Some((_, env)) = subject.split_once(":environment:") {
        return Some(env.split(':').next().unwrap_or(env).to_owned());
    }
    let mut parts = subject.strip_prefix("system:serviceaccount:")?.split(':');
    parts.next().map(str::to_owned)
}

#[cfg(test)]
mod subject_tests {
    use super::subject_environment;

    #[test]
    fn environments_from_subject_shapes() {
        assert_eq!(
            subject_environment("repo:acme/billing:environment:prod").as_deref(),
            Some("prod")
        );
        assert_eq!(
            subject_environment("system:serviceaccount:payments:api").as_deref(),
            Some("payments")
        );
        assert_eq!(
            subject_environment("repo:acme/billing:ref:refs/heads/main"),
            None
        );
        assert_eq!(subject_environment(""), None);
    }
}
