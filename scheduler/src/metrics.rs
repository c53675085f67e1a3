//! The scheduler's metrics, all prefixed `signq_scheduler_`: what operators watch to see the
//! backlog, waiting time, on-time rate, the director's share, lease churn, rate limiting and
//! errors, per ward.

use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use time::OffsetDateTime;

use crate::model::{Record, RecordState, ReleaseReason};

/// Records accepted, by ward.
pub const SUBMITTED: &str = "signq_scheduler_records_submitted_total";
/// Records that reached a final state, by ward and state.
pub const FINISHED: &str = "signq_scheduler_records_finished_total";
/// Records queued in a ward's pool now.
pub const POOL_DEPTH: &str = "signq_scheduler_pool_depth";
/// Records leased to a ward's signers now.
pub const LEASED: &str = "signq_scheduler_leased_records";
/// Age of the oldest queued record of a ward, seconds.
pub const OLDEST_AGE: &str = "signq_scheduler_oldest_queued_age_seconds";
/// Submit-to-lease wait (the backlog wait), seconds, by ward.
pub const WAIT_LEASE: &str = "signq_scheduler_submit_to_lease_seconds";
/// Submit-to-signed time, seconds, by ward.
pub const WAIT_SIGNED: &str = "signq_scheduler_submit_to_signed_seconds";
/// Signed records by ward and timeliness (`on_time` true, false, or reappointed: given a new
/// appointment date, so never on time).
pub const SIGNED: &str = "signq_scheduler_records_signed_total";
/// Signed records by ward and signer role (the director's share is director / all).
pub const SIGNED_BY_ROLE: &str = "signq_scheduler_signed_by_role_total";
/// Leases made, by ward; escalations to the director by the deadline guard.
pub const LEASES: &str = "signq_scheduler_leases_total";
/// Deputy-signable records escalated to the director by the deadline guard.
pub const ESCALATIONS: &str = "signq_scheduler_escalations_total";
/// Leases that ended without a signature, by ward and reason (expired, away, ...).
pub const RELEASES: &str = "signq_scheduler_lease_releases_total";
/// Calls refused by a rate limit, by service and limit.
pub const RATE_LIMITED: &str = "signq_scheduler_rate_limited_total";
/// gRPC calls by service, method and status code.
pub const CALLS: &str = "signq_scheduler_grpc_calls_total";
/// Signer service call time, seconds, by call.
pub const SIGNER_CALL: &str = "signq_scheduler_signer_call_seconds";
/// Calls to the signing service by call and outcome (ok, refused, unreachable, deadline,
/// circuit_open).
pub const SIGNER_CALLS: &str = "signq_scheduler_signer_calls_total";
/// 1 while the circuit breaker refuses calls to the signing service, else 0.
pub const SIGNER_CIRCUIT_OPEN: &str = "signq_scheduler_signer_circuit_open";
/// Writes refused because the disk under the store is full.
pub const STORE_FULL: &str = "signq_scheduler_store_disk_full_total";
/// 1 while a dependency answers its health probe, else 0, by dependency (store, signer).
pub const DEPENDENCY_UP: &str = "signq_scheduler_dependency_up";
/// The audit entry covered by the newest signed checkpoint.
pub const CHECKPOINT_SEQ: &str = "signq_scheduler_audit_checkpoint_seq";
/// Checkpoints the signing service did not sign (unreachable, or the chain went backwards).
pub const CHECKPOINT_FAILURES: &str = "signq_scheduler_audit_checkpoint_failures_total";
/// Batches waiting for their person's confirmation in a remote signing app.
pub const CONFIRMATIONS_WAITING: &str = "signq_scheduler_confirmations_waiting";
/// Confirmations that ended, by outcome.
pub const CONFIRMATIONS_ENDED: &str = "signq_scheduler_confirmations_ended_total";
/// Per ward: 1 while this replica owns it (its balancer runs here), else 0.
pub const WARD_OWNED: &str = "signq_scheduler_ward_owned";
/// Takeovers of a ward whose owner stopped renewing (failovers), by the replica taking it.
pub const WARD_TAKEOVERS: &str = "signq_scheduler_ward_takeovers_total";
/// Writes refused because this replica no longer owned their ward (fencing).
pub const FENCED_WRITES: &str = "signq_scheduler_fenced_writes_total";
/// Records found at risk of being late (once each).
pub const AT_RISK: &str = "signq_scheduler_records_at_risk_total";
/// Attempts to deliver an event to a webhook, by ward and outcome (delivered, http_error,
/// timeout, unreachable).
pub const WEBHOOK_DELIVERIES: &str = "signq_scheduler_webhook_deliveries_total";
/// Per webhook: age of the oldest event of its ward neither delivered to it nor dead-lettered
/// yet, seconds (0 when it is up to date).
pub const WEBHOOK_LAG: &str = "signq_scheduler_webhook_delivery_lag_seconds";
/// Per webhook: its dead letters now.
pub const WEBHOOK_DEAD_LETTERS: &str = "signq_scheduler_webhook_dead_letters";

