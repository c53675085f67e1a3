//! `signq scheduler`: runs the scheduler until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use clap::Args;
use signq_kit::guard::Serving;
use signq_kit::tls::ConnLimits;
use signq_scheduler::balancer::{BalancerConfig, Policy};
use signq_scheduler::config::{RateLimits, SchedulerConfig, StoreLocation};
use signq_scheduler::engine::ownership::Ownership;
use signq_scheduler::signer_link::LinkSettings;
use signq_scheduler::webhooks::WebhookSettings;

use crate::layout::DataDir;

/// Options of `signq scheduler`.
#[derive(Debug, Clone, Args)]
pub struct SchedulerArgs {
    /// The gRPC and gRPC-web (TLS) address.
    #[arg(
        long = "scheduler-listen",
        id = "scheduler_listen",
        default_value = "127.0.0.1:8443"
    )]
    pub listen: SocketAddr,
    /// The signer service's address.
    #[arg(long, default_value = "localhost:7443")]
    pub signer_addr: String,
    /// The name of the scheduler's certificate in the PKI.
    #[arg(
        long = "scheduler-cert",
        id = "scheduler_cert",
        default_value = "scheduler"
    )]
    pub cert_name: String,
    /// The scheduler's key-encryption key (opens its TLS key); else `SIGNQ_KEK`, else
    /// `<cert name>.kek` in the secrets directory. Never in the data directory.
    #[arg(long = "scheduler-kek-file", id = "scheduler_kek_file")]
    pub kek_file: Option<std::path::PathBuf>,
    /// Balancing policy: late-binding, round-robin, random, jsq or let.
    #[arg(long, default_value = "late-binding")]
    pub policy: Policy,
    /// Records a signer holds at once.
    #[arg(long, default_value_t = 10)]
    pub lease_size: usize,
    /// Seconds a lease lasts before the record returns to the pool.
    #[arg(long, default_value_t = 600.0, value_parser = seconds_between(0.001, 86_400.0))]
    pub lease_timeout_secs: f64,
    /// Slack, in seconds of working time (office hours of working days), below which the director
    /// takes deputy-signable records nobody else can.
    #[arg(long, default_value_t = 7200.0, value_parser = seconds_between(0.0, 31_536_000.0))]
    pub director_guard_secs: f64,
    /// The scheduler's store: a SQLite database file (default: `scheduler/signq.db` in the data
    /// directory), or a PostgreSQL database `postgres://user@host:port/database`, which several
    /// scheduler replicas may share.
    #[arg(long, alias = "database", env = "SIGNQ_STORE", value_name = "PATH|URL")]
    pub store: Option<String>,
    /// Bytes per submitted document, at most.
    #[arg(long = "max-submit-bytes", id = "max_submit_bytes", default_value_t = 8 * 1024 * 1024)]
    pub max_document_bytes: usize,
    /// Submits per second per intake client.
    #[arg(long, default_value_t = NonZeroU32::new(200).unwrap_or(NonZeroU32::MIN))]
    pub submit_per_client: NonZeroU32,
    /// Submits per second per ward.
    #[arg(long, default_value_t = NonZeroU32::new(100).unwrap_or(NonZeroU32::MIN))]
    pub submit_per_ward: NonZeroU32,
    /// Approvals per minute per signer.
    #[arg(long, default_value_t = NonZeroU32::new(60).unwrap_or(NonZeroU32::MIN))]
    pub approve_per_signer: NonZeroU32,
    /// Sign-ins per minute per signer id.
    #[arg(long, default_value_t = NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN))]
    pub sessions_per_signer: NonZeroU32,
    /// All calls per second.
    #[arg(long, default_value_t = NonZeroU32::new(5000).unwrap_or(NonZeroU32::MIN))]
    pub global_calls_per_second: NonZeroU32,
    /// Seconds a connection may stay without a call in flight before it is closed.
    #[arg(long, default_value_t = 300)]
    pub connection_idle_secs: u64,
    /// The largest request the signing service accepts (its --max-request-bytes); approvals
    /// are sent to it in requests no larger.
    #[arg(long, default_value_t = signq_signer::service::config::DEFAULT_MAX_REQUEST_BYTES)]
    pub signer_max_request_bytes: usize,
    /// Seconds the signing service gets to sign a batch before the approval fails UNAVAILABLE.
    #[arg(long, default_value_t = 15.0, value_parser = seconds_between(0.001, 3_600.0))]
    pub signer_sign_deadline_secs: f64,
    /// Seconds the signing service gets for any other call (PIN check at sign-in, checkpoint,
    /// delegation).
    #[arg(long, default_value_t = 5.0, value_parser = seconds_between(0.001, 3_600.0))]
    pub signer_deadline_secs: f64,
    /// The ward's office hours, in Vietnam's time: working time (and so every deadline) is
    /// counted inside them.
    #[arg(long, default_value = "07:30-11:30,13:30-17:00")]
    pub office_hours: signq_calendar::OfficeHours,
    /// The calendar's override files, one per year: the days off and swapped working days the
    /// Prime Minister fixes (default: `calendar/` in the data directory; without it, the law's
    /// defaults).
    #[arg(long)]
    pub calendar_dir: Option<std::path::PathBuf>,
    /// An unsigned record with less working time than this many working days left is at risk of
    /// being late: flagged once, with an event on Watch and a metric.
    #[arg(long, default_value_t = 1.0, value_parser = number_between(0.0, 90.0))]
    pub at_risk_working_days: f64,
    /// Measure the director guard's slack in clock time: for `signq load run` only, whose
    /// compressed clock the ward's calendar cannot follow.
    #[arg(long, hide = true)]
    pub guard_in_clock_time: bool,
    /// This replica's id among the replicas sharing a PostgreSQL store (default: a new one at
    /// every start). Giving a replica the same id across restarts lets it take its wards back
    /// at once; two running replicas must never share one.
    #[arg(long)]
    pub replica_id: Option<String>,
    /// Seconds a replica holds its wards without renewing: after a replica stops, the others
    /// take its wards over within this time.
    #[arg(long, default_value_t = 6.0, value_parser = seconds_between(0.3, 300.0))]
    pub ownership_ttl_secs: f64,
    /// The CA certificates (PEM) webhook receivers' certificates must chain to (default: the
    /// system's CA bundle).
    #[arg(long)]
    pub webhook_ca_file: Option<std::path::PathBuf>,
    /// Attempts to deliver one event to a webhook before it becomes a dead letter.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub webhook_attempts: u32,
    /// Seconds before a webhook's second attempt; each later one waits twice as long (with
    /// jitter), up to --webhook-backoff-max-secs.
    #[arg(long, default_value_t = 1.0, value_parser = seconds_between(0.001, 3_600.0))]
    pub webhook_backoff_secs: f64,
    /// The longest wait, in seconds, between two attempts to deliver to a webhook.
    #[arg(long, default_value_t = 300.0, value_parser = seconds_between(0.001, 86_400.0))]
    pub webhook_backoff_max_secs: f64,
    /// Seconds one attempt to deliver to a webhook may take (connect, TLS, answer).
    #[arg(long, default_value_t = 10.0, value_parser = seconds_between(0.001, 300.0))]
    pub webhook_timeout_secs: f64,
}

