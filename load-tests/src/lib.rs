//! Load generators and benchmarks that drive running signq services over mutual TLS.
//!
//! # Layout
//! - [`sign_bench`]: signatures per second per core through the signer service, beside
//!   `openssl speed ecdsap256` measured in the same run.
//! - [`submit_bench`]: durable submits against a trivial handler behind the same TLS.
//! - [`open_loop`]: requests on a fixed schedule, latency from the intended send time.
//! - [`scenario`]: scenario files (TOML) shared by load runs and the simulator.
//! - [`cpu`]: CPU time of a process, so that rates are per core, not per wall-clock second.

pub mod cpu;
pub mod open_loop;
pub mod scenario;
pub mod sign_bench;
pub mod submit_bench;
