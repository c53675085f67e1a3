//! The store: every record, its document and its history, durable before any acknowledgement.
//!
//! One trait so that the embedded SQLite store and a PostgreSQL store for multi-replica provinces
//! pass the same test suite. Every state change is one transaction that also appends the watch
//! event and the hash-chained audit entry, so the three never disagree, even across `kill -9`.
//!
//! # Layout
//! - [`sql`]: the store's logic in the SQL both back ends speak, and [`SqlStore`], the one
//!   implementation of [`Store`] over either.
//! - [`sqlite`]: the embedded back end (WAL, one file).
//! - [`postgres`]: the back end for several replicas on one PostgreSQL database.
//! - [`audit`]: the audit entry format, its hash chain and the chain check.

pub mod audit;
pub mod postgres;
pub mod sql;
pub mod sqlite;

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::model::{
    Actor, Confirmation, Decision, Delegation, Event, Procedure, Reappointment, Record, RecordMeta,
    RecordState, Signer, StoredSession, Transition, Ward,
};
use crate::webhooks::{DeadLetter, Progress, Webhook};
pub use audit::{AuditEntry, Checkpoint};
pub use sql::store::SqlStore;

/// Why the store refused or failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// No such record (or ward, signer, delegation), named.
    #[error("{0} not found")]
    NotFound(String),
    /// The transition's fence did not hold: the record is not in the state, or not at the lease
    /// attempt, the caller believed. Nothing was written.
    #[error("record {id} is {state} at attempt {attempt}; the change assumed otherwise")]
    Fenced {
        id: String,
        state: &'static str,
        attempt: u32,
    },
    /// An idempotency key or id reused with different content.
    #[error("{0}")]
    Conflict(String),
    /// The change does not apply to the record as it stands (said why); nothing was written.
    #[error("{0}")]
    Precondition(String),
    /// A write the scheduler makes on its own (a lease, a release, a flag) for a ward this
    /// replica no longer owns: another replica took the ward over (its epoch moved on), so the
    /// database refused it. Nothing was written.
    #[error("{0}")]
    NotOwner(String),
    /// Too many writes are waiting; this one was shed without being written. Retry shortly.
    #[error("the store is saturated; the write was shed")]
    Overloaded,
    /// The disk holding the store is full: nothing of the operation was written, and writes
    /// succeed again once space is freed (no restart needed).
    #[error("store: the disk is full ({0})")]
    Full(String),
    /// The store's data is damaged: a page SQLite cannot read, or bytes that no longer match the
    /// hash recorded when they were written. Nothing damaged is served.
    #[error("store: damaged data: {0}")]
    Damaged(String),
    /// The database cannot be reached (a PostgreSQL server restarting, the network to it
    /// down). A write may or may not have been made: retry it (submits are idempotent, state
    /// changes are fenced).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The database failed; nothing of the operation was written.
    #[error("store: {0}")]
    Backend(String),
}

impl StoreError {
    /// The same error, its message prefixed with `context` (a file, an operation).
    pub fn context(self, context: impl std::fmt::Display) -> StoreError {
        match self {
            StoreError::Full(m) => StoreError::Full(format!("{context}: {m}")),
            StoreError::Damaged(m) => StoreError::Damaged(format!("{context}: {m}")),
            StoreError::Backend(m) => StoreError::Backend(format!("{context}: {m}")),
            StoreError::Unavailable(m) => StoreError::Unavailable(format!("{context}: {m}")),
            other => other,
        }
    }
}

/// A change that other replicas may need to hear of, announced by the store when the write that
/// made it commits (PostgreSQL's NOTIFY), so that each replica follows what the others do.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Notice {
    /// A ward's records changed (its event log grew) or its signers came or went.
    Ward(String),
    /// The configuration changed: wards, signers, procedures or delegations.
    Config,
    /// The session whose token has this SHA-256 (hex) ended.
    SessionEnded(String),
    /// Notices may have been missed (the store reconnected): look at everything again.
    Resync,
}

