//! The scheduler's settings, with the defaults a ward runs on.

use std::num::NonZeroU32;
use std::time::Duration;

use signq_kit::tls::TlsFiles;
use time::UtcOffset;

use crate::balancer::BalancerConfig;

/// Per-caller rate limits (governor); each over-limit call gets RESOURCE_EXHAUSTED with RetryInfo.
#[derive(Debug, Clone, Copy)]
pub struct RateLimits {
    /// Submits per second per intake client certificate.
    pub submit_per_client: NonZeroU32,
    /// Submits per second per ward.
    pub submit_per_ward: NonZeroU32,
    /// Approve calls per minute per signer.
    pub approve_per_signer: NonZeroU32,
    /// OpenSession calls per minute per signer (the device's), against PIN guessing.
    pub sessions_per_signer: NonZeroU32,
}

fn nz(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN)
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            submit_per_client: nz(200),
            submit_per_ward: nz(100),
            approve_per_signer: nz(60),
            sessions_per_signer: nz(10),
        }
    }
}

/// Everything the scheduler needs to run.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Its TLS identity (also its client identity toward the signer service), the CA and CRL.
    pub tls: TlsFiles,
    /// The signer service's address.
    pub signer_addr: String,
    /// Where the store lives.
    pub store: StoreLocation,
    /// Bytes per document, at most.
    pub max_document_bytes: usize,
    /// How long a lease lasts before it returns to the pool.
    pub lease_timeout: Duration,
    /// How long a signer's session lasts without use.
    pub session_ttl: Duration,
    /// The balancer's policy and parameters.
    pub balancer: BalancerConfig,
    /// Rate limits.
    pub limits: RateLimits,
    /// Call and connection limits every call shares (the guard layer).
    pub serving: signq_kit::guard::Serving,
    /// The largest request the signing service accepts: approvals are sent to it in batches no
    /// larger.
    pub signer_max_request_bytes: usize,
    /// The wards' time zone (Vietnam: UTC+7), for daily caps and "today".
    pub utc_offset: UtcOffset,
    /// Deadlines of calls to the signing service, and its circuit breaker.
    pub signer_link: crate::signer_link::LinkSettings,
    /// The working days and office hours deadlines are counted on.
    pub calendar: signq_calendar::Calendar,
    /// A record with less working time than this left while unsigned is at risk of being late.
    pub at_risk: time::Duration,
    /// Measure the director guard's slack in clock time rather than working time: only for
    /// `signq load run`, whose compressed clock the calendar cannot follow.
    pub guard_in_clock_time: bool,
    /// This replica's id and how long it holds a ward without renewing (a shared store only).
    pub ownership: crate::engine::ownership::Ownership,
    /// How webhooks are delivered: attempts, backoff, time per attempt, receivers' CA bundle.
    pub webhooks: crate::webhooks::WebhookSettings,
}

/// Where the scheduler keeps its store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The embedded SQLite file: one scheduler, the default.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database (`postgres://user@host:port/database`): one or several replicas.
    Postgres(String),
}

impl StoreLocation {
    /// `postgres://…` or `postgresql://…` is a PostgreSQL database; anything else a SQLite file.
    pub fn parse(text: &str) -> StoreLocation {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            StoreLocation::Postgres(text.to_string())
        } else {
            StoreLocation::Sqlite(text.into())
        }
    }
}
