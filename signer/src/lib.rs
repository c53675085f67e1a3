//! The signq signing service and the ward PKI.
//!
//! # Layout
//! - [`pki`]: the ward CA and the certificates it issues (rcgen), the CRL, the inventory.
//! - [`cms`]: detached and attached CMS SignedData, made and verified.
//! - [`checkpoint`]: the signed head of a scheduler's audit chain.
//! - [`pin`]: what a PIN looks like, how it is stretched, when wrong PINs lock a key.
//! - [`keys`]: where a private key lives (a sealed file, a PKCS#11 token), behind one trait.
//! - [`keystore`]: each signer's certificate and key, unlocked with their PIN.
//! - [`delegation`]: director-signed delegations and the attributes that cite them.
//! - [`capacity`]: who may sign a PDF in which capacity; the seal after a person's signature.
//! - [`trust`]: the ward CA and CRL files as a CMS trust store.
//! - [`tsa`]: the timestamp authority (RFC 3161) and its HTTP endpoint.
//! - [`service`]: the `Signer` gRPC service.

pub mod capacity;
pub mod checkpoint;
pub mod cms;
pub mod delegation;
pub mod keys;
pub mod keystore;
pub mod pin;
pub mod pki;
pub mod service;
pub mod trust;
pub mod tsa;