impl Notice {
    /// The notice as sent: `ward:<id>`, `config`, `session:<sha256>`, `resync`.
    pub fn payload(&self) -> String {
        match self {
            Notice::Ward(id) => format!("ward:{id}"),
            Notice::Config => "config".into(),
            Notice::SessionEnded(hash) => format!("session:{hash}"),
            Notice::Resync => "resync".into(),
        }
    }

    /// Reads a payload made by [`Notice::payload`].
    pub fn parse(payload: &str) -> Option<Notice> {
        match payload.split_once(':') {
            Some(("ward", id)) => Some(Notice::Ward(id.into())),
            Some(("session", hash)) => Some(Notice::SessionEnded(hash.into())),
            None if payload == "config" => Some(Notice::Config),
            None if payload == "resync" => Some(Notice::Resync),
            _ => None,
        }
    }
}

/// Counts for a ward's statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WardCounts {
    /// Records by state.
    pub by_state: HashMap<RecordState, u64>,
    /// Submission time of the oldest queued record.
    pub oldest_queued: Option<OffsetDateTime>,
    /// Signed records whose signature came by the deadline.
    pub signed_on_time: u64,
    /// Signed records that were re-appointed (never on time).
    pub signed_reappointed: u64,
    /// Signed records signed by a director.
    pub signed_by_director: u64,
    /// Submit-to-signed waits of signed records, in seconds (for percentiles).
    pub waits_seconds: Vec<f64>,
}

