//! What every signq service shares, so that each link is secured and observed the same way.
//!
//! # Layout
//! - [`identity`]: roles and signer ids as the ward CA writes them into certificates.
//! - [`keyfile`]: private keys at rest, encrypted PKCS#8 with mode 0600.

pub mod identity;
pub mod keyfile;