/// Buckets for people-scale waits, in seconds: 1 s to 5 days (the longest statutory limits).
pub const WAIT_BUCKETS: &[f64] = &[
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0,
    86400.0, 172800.0, 432000.0,
];

/// Registers help texts.
pub fn describe() {
    describe_counter!(SUBMITTED, Unit::Count, "Records accepted, by ward.");
    describe_counter!(
        FINISHED,
        Unit::Count,
        "Records that reached a final state, by ward and state."
    );
    describe_gauge!(
        POOL_DEPTH,
        Unit::Count,
        "Records queued in the ward's pool."
    );
    describe_gauge!(LEASED, Unit::Count, "Records leased to the ward's signers.");
    describe_gauge!(
        OLDEST_AGE,
        Unit::Seconds,
        "Age of the ward's oldest queued record."
    );
    describe_histogram!(
        WAIT_LEASE,
        Unit::Seconds,
        "Time from submission to the first lease (backlog wait)."
    );
    describe_histogram!(
        WAIT_SIGNED,
        Unit::Seconds,
        "Time from submission to signature."
    );
    describe_counter!(
        SIGNED,
        Unit::Count,
        "Signed records by ward and whether by the deadline."
    );
    describe_counter!(
        SIGNED_BY_ROLE,
        Unit::Count,
        "Signed records by ward and signer role."
    );
    describe_counter!(LEASES, Unit::Count, "Leases made, by ward.");
    describe_counter!(
        ESCALATIONS,
        Unit::Count,
        "Records escalated to the director by the deadline guard."
    );
    describe_counter!(
        RELEASES,
        Unit::Count,
        "Leases ended without a signature, by ward and reason."
    );
    describe_counter!(
        RATE_LIMITED,
        Unit::Count,
        "Calls refused by a rate limit, by service and limit."
    );
    describe_counter!(
        CALLS,
        Unit::Count,
        "gRPC calls by service, method and status code."
    );
    describe_histogram!(
        SIGNER_CALL,
        Unit::Seconds,
        "Time of calls to the signing service, by call."
    );
    describe_counter!(
        SIGNER_CALLS,
        Unit::Count,
        "Calls to the signing service by call and outcome (ok, refused, unreachable, deadline, circuit_open)."
    );
    describe_gauge!(
        SIGNER_CIRCUIT_OPEN,
        Unit::Count,
        "1 while calls to the signing service are refused at once after it stopped answering."
    );
    gauge!(SIGNER_CIRCUIT_OPEN).set(0.0);
    describe_counter!(
        STORE_FULL,
        Unit::Count,
        "Store operations refused because the disk under the store is full."
    );
    counter!(STORE_FULL).absolute(0);
    describe_gauge!(
        WARD_OWNED,
        Unit::Count,
        "Per ward: 1 while this scheduler replica owns it (leases its records), else 0."
    );
    describe_counter!(
        WARD_TAKEOVERS,
        Unit::Count,
        "Wards this replica took over after their owner stopped renewing (failovers)."
    );
    describe_counter!(
        FENCED_WRITES,
        Unit::Count,
        "Writes of this replica refused because another replica took their ward over."
    );
    describe_gauge!(
        DEPENDENCY_UP,
        Unit::Count,
        "1 while a dependency (store, signer) answers the health probe, else 0."
    );
    describe_gauge!(
        CHECKPOINT_SEQ,
        Unit::Count,
        "The audit entry covered by the newest checkpoint the signing service signed."
    );
    describe_counter!(
        CHECKPOINT_FAILURES,
        Unit::Count,
        "Audit checkpoints the signing service did not sign."
    );
    // Exported from the start at zero, so that an alert on its increase can fire.
    counter!(CHECKPOINT_FAILURES).absolute(0);
    describe_counter!(
        AT_RISK,
        Unit::Count,
        "Records found at risk of being late: unsigned with less than the at-risk margin of working time left."
    );
    counter!(AT_RISK).absolute(0);
    describe_gauge!(
        CONFIRMATIONS_WAITING,
        Unit::Count,
        "Batches waiting for their person's confirmation in a remote signing app."
    );
    gauge!(CONFIRMATIONS_WAITING).set(0.0);
    describe_counter!(
        CONFIRMATIONS_ENDED,
        Unit::Count,
        "Confirmations that ended, by outcome: signed, refused, expired, failed, moved_on."
    );
    describe_counter!(
        WEBHOOK_DELIVERIES,
        Unit::Count,
        "Attempts to deliver an event to a webhook, by ward and outcome: delivered, http_error, timeout, unreachable."
    );
    describe_gauge!(
        WEBHOOK_LAG,
        Unit::Seconds,
        "Age of the oldest event not yet delivered to the webhook nor dead-lettered (0: up to date)."
    );
    describe_gauge!(
        WEBHOOK_DEAD_LETTERS,
        Unit::Count,
        "Events the webhook could not deliver, and those held behind them."
    );
}

