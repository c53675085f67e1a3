//! Webhooks: a ward's HTTPS endpoints that receive every event of its records, the same events
//! as `Intake.WatchRecords`, so that an intake system need not hold a stream open.
//!
//! Why the design is what it is: the store's event log is already ordered and durable, so a
//! webhook is a cursor over it, kept in the store beside the webhook. Its worker (on the replica
//! that owns the ward, see `engine/webhooks.rs`) posts the events after the cursor one at a time,
//! retries a failing one with exponential backoff, and moves the cursor only once the receiver
//! answered 2xx: delivery is at least once, in the log's order (so in order per record), and a
//! restart resumes from the stored cursor. An event that exhausts its attempts becomes a dead
//! letter, and the record's later events are held behind it (dead letters too, never attempted)
//! so that a receiver never sees a record's events out of order; redelivering puts them back in
//! order. Every request carries the event's id, for de-duplication, and an HMAC-SHA256 signature.
//!
//! # Layout
//! - [`payload`]: the JSON body and the signed headers.
//! - [`client`]: the HTTPS client (rustls, bounded attempts).
//! - [`backoff`]: the delay before the next attempt.

pub mod backoff;
pub mod client;
pub mod payload;

use std::path::PathBuf;
use std::time::Duration;

use time::OffsetDateTime;

use crate::model::Event;

/// A ward's HTTPS endpoint and where its delivery stands.
#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Its id (`wh-…`), in every request's `Signq-Webhook-Id` header.
    pub id: String,
    /// The ward whose events it receives.
    pub ward: String,
    /// Where events are posted: an `https://` URL.
    pub url: String,
    /// The HMAC key of its signatures (never shown after registration).
    pub secret: String,
    /// When it was registered: it receives the events after that moment.
    pub created_at: OffsetDateTime,
    /// The cursor of the last event delivered or dead-lettered.
    pub cursor: u64,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("ward", &self.ward)
            .field("url", &self.url)
            .field("cursor", &self.cursor)
            .finish_non_exhaustive()
    }
}

/// An event a webhook could not deliver.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The webhook.
    pub webhook_id: String,
    /// The event.
    pub event: Event,
    /// Attempts made (0 for an event held behind an earlier dead letter of its record).
    pub attempts: u32,
    /// The last attempt's failure, or why it was held.
    pub error: String,
    /// When it became (or last stayed) a dead letter.
    pub failed_at: OffsetDateTime,
    /// Waiting to be delivered again (an operator asked for it).
    pub redeliver: bool,
}

/// What a webhook's worker did with one event, stored so that a restart resumes after it.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// The event at `cursor` was delivered: the cursor moves to it.
    Delivered {
        /// The event's cursor.
        cursor: u64,
    },
    /// The event at `cursor` becomes a dead letter and the cursor moves past it: after
    /// `attempts` failed attempts (the last said `error`), or, with no attempt, because an
    /// earlier event of the same record is a dead letter.
    DeadLettered {
        /// The event's cursor.
        cursor: u64,
        /// Its record.
        record_id: String,
        /// Attempts made.
        attempts: u32,
        /// Why.
        error: String,
    },
    /// The dead letter at `cursor` was delivered again: it is gone.
    Redelivered {
        /// The event's cursor.
        cursor: u64,
    },
    /// Delivering the dead letter at `cursor` again failed: it stays, and it and the later
    /// dead letters of its record wait for another request to redeliver.
    RedeliveryFailed {
        /// The event's cursor.
        cursor: u64,
        /// Its record.
        record_id: String,
        /// Attempts made this time.
        attempts: u32,
        /// The last attempt's failure.
        error: String,
    },
}

/// How webhooks are delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    /// Attempts per event before it becomes a dead letter (at least 1).
    pub attempts: u32,
    /// The delay after the first failed attempt; each further one doubles it, with jitter.
    pub backoff_base: Duration,
    /// The longest delay between two attempts.
    pub backoff_max: Duration,
    /// How long one attempt (connect, TLS, request, answer's head) may take.
    pub timeout: Duration,
    /// The CA certificates (PEM) receivers' certificates must chain to; `None`: the system's
    /// bundle.
    pub ca_file: Option<PathBuf>,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            attempts: 12,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            timeout: Duration::from_secs(10),
            ca_file: None,
        }
    }
}
