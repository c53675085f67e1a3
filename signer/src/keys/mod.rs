//! Where a signer's private key lives, behind one trait. The CMS and PAdES code signs through
//! [`SigningKey`] and never knows which back end holds the key:
//! - [`file`]: a key file sealed under the signer's PIN and the service's KEK (`signq dev`,
//!   tests, a ward without tokens);
//! - [`pkcs11`]: a key on a PKCS#11 token or HSM, generated there and never exported; the PIN
//!   goes to the token's own login;
//! - [`csc`]: a key at a remote signing provider (CSC API v2), every batch confirmed by the
//!   person in their signing app; [`remote`] signs a batch with it in two passes.
//!
//! Every key is ECDSA P-256 signing SHA-256, the algorithm the ward's certificates state.

pub mod csc;
pub mod file;
pub mod pkcs11;
pub mod remote;

/// Why a key could not sign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The device holding the key is gone or stopped answering (a token pulled out): nothing
    /// more can be signed with it until it is back.
    #[error("the key's device is not available: {0}")]
    Unavailable(String),
    /// The key refused or failed the operation.
    #[error("{0}")]
    Failed(String),
}

/// An ECDSA P-256 private key, unlocked for one batch.
pub trait SigningKey: Send + Sync + std::fmt::Debug {
    /// The public key as an uncompressed SEC1 point, to hold against the certificate.
    fn public_point(&self) -> &[u8];
    /// An ECDSA signature over SHA-256(`message`), DER-encoded (`Ecdsa-Sig-Value`).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
}
