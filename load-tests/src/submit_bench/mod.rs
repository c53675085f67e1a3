//! The submit benchmark: the knee of durable `Intake.Submit` over mutual TLS beside the knee of a
//! trivial unary handler (`grpc.health.v1.Health/Check`) served by the same process behind the
//! same TLS, measured in the same run. The ratio of the two knees is the cost of durability
//! (validation, SQLite with group commit, the audit chain) over the bare RPC.
//!
//! Each side climbs its own ladder of offered rates (open loop, geometric steps from a start rate)
//! until its own knee: the first rate whose sustained throughput falls below a fraction of the
//! offered rate, or at which calls are shed, fail or cannot be sent (any, unless a share is
//! tolerated). The bracket between the last rate sustained and that one is then narrowed by
//! geometric bisection. A side's knee is the highest throughput it sustained below its knee.
//! Comparing knees, not throughputs at rates chosen in advance, keeps the ratio from depending on
//! which rates were offered.
//!
//! Then, against a scheduler process it can see (its pid), the benchmark measures memory: the
//! process's resident memory with many idle TLS connections open, and before and after an
//! overload of several times the durable-submit knee (what load shedding and connection admission
//! are for). Memory comes from `/proc` (see [`crate::memory`]), so those figures are Linux only.
//!
//! Last, a slow-client attack: hundreds of connections from another loopback address start a TLS
//! handshake and never finish it, and a fresh client's connect time (TCP, TLS, one call) is
//! measured during the attack beside the same without it, with what the server did to the
//! attacking connections (what concurrent handshakes with a time limit and per-address caps are
//! for).
//!
//! Requests go to loopback addresses only, and every phase is bounded in requests and time.

//!
//! # Layout
//! - [`climb`]: each side's ladder of offered rates to its own knee, and the calls it makes.
//! - [`json`]: the same submit as JSON over HTTP/1.1, as an intake system without gRPC makes it.
//! - [`pressure`]: memory under an overload and with many idle connections.
//! - [`slow_clients`]: a fresh client's connect time during a slow-client attack.
//! - [`report`]: the tables and the headline.

pub mod climb;
pub mod json;
pub mod pressure;
pub mod report;
pub mod slow_clients;

pub use climb::{Bench, Ladder, Side, Step};
pub use json::JsonClient;
pub use pressure::{IdleConnections, Overload, idle_connections, overload};
pub use report::{
    headline, json_headline, report_memory, report_side, report_slow_clients, step_header, step_row,
};
pub use slow_clients::{SlowClients, slow_clients};

use signq_kit::tls::ClientTls;
use tonic::transport::Channel;

use crate::runner::services;

/// The scheduler under test: a loopback address and the intake client's TLS identity.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port`, loopback only.
    pub addr: String,
    /// Mutual TLS as the intake client.
    pub tls: ClientTls,
}

impl Target {
    /// One new connection (a channel of its own), refused unless the address is loopback.
    pub async fn connect(&self) -> anyhow::Result<Channel> {
        services::channel(&self.addr, &self.tls).await
    }

    /// `n` new connections.
    pub async fn connections(&self, n: usize) -> anyhow::Result<Vec<Channel>> {
        let mut channels = Vec::with_capacity(n.max(1));
        for _ in 0..n.max(1) {
            channels.push(self.connect().await?);
        }
        Ok(channels)
    }
}

/// Which call a side makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `signq.v1.Intake/Submit`: a record made durable before the reply.
    Submit,
    /// The same as JSON over HTTP/1.1 ([`json`]).
    SubmitJson,
    /// `grpc.health.v1.Health/Check`: the trivial baseline.
    Check,
}

impl Call {
    /// How the report names it.
    pub fn name(self) -> &'static str {
        match self {
            Call::Submit => "durable submit (Intake.Submit)",
            Call::SubmitJson => "durable submit as JSON over HTTP/1.1 (Intake/Submit)",
            Call::Check => "trivial handler (Health/Check)",
        }
    }
}