impl SchedulerArgs {
    /// The configuration these options and the data directory describe.
    pub fn config(&self, data: &DataDir) -> anyhow::Result<SchedulerConfig> {
        Ok(SchedulerConfig {
            tls: data.tls(&self.cert_name, self.kek_file.as_deref())?,
            signer_addr: self.signer_addr.clone(),
            store: match &self.store {
                Some(text) => StoreLocation::parse(text),
                None => StoreLocation::Sqlite(data.scheduler_db()),
            },
            max_document_bytes: self.max_document_bytes,
            lease_timeout: Duration::from_secs_f64(self.lease_timeout_secs),
            session_ttl: Duration::from_secs(12 * 3600),
            balancer: BalancerConfig {
                policy: self.policy,
                lease_size: self.lease_size,
                director_guard: Duration::from_secs_f64(self.director_guard_secs),
                ..BalancerConfig::default()
            },
            limits: RateLimits {
                submit_per_client: self.submit_per_client,
                submit_per_ward: self.submit_per_ward,
                approve_per_signer: self.approve_per_signer,
                sessions_per_signer: self.sessions_per_signer,
            },
            serving: Serving {
                calls_per_second: self.global_calls_per_second,
                connections: ConnLimits {
                    idle: Duration::from_secs(self.connection_idle_secs.max(1)),
                    ..ConnLimits::default()
                },
                ..Serving::default()
            },
            signer_max_request_bytes: self.signer_max_request_bytes,
            utc_offset: time::UtcOffset::from_hms(7, 0, 0).unwrap_or(time::UtcOffset::UTC),
            signer_link: LinkSettings {
                sign: Duration::from_secs_f64(self.signer_sign_deadline_secs),
                other: Duration::from_secs_f64(self.signer_deadline_secs),
                ..LinkSettings::default()
            },
            calendar: crate::calendar_files::load(
                &self
                    .calendar_dir
                    .clone()
                    .unwrap_or_else(|| data.calendar_dir()),
                self.office_hours.clone(),
            )?,
            at_risk: self.office_hours.day_length() * self.at_risk_working_days,
            guard_in_clock_time: self.guard_in_clock_time,
            ownership: Ownership {
                replica: self
                    .replica_id
                    .clone()
                    .unwrap_or_else(|| Ownership::default().replica),
                ttl: Duration::from_secs_f64(self.ownership_ttl_secs),
            },
            webhooks: WebhookSettings {
                attempts: self.webhook_attempts,
                backoff_base: Duration::from_secs_f64(self.webhook_backoff_secs),
                backoff_max: Duration::from_secs_f64(self.webhook_backoff_max_secs),
                timeout: Duration::from_secs_f64(self.webhook_timeout_secs),
                ca_file: self.webhook_ca_file.clone(),
            },
        })
    }
}

/// A value parser for a number from `low` to `high`: options are checked as they are parsed, so a
/// bad value from a flag or a configuration file is refused before anything starts.
pub fn number_between(low: f64, high: f64) -> impl Fn(&str) -> Result<f64, String> + Clone {
    move |text| match text.trim().parse::<f64>() {
        Ok(n) if (low..=high).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{n} is outside {low} to {high}")),
        Err(_) => Err(format!("{text:?} is not a number")),
    }
}

/// [`number_between`], for seconds.
pub fn seconds_between(low: f64, high: f64) -> impl Fn(&str) -> Result<f64, String> + Clone {
    let number = number_between(low, high);
    move |text| number(text).map_err(|e| format!("{e} seconds"))
}
