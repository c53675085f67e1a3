//! Mutual TLS for every signq link (rustls with the ring provider).
//!
//! Servers finish the TLS handshake with any client that proves possession of its certificate's
//! key, then judge the certificate against the ward CA and its CRL before any request is served.
//! Judging after the handshake lets a refused client hear *why* as a gRPC status
//! (UNAUTHENTICATED for no, foreign, expired or revoked certificates; PERMISSION_DENIED for a
//! missing role) instead of a bare handshake failure. The CRL file is re-read whenever it changes,
//! so `signq pki revoke` takes effect on the next connection without a restart; an endpoint's own
//! certificate is re-read when it is renewed, so renewal needs no restart either.
//!
//! # Layout
//! - [`material`]: loading PEM certificates, CRLs and encrypted keys.
//! - [`identity`]: an endpoint's own certificate and key, re-read when renewed.
//! - [`trust`]: the ward CA and its CRL as verifiers, refreshed when the CRL changes.
//! - [`server`]: the TLS listener that yields authenticated connections to tonic.
//! - [`admission`]: which connections are let in, and when an idle one closes.
//! - [`handshakes`]: the handshakes in progress, and which gives way when they are too many.
//! - [`client`]: a tonic channel over mutual TLS.

pub mod admission;
pub mod client;
pub mod handshakes;
pub mod identity;
pub mod material;
pub mod server;
pub mod trust;

pub use admission::{CallActivity, ConnLimits};
pub use client::{ClientTls, connect};
pub use material::{TlsError, TlsFiles};
pub use server::{ConnInfo, PeerAuth, TlsIncoming, serve_incoming};
pub use trust::Trust;

/// The crypto provider every signq TLS endpoint uses.
pub fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}
