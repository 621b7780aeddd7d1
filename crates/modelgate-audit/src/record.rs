//! Typed audit records: what a data-plane request and a control-plane event
//! leave behind, and the chained envelope around them.
//!
//! Only structs with a fixed field order and `BTreeMap`s are used, so the
//! JSON that serde writes for an event is the same every time (see the crate
//! docs for the canonical form). Optional fields that are empty are left out
//! of the JSON; that is deterministic too.
//!
//! No field holds a credential, a key or a matched secret. Bodies (prompt and
//! response) are not part of the event's JSON at all: they travel beside it,
//! bound to the record by a commitment, so that they can be pruned later
//! without breaking the chain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::digest::Digest;

fn is_false(value: &bool) -> bool {
    !*value
}

/// Every value the searchable `decision` of a record takes: a request's
/// policy decision (`allow`, `deny`) or a control event's outcome. The one
/// list `audit search --decision` and `GET /admin/v1/audit?decision=`
/// check against; a control event with another outcome would be
/// unsearchable (checked when it is appended, in debug builds).
pub const DECISIONS: [&str; 9] = [
    "allow", "deny", "ok", "denied", "failed", "refused", "expired", "revoked", "fault",
];

/// One data-plane request, allowed or refused. Everything is optional (or
/// empty) because a refusal can happen before the field is known.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestRecord {
    /// Gateway-assigned request id.
    pub request_id: String,
    /// Which record of the request this is, when it has two: `admit`
    /// (appended before forwarding; the request is forwarded only once it
    /// is durable) and `complete` (the outcome: status, usage, times).
    /// Absent when one record tells all (a refusal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Caller identity name, once authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Credential id (never the credential itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// Credential kind (`api_key`, `access_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_kind: Option<String>,
    /// How the caller authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
    /// Who acts for the identity, outermost first (from the `act` claim).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delegation: Vec<String>,
    /// Client address (`ip:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_addr: Option<String>,
    /// Client `User-Agent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Browser `Origin` header, if the call came from a web page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// API operation (`chat.completions`, `messages`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Model the caller asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Upstream chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// Deployment at the upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// Region of the upstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The request's data class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_class: Option<String>,
    /// Policy decision (`allow`, `deny`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Ids of the policies that decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policy_ids: Vec<String>,
    /// The shadow policy set's decision, when it differs (`allow`, `deny`);
    /// recorded, never enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_decision: Option<String>,
    /// The shadow set's deciding policy ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shadow_policy_ids: Vec<String>,
    /// The shadow set's reason, for a denial (what a caller would be told).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_reason: Option<String>,
    /// The facts the decision was made on (JSON of the policy crate's
    /// `RequestFacts`; no secret), so a candidate policy set can be replayed
    /// against recorded traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_input: Option<String>,
    /// Screening findings: kind and count only, never the match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<(String, u32)>,
    /// Findings in the response: kind and count only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_findings: Vec<(String, u32)>,
    /// Action taken (`forwarded`, `blocked`, `redacted`, `refused`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Machine-readable reason of a refusal (`unauthenticated`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// HTTP status returned to the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Time spent in the gateway, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_us: Option<u64>,
    /// Time spent waiting on upstreams, microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_us: Option<u64>,
    /// Prompt tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_in: Option<u64>,
    /// Completion tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_out: Option<u64>,
    /// Whether the tokens are the gateway's estimate (a stream whose
    /// upstream reported no usage), not the upstream's count.
    #[serde(default, skip_serializing_if = "is_false")]
    pub usage_estimated: bool,
    /// Whether the caller asked for a streamed response (recorded as
    /// asked, also when the call failed before a stream began).
    #[serde(default, skip_serializing_if = "is_false")]
    pub streamed: bool,
    /// Upstreams tried before the one that answered: (upstream, outcome).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<(String, String)>,
    /// Upstreams of the route left out before any was tried, and why:
    /// (upstream, reason), e.g. `data class confidential above its
    /// max_data_class internal`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<(String, String)>,
    /// What the gateway noticed about the upstream's answer that is not a
    /// failure (`upstream_body_not_json`: a successful non-streamed body
    /// that is not a JSON object, relayed as it came; `upstream_not_streamed`:
    /// a stream was asked for and a complete body came back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Unix ms after which the bodies may be pruned (from the route's
    /// retention period); `None` keeps them until pruned explicitly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bodies_expire: Option<i64>,
    /// Retained prompt, per the route's retention. Carried beside the event
    /// JSON, not inside it (see the crate docs).
    #[serde(skip)]
    pub prompt: Option<Body>,
    /// Retained response, per the route's retention. Carried beside the
    /// event JSON, not inside it.
    #[serde(skip)]
    pub response: Option<Body>,
}

