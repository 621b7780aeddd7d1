//! Public key material: the decoded, size-checked key of a JWK, in the
//! form signature verification uses.

/// An elliptic curve that ES256/ES384 use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Curve {
    /// NIST P-256 (`crv: "P-256"`).
    P256,
    /// NIST P-384 (`crv: "P-384"`).
    P384,
}

impl Curve {
    /// Length of one coordinate of a point, in bytes.
    pub(super) fn coordinate_len(self) -> usize {
        match self {
            Curve::P256 => 32,
            Curve::P384 => 48,
        }
    }
}

/// Public key material, decoded and size-checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum KeyMaterial {
    /// RSA: modulus and exponent, big-endian without leading zeros.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// EC: the uncompressed point `0x04 || x || y`.
    Ec {
        /// The curve.
        curve: Curve,
        /// Uncompressed point.
        point: Vec<u8>,
    },
    /// OKP Ed25519: the 32-byte public key.
    Ed25519 {
        /// Public key.
        x: Vec<u8>,
    },
}
