//! Telling a TLS failure apart from other ways an upstream call breaks:
//! the upstream's certificate is not trusted, expired or for another name,
//! or the upstream refused the gateway's client certificate. The caller is
//! told which, naming the upstream; the log gets rustls's own reason.

use std::error::Error;

use rustls::{AlertDescription, CertificateError};

/// What went wrong in the TLS handshake with an upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFailure {
    /// The certificate does not chain to a trusted root (or its signature
    /// or encoding is bad).
    Untrusted,
    /// The certificate has expired or is not valid yet.
    Expired,
    /// The certificate is for another host name.
    WrongName,
    /// The upstream refused the gateway's client certificate, or its
    /// absence.
    ClientCertificateRefused,
    /// Any other handshake failure (protocol, cipher, plain text where TLS
    /// was expected).
    Handshake,
}

impl TlsFailure {
    /// The failure behind `error` (a client error and its causes), with
    /// rustls's error for the log; `None` when it is not a TLS failure.
    pub fn of<'a>(error: &'a (dyn Error + 'static)) -> Option<(TlsFailure, &'a rustls::Error)> {
        let tls = find_rustls_error(error)?;
        Some((TlsFailure::from_rustls(tls), tls))
    }

    fn from_rustls(error: &rustls::Error) -> TlsFailure {
        match error {
            rustls::Error::InvalidCertificate(cert) => match cert {
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => TlsFailure::Expired,
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsFailure::WrongName,
                _ => TlsFailure::Untrusted,
            },
            rustls::Error::AlertReceived(
                AlertDescription::CertificateRequired
                | AlertDescription::BadCertificate
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateUnknown
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::CertificateRevoked
                | AlertDescription::CertificateExpired
                | AlertDescription::AccessDenied,
            ) => TlsFailure::ClientCertificateRefused,
            _ => TlsFailure::Handshake,
        }
    }

    /// What the caller and the log are told, after the upstream's name.
    pub fn reason(self) -> &'static str {
        match self {
            TlsFailure::Untrusted => "TLS certificate not trusted",
            TlsFailure::Expired => "TLS certificate expired or not yet valid",
            TlsFailure::WrongName => "TLS certificate is for another host name",
            TlsFailure::ClientCertificateRefused => {
                "the upstream refused the gateway's TLS client certificate"
            }
            TlsFailure::Handshake => "TLS handshake failed",
        }
    }
}

/// The rustls error in `error`'s causes. An `io::Error` wrapping another
/// error does not list it as its source, so the wrapped one is searched
/// too (hyper-rustls wraps tokio-rustls's `io::Error`, which wraps the
/// rustls error).
fn find_rustls_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && let Some(tls) = find_rustls_error(inner)
        {
            return Some(tls);
        }
        next = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error whose source is `inner`, as hyper's client errors wrap the
    /// connector's.
    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("client error (Connect)")
        }
    }

    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    /// As the connector reports it: `io::Error::other(io::Error(InvalidData,
    /// rustls::Error))` behind hyper's error.
    fn wrapped(error: rustls::Error) -> Wrapped {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
        Wrapped(std::io::Error::other(io))
    }

    #[test]
    fn certificate_failures_are_found_and_told_apart() {
        let cases = [
            (
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                TlsFailure::Untrusted,
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::Expired),
                TlsFailure::Expired,
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
                TlsFailure::WrongName,
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::CertificateRequired),
                TlsFailure::ClientCertificateRefused,
            ),
            (
                rustls::Error::AlertReceived(AlertDescription::DecodeError),
                TlsFailure::Handshake,
            ),
        ];
        for (error, expected) in cases {
            let (found, _) = TlsFailure::of(&wrapped(error)).unwrap();
            assert_eq!(found, expected);
        }
    }

    #[test]
    fn other_errors_are_not_tls_failures() {
        let refused = Wrapped(std::io::Error::from_raw_os_error(111));
        assert!(TlsFailure::of(&refused).is_none());
        let plain = Wrapped(std::io::Error::other("connection reset"));
        assert!(TlsFailure::of(&plain).is_none());
    }
}