/// An attempt to deliver to a webhook of `ward` ended with `outcome`.
pub fn webhook_attempt(ward: &str, outcome: &'static str) {
    counter!(WEBHOOK_DELIVERIES, "ward" => ward.to_string(), "outcome" => outcome).increment(1);
}

/// Where a webhook of `ward` stands: the age of its oldest pending event (`None`: none pending).
pub fn webhook_lag(ward: &str, webhook: &str, oldest: Option<OffsetDateTime>) {
    let lag = oldest
        .map(|o| secs(o, OffsetDateTime::now_utc()))
        .unwrap_or(0.0);
    gauge!(WEBHOOK_LAG, "ward" => ward.to_string(), "webhook" => webhook.to_string()).set(lag);
}

/// A webhook of `ward` has `n` dead letters.
pub fn webhook_dead_letters(ward: &str, webhook: &str, n: usize) {
    gauge!(WEBHOOK_DEAD_LETTERS, "ward" => ward.to_string(), "webhook" => webhook.to_string())
        .set(n as f64);
}

/// Records were found at risk of being late.
pub fn at_risk(n: usize) {
    counter!(AT_RISK).increment(n as u64);
}

fn secs(from: OffsetDateTime, to: OffsetDateTime) -> f64 {
    (to - from).as_seconds_f64().max(0.0)
}

/// A batch began to wait for its person's confirmation in a remote signing app.
pub fn confirmation_waiting() {
    gauge!(CONFIRMATIONS_WAITING).increment(1.0);
}

/// A confirmation ended: signed, refused, expired, failed, or its records moved on.
pub fn confirmation_ended(outcome: &'static str) {
    gauge!(CONFIRMATIONS_WAITING).decrement(1.0);
    counter!(CONFIRMATIONS_ENDED, "outcome" => outcome).increment(1);
}

/// A record was accepted.
pub fn submitted(r: &Record) {
    counter!(SUBMITTED, "ward" => r.meta.ward.clone()).increment(1);
}

/// A record was leased.
pub fn leased(r: &Record, escalated: bool, now: OffsetDateTime) {
    let ward = r.meta.ward.clone();
    counter!(LEASES, "ward" => ward.clone()).increment(1);
    if r.attempt == 1 {
        histogram!(WAIT_LEASE, "ward" => ward.clone()).record(secs(r.meta.submitted_at, now));
    }
    if escalated {
        counter!(ESCALATIONS, "ward" => ward).increment(1);
    }
}

