//! Load generators and benchmarks that drive running signq services over mutual TLS.
//!
//! # Layout
//! - [`sign_bench`]: signatures per second per core through the signer service, beside
//!   `openssl speed ecdsap256` measured in the same run.
//! - [`cpu`]: CPU time of a process, so that rates are per core, not per wall-clock second.

pub mod cpu;
pub mod sign_bench;
