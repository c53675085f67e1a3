//! The signq scheduler: takes every record, keeps it safe, and routes it so that records are
//! signed on time by someone allowed to sign them.
//!
//! # Layout
//! - [`model`]: records, leases, wards, signers, procedures, delegations.
//! - [`store`]: the durable store trait and its SQLite implementation; the audit chain.
//! - [`balancer`]: which signer gets which record when (late binding and the comparison policies).

pub mod balancer;
pub mod model;
pub mod store;
