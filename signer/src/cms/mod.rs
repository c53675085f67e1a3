//! CMS SignedData (RFC 5652): detached and attached signatures and their verification.
//!
//! Ward records are signed by the officer who certifies them with an ECDSA P-256 key
//! issued by the ward CA. A signature is a DER `ContentInfo` holding a `SignedData`
//! with one `SignerInfo` (issuerAndSerialNumber, sha-256, ecdsa-with-SHA256), the
//! signed attributes content-type, signing-time, message-digest and ESS
//! signing-certificate-v2 plus any caller attributes, and the signer's certificate with
//! its chain. OpenSSL's `cms -verify` accepts what [`CmsSigner`] makes, and [`verify`]
//! checks signatures against a [`TrustStore`] at the signing time.
//!
//! # Layout
//! - sign side: `sign.rs` ([`CmsSigner`], precomputed per batch), `encode.rs`
//!   (byte assembly), `ess.rs`, `signing_time.rs`, `attributes.rs`.
//! - verify side: `verify.rs` ([`verify`], [`Verified`]), `parse.rs` and `reader.rs`
//!   (borrowed, strict DER views), `certificate.rs`, `chain.rs` ([`TrustStore`], webpki).
//! - `timestamp.rs`: signature timestamps (RFC 3161 tokens in an unsigned attribute),
//!   [`check_token`].
//! - [`oids`]: the object identifiers both sides share; `error.rs`: [`CmsError`].

mod attributes;
mod certificate;
mod chain;
mod encode;
mod error;
mod ess;
pub mod oids;
mod parse;
mod reader;
mod sign;
mod signing_time;
mod timestamp;
mod verify;

#[cfg(test)]
mod tests;

pub use attributes::SignedAttribute;
pub use certificate::{issuers_of, public_point};
pub use chain::{Purpose, TrustStore, check_signing_certificate};
pub use error::CmsError;
pub use sign::{CmsSigner, Stamp};
pub use timestamp::{Timestamp, check_token};
pub use verify::{Verified, signer_chain, verify, verify_for, verify_pades};
