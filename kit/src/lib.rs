//! What every signq service shares, so that each link is secured and observed the same way.
//!
//! # Layout
//! - [`identity`]: roles, signer and ward ids as the ward CA writes them into certificates.
//! - [`keyfile`]: private keys at rest, encrypted PKCS#8 with mode 0600.
//! - [`secrets`]: the key-encryption keys that open key files, kept outside the data directory.
//! - [`tls`]: mutual TLS servers and clients, judged against the ward CA and its CRL.
//! - [`auth`]: admitting gRPC calls by certificate role.
//! - [`guard`]: every call's limits in one tower layer: rate, load shedding, time, size.
//! - [`limit`]: RESOURCE_EXHAUSTED answers with a retry delay.
//! - [`reason`]: why a call was refused, as a reason code clients word their messages from.
//! - [`connect`]: JSON over HTTP (the Connect protocol) in front of the gRPC routes.
//! - [`echo`]: quoting what a caller sent in a refusal, briefly.
//! - [`metrics_http`]: the Prometheus endpoint.
//! - [`telemetry`]: structured logs, and traces exported over OTLP when asked.
//! - [`trace_context`]: W3C trace context carried on gRPC calls from one service to the next.
//! - [`shutdown`]: SIGTERM and Ctrl-C.

pub mod auth;
pub mod connect;
pub mod echo;
pub mod expiry;
pub mod guard;
pub mod identity;
pub mod keyfile;
pub mod limit;
pub mod metrics_http;
pub mod reason;
pub mod secrets;
pub mod shutdown;
pub mod telemetry;
pub mod tls;
pub mod trace_context;