/// The durable store of the scheduler.
#[async_trait::async_trait]
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Accepts a new record with its document, durably. If the ward already has a record with the
    /// same idempotency key, returns that record and `false` (nothing written); a different
    /// document under the same key is a [`StoreError::Conflict`].
    async fn submit(
        &self,
        meta: RecordMeta,
        document: Vec<u8>,
        actor: Actor,
    ) -> Result<(Record, bool), StoreError>;
    /// Applies a fenced state change, with its event and audit entry, in one transaction.
    async fn apply(&self, transition: Transition, actor: Actor) -> Result<Record, StoreError>;
    /// One record (without its document).
    async fn get(&self, id: &str) -> Result<Option<Record>, StoreError>;
    /// A record's document.
    async fn document(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// The incremental update that, appended to a signed PDF record's document, makes the signed
    /// PDF; `None` for a record that is not a signed PDF.
    async fn pdf_update(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// A ward's records newest first (by submission time, then id), optionally in one state,
    /// starting after the record `after` (a record id from the previous page), at most `limit`.
    async fn list(
        &self,
        ward: &str,
        state: Option<RecordState>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;
    /// Stores a request for a new appointment date (at most one per record, for a record still
    /// to be signed, before its deadline); returns it as stored, pending.
    async fn request_reappointment(
        &self,
        request: Reappointment,
        actor: Actor,
    ) -> Result<Reappointment, StoreError>;
    /// Records the director's decision on record `id`'s pending request for a new appointment
    /// date (approved when the decision carries the signed apology: the deadline becomes the new
    /// date); returns the record.
    async fn decide_reappointment(
        &self,
        id: &str,
        decision: Decision,
        actor: Actor,
    ) -> Result<Record, StoreError>;
    /// The records of `ward` whose request for a new appointment date waits, soonest due first.
    async fn pending_reappointments(&self, ward: &str) -> Result<Vec<Record>, StoreError>;
    /// Every queued or leased record, for recovery at start-up.
    async fn open_records(&self) -> Result<Vec<Record>, StoreError>;
    /// Flags, for each `(ward, due_before)`, the ward's open records due before that time not
    /// flagged yet as at risk of being late (at most `limit` per ward, soonest due first), each
    /// with an at-risk event, in one write; returns them.
    async fn flag_at_risk(
        &self,
        wards: Vec<(String, OffsetDateTime)>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;
    /// A ward's events after `cursor`, oldest first, at most `limit`.
    async fn events_after(
        &self,
        ward: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError>;
    /// Signatures per delegation since `since` (for daily caps after a restart).
    async fn signed_per_delegation_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<HashMap<String, u32>, StoreError>;
    /// A ward's signatures per signer since `since` (the tablet's "signed today").
    async fn signed_per_signer_since(
        &self,
        ward: &str,
        since: OffsetDateTime,
    ) -> Result<HashMap<String, u32>, StoreError>;
    /// What `signer` of `ward` signed (or, a clerk, sealed) at or after `since`, newest first,
    /// at most `limit`, each with its signature and chain (the tablet's "signed today").
    async fn signed_by_since(
        &self,
        ward: &str,
        signer: &str,
        since: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError>;
    /// A ward's counts for statistics.
    async fn ward_counts(&self, ward: &str) -> Result<WardCounts, StoreError>;
    /// How many of `ward`'s records were waiting for a signature at each of `instants`:
    /// submitted at or before it and not finished (signed, rejected, cancelled) at or before it.
    /// One count per instant, in the order given; reads only the records open at some point
    /// between the earliest and the latest instant.
    async fn backlog_at(
        &self,
        ward: &str,
        instants: Vec<OffsetDateTime>,
    ) -> Result<Vec<u32>, StoreError>;

    /// Adds a ward or renames it.
    async fn put_ward(&self, ward: Ward, actor: Actor) -> Result<Ward, StoreError>;
    /// Every ward.
    async fn wards(&self) -> Result<Vec<Ward>, StoreError>;
    /// Enrolls a signer or updates its certificate and name (keeps `away`).
    async fn put_signer(&self, signer: Signer, actor: Actor) -> Result<Signer, StoreError>;
    /// Marks a signer away or back.
    async fn set_away(
        &self,
        signer_id: &str,
        away: bool,
        actor: Actor,
    ) -> Result<Signer, StoreError>;
    /// Sets (or with `None` removes) a signer's signature image.
    async fn set_signature_image(
        &self,
        signer_id: &str,
        image: Option<Vec<u8>>,
        actor: Actor,
    ) -> Result<Signer, StoreError>;
    /// Signers, of one ward or all.
    async fn signers(&self, ward: Option<&str>) -> Result<Vec<Signer>, StoreError>;
    /// Adds or updates a procedure.
    async fn put_procedure(
        &self,
        procedure: Procedure,
        actor: Actor,
    ) -> Result<Procedure, StoreError>;
    /// The catalogue.
    async fn procedures(&self) -> Result<Vec<Procedure>, StoreError>;
    /// Registers a delegation; the same id with other content is a conflict, the same content is a no-op.
    async fn put_delegation(
        &self,
        delegation: Delegation,
        actor: Actor,
    ) -> Result<Delegation, StoreError>;
    /// Revokes a delegation (the first revocation's time and reason stay).
    async fn revoke_delegation(
        &self,
        id: &str,
        reason: &str,
        actor: Actor,
    ) -> Result<Delegation, StoreError>;
    /// Delegations, of one ward or all.
    async fn delegations(&self, ward: Option<&str>) -> Result<Vec<Delegation>, StoreError>;
    /// Audit entries with sequence numbers above `after`, oldest first, at most `limit`.
    async fn audit_entries(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError>;
    /// The audit chain's id, fixed when the store was made (what the signing service's
    /// checkpoints name).
    async fn chain_id(&self) -> Result<String, StoreError>;
    /// The newest audit entry's sequence number and hash (`0` and the genesis hash when empty).
    async fn audit_head(&self) -> Result<(u64, String), StoreError>;
    /// Stores a signed checkpoint of the chain. Not itself an audited change.
    async fn put_checkpoint(&self, checkpoint: Checkpoint) -> Result<(), StoreError>;
    /// The newest checkpoint, if any.
    async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError>;
    /// Keeps a batch waiting for its person's confirmation in a remote signing app (replacing one
    /// with the same id). Not itself an audited change: the records' leases and signatures are.
    async fn put_confirmation(&self, confirmation: Confirmation) -> Result<(), StoreError>;
    /// Forgets a confirmation that ended (signed, refused, expired).
    async fn end_confirmation(&self, id: &str) -> Result<(), StoreError>;
    /// Every confirmation still waiting.
    async fn confirmations(&self) -> Result<Vec<Confirmation>, StoreError>;
    /// Keeps a signer's session (replacing one with the same token hash); expired ones are
    /// forgotten meanwhile.
    async fn put_session(&self, session: StoredSession) -> Result<(), StoreError>;
    /// The session whose token has the SHA-256 `token_sha256` (hex).
    async fn session(&self, token_sha256: &str) -> Result<Option<StoredSession>, StoreError>;
    /// Forgets a session (signed out, or idle too long).
    async fn end_session(&self, token_sha256: &str) -> Result<(), StoreError>;
    /// Writes a heartbeat through the same path as every change: Ok while the store takes
    /// writes (health's probe).
    async fn probe(&self) -> Result<(), StoreError>;

    /// Registers a webhook for its ward's events after the newest one now (its cursor), audited;
    /// the same id with the same ward, URL and secret again changes nothing, with others it is a
    /// [`StoreError::Conflict`]. A ward that does not exist is [`StoreError::NotFound`].
    async fn put_webhook(&self, webhook: Webhook, actor: Actor) -> Result<Webhook, StoreError>;
    /// Removes a webhook and its dead letters, audited; returns it as it was.
    async fn delete_webhook(&self, id: &str, actor: Actor) -> Result<Webhook, StoreError>;
    /// The webhooks of one ward or all, by id, with their secrets and cursors.
    async fn webhooks(&self, ward: Option<&str>) -> Result<Vec<Webhook>, StoreError>;
    /// Stores what the worker of `webhook` did with one event (see [`Progress`]); a write the
    /// scheduler makes on its own, so fenced by the ward's ownership like a lease.
    async fn webhook_progress(
        &self,
        webhook: &Webhook,
        progress: Progress,
    ) -> Result<(), StoreError>;
    /// A webhook's dead letters with their events, oldest event first, at most `limit`.
    async fn dead_letters(
        &self,
        webhook_id: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError>;
    /// Marks a webhook's dead letters for redelivery, audited: every dead letter of the record
    /// of the event at `cursor`, or with `None` all; returns how many.
    async fn redeliver_dead_letters(
        &self,
        webhook_id: &str,
        cursor: Option<u64>,
        actor: Actor,
    ) -> Result<u64, StoreError>;

    /// Holds this replica's wards for `ttl` more, in one write under the chain's lock: renews
    /// those it holds, takes over wards nobody holds (a new epoch each) up to its share among
    /// the live replicas, and hands back those above its share. Returns the wards it holds, with
    /// their epochs; from then on the scheduler's own writes for a ward (leases, releases,
    /// flags) are refused unless this replica still holds it at that epoch. A store one
    /// scheduler has to itself holds every ward, at epoch 0.
    async fn hold_wards(
        &self,
        replica: &str,
        ttl: std::time::Duration,
    ) -> Result<Vec<(String, u64)>, StoreError>;
    /// Changes committed by any replica, for a store several replicas share; `None` for a store
    /// one scheduler has to itself.
    fn notices(&self) -> Option<tokio::sync::broadcast::Receiver<Notice>>;
    /// The cursor of a ward's newest event (0 when it has none).
    async fn last_event(&self, ward: &str) -> Result<u64, StoreError>;
    /// Says that `signer` has an open inbox on `replica` until `until` (replacing what it said
    /// before), for the replica that owns the signer's ward; nothing for a store one scheduler
    /// has to itself.
    async fn put_presence(
        &self,
        signer: &Signer,
        replica: &str,
        until: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Takes back what [`Store::put_presence`] said.
    async fn end_presence(&self, signer: &Signer, replica: &str) -> Result<(), StoreError>;
    /// The signers of `ward` with an open inbox on some replica now.
    async fn present(
        &self,
        ward: &str,
        now: OffsetDateTime,
    ) -> Result<std::collections::HashSet<String>, StoreError>;
}