/// One control-plane event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlRecord {
    /// What happened: `identity.create`, `identity.offboard`, `key.issue`,
    /// `key.rotate`, `key.revoke`, `token.exchange`,
    /// `token.exchange_failed`, `signing_key.rotate`, `grant.request`,
    /// `grant.approve`, `grant.deny`, `grant.expire`, `grant.revoke`,
    /// `policy.load`, `policy.reject`, `config.reload`, `admin.login`, ...
    pub action: String,
    /// Who did it (identity or admin), if anyone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// What it was done to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// One of [`DECISIONS`] (`ok`, `denied`, `failed`, ...).
    pub outcome: String,
    /// Further facts (reason of a failure, key id, policy hash, ...). Never
    /// a secret.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub detail: BTreeMap<String, String>,
}

/// What a record is about.
#[expect(
    clippy::large_enum_variant,
    reason = "requests dominate; boxing would cost an allocation per record"
)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditEvent {
    /// A data-plane request.
    Request(RequestRecord),
    /// A control-plane event.
    Control(ControlRecord),
}

impl AuditEvent {
    /// The (prompt, response) bodies, if this is a request.
    pub fn bodies(&self) -> (Option<&Body>, Option<&Body>) {
        match self {
            AuditEvent::Request(r) => (r.prompt.as_ref(), r.response.as_ref()),
            AuditEvent::Control(_) => (None, None),
        }
    }
}

/// A retained prompt or response.
///
/// `Redacted` and `Full` carry a random salt so that the commitment kept
/// after pruning cannot be used to confirm a guessed body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Body {
    /// Keyed HMAC-SHA256 of the text (searchable with `hash_value`).
    Hmac {
        /// Id of the audit HMAC key.
        key_id: String,
        /// Standard base64 of the 32-byte tag.
        value_b64: String,
    },
    /// The text after screening redacted it.
    Redacted {
        /// Redacted text.
        text: String,
        /// Base64 of 16 random bytes.
        salt: String,
    },
    /// The text as sent.
    Full {
        /// Text.
        text: String,
        /// Base64 of 16 random bytes.
        salt: String,
    },
    /// The body was pruned; only its commitment is left.
    Pruned {
        /// The commitment (hex SHA-256, body domain).
        sha256: Digest,
    },
}

/// A record in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Position in this replica's chain, from 1.
    pub seq: u64,
    /// When the record was appended, unix milliseconds; never decreases
    /// along the chain.
    pub time: i64,
    /// Replica that wrote it; each replica keeps its own chain.
    pub replica: String,
    /// Hash of the previous record ([`Digest::ZERO`] for seq 1).
    pub prev: Digest,
    /// What happened.
    pub event: AuditEvent,
    /// SHA-256(0x00 || canonical bytes).
    pub hash: Digest,
}

/// Where the chain stands: the last record's seq, hash and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChainHead {
    /// Seq of the last record (0 before the first).
    pub seq: u64,
    /// Hash of the last record ([`Digest::ZERO`] before the first).
    pub hash: Digest,
    /// Time of the last record (0 before the first).
    pub time: i64,
}

impl Record {
    /// The head this record leaves the chain at.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            seq: self.seq,
            hash: self.hash,
            time: self.time,
        }
    }
}

/// Acknowledgement of a durably written record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    /// Seq given to the record.
    pub seq: u64,
    /// Its hash.
    pub hash: Digest,
}
