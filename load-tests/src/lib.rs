//! Load generators and benchmarks that drive running signq services over mutual TLS.
//!
//! # Layout
//! - [`sign_bench`]: signatures per second per core through the signer service, beside
//!   `openssl speed ecdsap256` measured in the same run.
//! - [`pades_bench`]: PAdES signatures of PDFs per core, beside detached CMS and pyHanko.
//! - [`submit_bench`]: durable submits against a trivial handler behind the same TLS.
//! - [`open_loop`]: requests on a fixed schedule, latency from the intended send time.
//! - [`pipeline`]: runs into reports; the yardstick sweep against Erlang C.
//! - [`runner`]: a scenario against the real services, with simulated signers.
//! - [`scenario`]: scenario files (TOML) shared by load runs and the simulator.
//! - [`dates`]: a scenario's working time on the legal calendar, and its records' due times.
//! - [`cpu`]: CPU time of a process, so that rates are per core, not per wall-clock second.
//! - [`memory`]: resident memory of a process (now and its peak), from `/proc` (Linux only).
//! - [`report`]: the report of a run or a simulation: Markdown and JSON summaries, `.hgrm`
//!   percentile files, and SVG/PNG charts, from measured series.
//! - [`queueing`]: the yardsticks: Erlang C, Kingman, Allen–Cunneen; batch-means intervals.
//! - [`arrivals`]: arrival schedules (constant, Poisson, working day, steps, ramps) from a seed.
//! - [`simulate`]: the discrete-event simulator that drives the real balancer under virtual time
//!   (`signq simulate`), every policy on the same arrivals, plus what-if helpers.

pub mod arrivals;
pub mod cpu;
pub mod dates;
pub mod memory;
pub mod open_loop;
pub mod pades_bench;
pub mod pipeline;
pub mod queueing;
pub mod remote_bench;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod sign_bench;
pub mod simulate;
pub mod submit_bench;
