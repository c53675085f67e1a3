//! Everything that can go wrong in the ward PKI, one variant per distinct failure.
//!
//! The `signq pki` CLI prints these to an operator, so each variant names what failed and, where
//! it helps, what to do about it; callers can also match on them (a wrong passphrase is retried,
//! a missing PKI directory suggests `signq pki init`).

use std::path::PathBuf;

use signq_kit::identity::Role;
use signq_kit::keyfile::KeyFileError;

use super::profiles::CertKind;

/// Why a PKI operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file or directory of the PKI could not be read, created or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An encrypted key file could not be written or opened (other than the CA key with a wrong
    /// passphrase, which is [`PkiError::WrongPassphrase`]).
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// `init` or `import` found a CA certificate or key already in the directory; nothing was
    /// overwritten.
    #[error("a CA already exists in {0} (refusing to overwrite it)")]
    AlreadyInitialised(PathBuf),
    /// `open` found no CA certificate or key in the directory: run `signq pki init` first.
    #[error("no PKI in {0} (run `signq pki init` or `signq pki import` first)")]
    NotInitialised(PathBuf),
    /// The PKI passphrase does not decrypt the CA key.
    #[error("wrong PKI passphrase: it does not decrypt the CA key")]
    WrongPassphrase,
    /// `init` or `import` was given an empty PKI passphrase, which would leave the CA key
    /// effectively unprotected.
    #[error("the PKI passphrase must not be empty")]
    EmptyPassphrase,
    /// The certificate given to `import` cannot issue certificates and CRLs.
    #[error("the imported certificate is not a usable CA: {0}")]
    NotACa(String),
    /// The private key does not belong to the CA certificate (on `import`, or a swapped file on
    /// `open`).
    #[error("the private key does not match the CA certificate")]
    KeyDoesNotMatchCertificate,
    /// `import` was given an `ENCRYPTED PRIVATE KEY` without a password to open it.
    #[error("the CA key is encrypted: a key password is required")]
    KeyPasswordRequired,
    /// A certificate (the CA's on `import` or `open`, or a freshly issued one) cannot be parsed.
    #[error("invalid certificate: {0}")]
    InvalidCertificate(String),
    /// A private key is not a PKCS#8 key of an algorithm signq can sign with.
    #[error("invalid private key: {0}")]
    InvalidKey(String),
    /// A certificate name, signer id, ward id or DNS name is not acceptable. Names must be
    /// non-empty, at most 128 characters of `[a-z0-9-_./]`, start with a letter or digit and
    /// contain no `..`, so that they are safe as file names.
    #[error(
        "invalid name {0:?}: use 1 to 128 characters of a-z 0-9 - _ . /, starting with a letter or digit, without \"..\""
    )]
    InvalidName(String),
    /// Two names would share files under `issued/` (`a/b` and `a_b` both become `a_b`); pick
    /// another name.
    #[error("name {name:?} would overwrite the files of {existing:?} under issued/")]
    NameCollision {
        /// The name asked for.
        name: String,
        /// The name already in the inventory.
        existing: String,
    },
    /// A human-readable subject field (display name, ward name) is empty, too long or contains
    /// control characters.
    #[error("invalid subject field: {0}")]
    InvalidSubject(String),
    /// The validity period ends before it starts, or lies outside the years 1 to 9999 that X.509
    /// can express.
    #[error("invalid validity: not_after {not_after} is not after not_before {not_before}")]
    InvalidValidity {
        /// The requested start.
        not_before: time::OffsetDateTime,
        /// The requested end.
        not_after: time::OffsetDateTime,
    },
    /// A certificate kind was asked for with a role it cannot carry (e.g. a server certificate for
    /// a deputy).
    #[error("role {role} cannot hold a {kind} certificate")]
    WrongRoleForKind {
        /// The role asked for.
        role: Role,
        /// The kind of certificate asked for.
        kind: CertKind,
    },
    /// `revoke` was given a serial or name that is not in the inventory.
    #[error("no certificate with serial or name {0:?} in the inventory")]
    UnknownCertificate(String),
    /// `renew` was asked for a certificate whose renewal needs what only another command has
    /// (a PIN, a tablet's file, the signing service's key).
    #[error("{name} is not renewed by `signq pki renew`: {how}")]
    NotRenewable {
        /// The certificate's name.
        name: String,
        /// What renews it.
        how: &'static str,
    },
    /// `revoke` was given a certificate (by serial, or a name whose certificates are all revoked)
    /// that is already revoked.
    #[error("certificate {0} is already revoked")]
    AlreadyRevoked(String),
    /// `revoke` was given a name held by more than one unrevoked certificate; revoke by serial.
    #[error("name {name:?} has {} unrevoked certificates ({}): revoke by serial", serials.len(), serials.join(", "))]
    AmbiguousName {
        /// The name given.
        name: String,
        /// The serials of its unrevoked certificates.
        serials: Vec<String>,
    },
    /// rcgen refused to build a key, certificate or CRL.
    #[error("certificate generation failed: {0}")]
    Rcgen(String),
    /// `inventory.json` or `crl.pem` is missing, unreadable or malformed.
    #[error("inventory: {0}")]
    Inventory(String),
}

impl From<rcgen::Error> for PkiError {
    fn from(e: rcgen::Error) -> Self {
        PkiError::Rcgen(e.to_string())
    }
}

impl PkiError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> PkiError {
        let path = path.into();
        move |source| PkiError::Io { path, source }
    }
}
