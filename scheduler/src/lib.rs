//! The signq scheduler: takes every record, keeps it safe, and routes it so that records are
//! signed on time by someone allowed to sign them.
//!
//! # Layout
//! - [`model`]: records, leases, wards, signers, procedures, delegations.
//! - [`store`]: the durable store trait and its SQLite implementation; the audit chain.
//! - [`balancer`]: which signer gets which record when (late binding and the comparison policies).
//! - [`catalogue`]: the procedure catalogue with statutory time limits.
//! - [`engine`]: where store, balancer, signer service and inbox streams meet.
//! - [`api`]: the Intake, Inbox and Admin gRPC services.
//! - [`health`]: each service's health from probes of what it needs.
//! - [`limits`]: rate limits.
//! - [`metrics`]: metric names and recording.
//! - [`error`]: failures and their gRPC statuses (the one mapping).
//! - [`signer_link`]: calls to the signing service: deadlines, circuit breaker, metrics.
//! - [`webhooks`]: a ward's HTTPS endpoints that receive its records' events, signed.
//! - [`config`], [`server`]: settings and running the whole.

pub mod api;
pub mod balancer;
pub mod catalogue;
pub mod config;
pub mod engine;
pub mod error;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod model;
pub mod server;
pub mod signer_link;
pub mod store;
pub mod webhooks;
