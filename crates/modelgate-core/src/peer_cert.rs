//! The client certificate of a TLS connection (mTLS), and authentication
//! by it: the listener verifies the certificate against `[server.tls]
//! client_ca` during the handshake, reads the leaf once per connection and
//! attaches a [`PeerCertificate`] to each request of the connection; a
//! request with no bearer credential is authenticated by the certificate's
//! SPIFFE ID (its URI SAN), mapped by the `spiffe` issuers' claim rules
//! exactly as a JWT-SVID's `sub` would be.

use modelgate_identity::federation::{Federation, SpiffeId};
use modelgate_identity::{AuthMethod, IdentityError, IdentityService, Principal};
use modelgate_types::IdentityStatus;

/// A verified client certificate, as the listener read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCertificate {
    /// SHA-256 of the leaf certificate's DER, lowercase hex.
    pub fingerprint: String,
    /// The leaf's SPIFFE ID: its one `spiffe://` URI SAN, when it has
    /// exactly one and it is a valid SPIFFE ID.
    pub spiffe_id: Option<SpiffeId>,
}

/// Why a client certificate does not authenticate the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertRefusal {
    /// The certificate has no (single, valid) `spiffe://` URI SAN.
    NoSpiffeId,
    /// No `spiffe` issuer's rule maps the SPIFFE ID (or its trust domain)
    /// to an identity, several map it to different ones, or the mapped
    /// identity is not registered.
    Unmapped,
    /// The mapped identity could not be looked up (the store failed).
    Unavailable,
}

impl CertRefusal {
    /// A fixed label for metrics and audit records.
    pub fn reason(self) -> &'static str {
        match self {
            CertRefusal::NoSpiffeId => "cert_no_spiffe_id",
            CertRefusal::Unmapped => "cert_unmapped",
            CertRefusal::Unavailable => "store",
        }
    }
}

/// The identity name `cert`'s SPIFFE ID maps to under `federation`'s
/// `spiffe` issuers, or why not.
pub fn mapped_identity(
    federation: &Federation,
    cert: &PeerCertificate,
) -> Result<String, CertRefusal> {
    let id = cert.spiffe_id.as_ref().ok_or(CertRefusal::NoSpiffeId)?;
    match federation.map_spiffe_id(id) {
        Ok((_issuer, identity)) => Ok(identity),
        Err(e) => {
            tracing::debug!(spiffe_id = %id, error = %e, "client certificate not mapped");
            Err(CertRefusal::Unmapped)
        }
    }
}

/// What authentication by a certificate yields.
pub(crate) enum CertOutcome {
    /// Authenticated.
    Principal(Principal),
    /// Refused for a reason of the certificate.
    Refused(CertRefusal),
    /// The mapped identity is disabled or offboarded.
    Inactive,
}

/// Authenticates the caller by `cert` alone.
pub(crate) async fn authenticate_certificate(
    identity: &IdentityService,
    federation: &Federation,
    cert: &PeerCertificate,
) -> CertOutcome {
    let name = match mapped_identity(federation, cert) {
        Ok(name) => name,
        Err(refusal) => return CertOutcome::Refused(refusal),
    };
    let found = match identity.identity(&name).await {
        Ok(found) => found,
        Err(IdentityError::IdentityNotFound(_)) => {
            tracing::debug!(identity = %name, "client certificate maps to an unregistered identity");
            return CertOutcome::Refused(CertRefusal::Unmapped);
        }
        Err(e) => {
            tracing::error!(error = %e, "identity lookup for a client certificate failed");
            return CertOutcome::Refused(CertRefusal::Unavailable);
        }
    };
    if found.status != IdentityStatus::Active {
        return CertOutcome::Inactive;
    }
    let credential_id = cert
        .spiffe_id
        .as_ref()
        .map_or_else(|| cert.fingerprint.clone(), |id| id.as_str().to_owned());
    CertOutcome::Principal(Principal {
        identity_id: found.id,
        identity_name: found.name,
        kind: found.kind,
        owner: found.owner,
        environment: found.environment,
        credential_id,
        auth_method: AuthMethod::Mtls,
        delegation: Vec::new(),
        scope: None,
    })
}
