//! What a webhook request carries: the event as JSON, and headers that name the webhook and the
//! event and sign both the body and the time it was sent.
//!
//! The signature is `Signq-Signature: sha256=<hex>`, the HMAC-SHA256 under the webhook's secret
//! of `<Signq-Timestamp>.<body>`: a receiver recomputes it, compares in constant time, and
//! refuses a timestamp far from its clock, so a captured request cannot be replayed later.
//! The body is plain JSON with names a receiver can rely on (documented in
//! `docs/operations.md`), not the protobuf's JSON mapping.

use ring::hmac;
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::Webhook;
use crate::model::{Event, EventKind, Record};

/// The header naming the webhook.
pub const WEBHOOK_ID: &str = "signq-webhook-id";
/// The header naming the event (the same at every attempt: de-duplicate by it).
pub const EVENT_ID: &str = "signq-event-id";
/// The header with the unix time, in seconds, the request was signed at.
pub const TIMESTAMP: &str = "signq-timestamp";
/// The header with the signature.
pub const SIGNATURE: &str = "signq-signature";

/// An event's id: unique in the store, the same at every attempt and redelivery.
pub fn event_id(cursor: u64) -> String {
    format!("evt-{cursor}")
}

/// The body of a webhook request.
#[derive(Debug, Serialize)]
struct Body<'a> {
    /// The event's id (`evt-<cursor>`).
    id: String,
    /// The webhook.
    webhook_id: &'a str,
    /// The ward.
    ward: &'a str,
    /// The event's position in the ward's log (what `WatchRecords` calls the cursor).
    cursor: u64,
    /// `changed` or `at_risk`.
    kind: &'static str,
    /// When the change happened (RFC 3339).
    at: String,
    /// The record after the change.
    record: RecordBody<'a>,
}

/// The record in a webhook's body (its document, signature and chain: `Intake.GetRecord`).
#[derive(Debug, Serialize)]
struct RecordBody<'a> {
    id: &'a str,
    procedure_code: &'a str,
    title: &'a str,
    state: &'static str,
    stage: &'static str,
    attempt: u32,
    submitted_at: String,
    deadline: String,
    signer_id: Option<&'a str>,
    delegation_id: Option<&'a str>,
    clerk_id: Option<&'a str>,
    signed_at: Option<String>,
    finished_at: Option<String>,
    reason: Option<&'a str>,
    escalated: bool,
    document_sha256: &'a str,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

fn record(r: &Record) -> RecordBody<'_> {
    RecordBody {
        id: &r.meta.id,
        procedure_code: &r.meta.procedure_code,
        title: &r.meta.title,
        state: r.state.as_str(),
        stage: r.stage.as_str(),
        attempt: r.attempt,
        submitted_at: rfc3339(r.meta.submitted_at),
        deadline: rfc3339(r.meta.deadline),
        signer_id: r.signer_id.as_deref(),
        delegation_id: r.delegation_id.as_deref(),
        clerk_id: r.clerk_id.as_deref(),
        signed_at: r.signed_at.map(rfc3339),
        finished_at: r.finished_at.map(rfc3339),
        reason: r.reason.as_deref(),
        escalated: r.escalated,
        document_sha256: &r.meta.document_sha256,
    }
}

/// The JSON body announcing `event` to `webhook`.
pub fn body(webhook: &Webhook, event: &Event) -> Vec<u8> {
    let body = Body {
        id: event_id(event.cursor),
        webhook_id: &webhook.id,
        ward: &webhook.ward,
        cursor: event.cursor,
        kind: match event.kind {
            EventKind::Changed => "changed",
            EventKind::AtRisk => "at_risk",
        },
        at: rfc3339(event.at),
        record: record(&event.record),
    };
    // Plain strings, numbers and booleans: serialising cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// `sha256=<hex>`: the HMAC-SHA256 under `secret` of `<timestamp>.<body>`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(timestamp.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    format!("sha256={}", hex::encode(ctx.sign().as_ref()))
}

/// The headers of a request carrying `body` (the event `cursor`) to `webhook`, signed at `now`.
pub fn headers(
    webhook: &Webhook,
    cursor: u64,
    body: &[u8],
    now: OffsetDateTime,
) -> Vec<(&'static str, String)> {
    let timestamp = now.unix_timestamp();
    vec![
        (WEBHOOK_ID, webhook.id.clone()),
        (EVENT_ID, event_id(cursor)),
        (TIMESTAMP, timestamp.to_string()),
        (SIGNATURE, signature(&webhook.secret, timestamp, body)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_hmac_of_the_timestamp_and_body() {
        // RFC 4231's test case 2 ("Jefe"), its message split at a '.' as the header's is.
        let sig = signature("Jefe", 0, b"what do ya want for nothing?");
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"Jefe");
        let expected = hmac::sign(&key, b"0.what do ya want for nothing?");
        assert_eq!(sig, format!("sha256={}", hex::encode(expected.as_ref())));
        assert_ne!(sig, signature("Jefe", 1, b"what do ya want for nothing?"));
    }
}
