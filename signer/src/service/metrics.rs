//! The signer service's metrics, all prefixed `signq_signer_`, described once at start-up.

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};

/// Signatures made, by signer role.
pub const SIGNATURES: &str = "signq_signer_signatures_total";
/// Batches signed.
pub const BATCHES: &str = "signq_signer_batches_total";
/// Wrong PINs.
pub const PIN_FAILURES: &str = "signq_signer_pin_failures_total";
/// Keys locked after too many wrong PINs.
pub const LOCKOUTS: &str = "signq_signer_lockouts_total";
/// Refused Sign calls, by reason.
pub const REFUSALS: &str = "signq_signer_refusals_total";
/// Time to sign a whole batch, from request to response, in seconds.
pub const SIGN_SECONDS: &str = "signq_signer_sign_duration_seconds";
/// Time to unlock a key with a PIN (key derivation and decryption), in seconds.
pub const UNLOCK_SECONDS: &str = "signq_signer_key_unlock_duration_seconds";
/// Signatures answered from the ledger: a repeated request for a lease attempt already signed.
pub const REPLAYED: &str = "signq_signer_signatures_replayed_total";
/// Calls refused because the disk under the state database is full.
pub const DISK_FULL: &str = "signq_signer_state_disk_full_total";
/// 1 while the state database takes writes (the health probe), else 0.
pub const STATE_UP: &str = "signq_signer_state_up";
/// Batches of remote signers sent to their person for confirmation.
pub const CONFIRMATIONS: &str = "signq_signer_confirmations_total";
/// Confirmations ended, by outcome (signed, refused, expired, confirmed).
pub const CONFIRMATIONS_ENDED: &str = "signq_signer_confirmations_ended_total";
/// Documents per batch.
pub const BATCH_SIZE: &str = "signq_signer_batch_documents";

/// Buckets of [`BATCH_SIZE`]: batches run from one record to the service's limit of 100.
pub const BATCH_SIZE_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0];

/// Registers help texts, so that the metrics page explains itself.
pub fn describe() {
    describe_counter!(SIGNATURES, Unit::Count, "Signatures made, by signer role.");
    describe_counter!(BATCHES, Unit::Count, "Batches signed.");
    describe_counter!(PIN_FAILURES, Unit::Count, "Wrong PINs presented.");
    describe_counter!(
        LOCKOUTS,
        Unit::Count,
        "Keys locked after too many wrong PINs."
    );
    describe_counter!(REFUSALS, Unit::Count, "Sign calls refused, by reason.");
    describe_histogram!(
        SIGN_SECONDS,
        Unit::Seconds,
        "Time to sign one batch, request to response."
    );
    describe_histogram!(
        UNLOCK_SECONDS,
        Unit::Seconds,
        "Time to unlock a key with the PIN."
    );
    describe_histogram!(BATCH_SIZE, Unit::Count, "Documents per signed batch.");
    describe_counter!(
        REPLAYED,
        Unit::Count,
        "Signatures answered from the ledger for a lease attempt signed before (a retry)."
    );
    describe_counter!(
        DISK_FULL,
        Unit::Count,
        "Calls refused because the disk under the state database is full."
    );
    describe_gauge!(
        STATE_UP,
        Unit::Count,
        "1 while the state database takes writes, else 0."
    );
    describe_counter!(
        CONFIRMATIONS,
        Unit::Count,
        "Batches of remote signers sent to their person for confirmation in the signing app."
    );
    describe_counter!(
        CONFIRMATIONS_ENDED,
        Unit::Count,
        "Confirmations that moved on, by outcome: confirmed, signed, refused, expired."
    );
    // Make the counters visible at zero, so alerts and dashboards see them before the first event.
    for name in [PIN_FAILURES, LOCKOUTS, REPLAYED, DISK_FULL] {
        counter!(name).increment(0);
    }
}

/// Counts a refusal.
pub fn refused(reason: &'static str) {
    counter!(REFUSALS, "reason" => reason).increment(1);
}

/// Records a signed batch: `made` signatures made now, `replayed` answered from the ledger.
pub fn signed(role: &'static str, made: usize, replayed: usize, seconds: f64) {
    counter!(SIGNATURES, "role" => role).increment(made as u64);
    counter!(REPLAYED).increment(replayed as u64);
    counter!(BATCHES).increment(1);
    histogram!(BATCH_SIZE).record((made + replayed) as f64);
    histogram!(SIGN_SECONDS).record(seconds);
}

/// Counts a batch sent to its person for confirmation.
pub fn confirmation_asked() {
    counter!(CONFIRMATIONS).increment(1);
}

/// Counts a confirmation that moved on to `outcome`.
pub fn confirmation_ended(outcome: &'static str) {
    counter!(CONFIRMATIONS_ENDED, "outcome" => outcome).increment(1);
}

/// What the state probe found.
pub fn state_up(up: bool) {
    gauge!(STATE_UP).set(if up { 1.0 } else { 0.0 });
}