/// A lease ended without a signature.
pub fn released(ward: &str, reason: ReleaseReason) {
    counter!(RELEASES, "ward" => ward.to_string(), "reason" => reason.as_str()).increment(1);
}

/// A record reached a final state.
pub fn finished(r: &Record, by_director: bool) {
    let ward = r.meta.ward.clone();
    counter!(FINISHED, "ward" => ward.clone(), "state" => r.state.as_str()).increment(1);
    if r.state == RecordState::Signed {
        let at = r.finished_at.unwrap_or_else(OffsetDateTime::now_utc);
        histogram!(WAIT_SIGNED, "ward" => ward.clone()).record(secs(r.meta.submitted_at, at));
        let reappointed = r.reappointment.as_ref().map(|a| a.state)
            == Some(crate::model::ReappointmentState::Approved);
        let on_time = if reappointed {
            "reappointed"
        } else if at <= r.meta.deadline {
            "true"
        } else {
            "false"
        };
        counter!(SIGNED, "ward" => ward.clone(), "on_time" => on_time).increment(1);
        let role = if by_director { "director" } else { "deputy" };
        counter!(SIGNED_BY_ROLE, "ward" => ward, "role" => role).increment(1);
    }
}

/// A ward's pool now.
pub fn pool(ward: &str, (depth, oldest): (usize, Option<OffsetDateTime>), leased: usize) {
    gauge!(POOL_DEPTH, "ward" => ward.to_string()).set(depth as f64);
    gauge!(LEASED, "ward" => ward.to_string()).set(leased as f64);
    let age = oldest
        .map(|o| secs(o, OffsetDateTime::now_utc()))
        .unwrap_or(0.0);
    gauge!(OLDEST_AGE, "ward" => ward.to_string()).set(age);
}

/// A call to the signing service ended with `outcome` after `took` (none if never sent); the
/// breaker is `open` now.
pub fn signer_call(call: &'static str, outcome: &'static str, took: Option<Duration>, open: bool) {
    counter!(SIGNER_CALLS, "call" => call, "outcome" => outcome).increment(1);
    if let Some(took) = took {
        histogram!(SIGNER_CALL, "call" => call).record(took.as_secs_f64());
    }
    gauge!(SIGNER_CIRCUIT_OPEN).set(if open { 1.0 } else { 0.0 });
}

/// Whether this replica owns `ward`.
pub fn ward_owned(ward: &str, owned: bool) {
    gauge!(WARD_OWNED, "ward" => ward.to_string()).set(if owned { 1.0 } else { 0.0 });
}

/// This replica took `ward` over from a replica that stopped renewing it.
pub fn ward_taken_over(ward: &str) {
    counter!(WARD_TAKEOVERS, "ward" => ward.to_string()).increment(1);
}

/// A write for `ward` was refused: this replica no longer owns it.
pub fn fenced_write(ward: &str) {
    counter!(FENCED_WRITES, "ward" => ward.to_string()).increment(1);
}

/// A store operation failed on a full disk.
pub fn store_full() {
    counter!(STORE_FULL).increment(1);
}

/// What the health probe found.
pub fn dependencies(store: bool, signer: bool) {
    let up = |ok: bool| if ok { 1.0 } else { 0.0 };
    gauge!(DEPENDENCY_UP, "dependency" => "store").set(up(store));
    gauge!(DEPENDENCY_UP, "dependency" => "signer").set(up(signer));
}

/// The signing service signed a checkpoint of the audit chain at `seq`.
pub fn checkpointed(seq: u64) {
    gauge!(CHECKPOINT_SEQ).set(seq as f64);
}

/// A checkpoint was not signed.
pub fn checkpoint_failed() {
    counter!(CHECKPOINT_FAILURES).increment(1);
}

/// A call was refused by a rate limit.
pub fn rate_limited(service: &'static str, limit: &'static str) {
    counter!(RATE_LIMITED, "service" => service, "limit" => limit).increment(1);
}

/// A gRPC call finished with `code`.
pub fn call(service: &'static str, method: &'static str, code: tonic::Code) {
    counter!(CALLS, "service" => service, "method" => method, "code" => format!("{code:?}"))
        .increment(1);
}
