//! What intake systems do: submit a record, cancel it, watch a ward's changes.

use std::sync::Arc;
use std::time::Duration;

use ring::digest::{SHA256, digest};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::{Engine, lock};
use crate::balancer::Entry;
use crate::error::SchedError;
use crate::model::{Actor, Event, Priority, Record, RecordMeta, Transition};

/// A record as intake hands it over, already checked for form by the API layer.
#[derive(Debug, Clone)]
pub struct Submission {
    /// The ward.
    pub ward: String,
    /// The procedure code.
    pub procedure_code: String,
    /// The title.
    pub title: String,
    /// The document.
    pub document: Vec<u8>,
    /// The deadline, or `None` for the catalogue's time limit.
    pub deadline: Option<OffsetDateTime>,
    /// The priority.
    pub priority: Priority,
    /// The idempotency key.
    pub idempotency_key: String,
    /// For a PDF: where its visible signature goes (`None`: the default place).
    pub signature_place: Option<signq_pades::Place>,
}

/// The furthest deadline accepted: no procedure's time limit comes near it.
const MAX_DEADLINE_AHEAD: Duration = Duration::from_secs(5 * 365 * 24 * 3600);

/// How many events a watcher reads from the store at a time.
const WATCH_PAGE: usize = 256;

/// A new record id: the submission time in milliseconds, then 48 random bits. Ids made later sort
/// later, so new records land at the end of the store's indexes instead of all over them.
fn new_record_id(now: OffsetDateTime) -> String {
    let mut bytes = [0u8; 6];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let millis = (now.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
    format!("R{millis:012x}{}", hex::encode(bytes))
}

impl Engine {
    /// Accepts a record: durable before this returns; a repeated key returns the first record.
    #[tracing::instrument(name = "submit", skip_all, fields(ward = %s.ward, record = tracing::field::Empty))]
    pub async fn submit(
        self: &Arc<Self>,
        s: Submission,
        actor: Actor,
    ) -> Result<(Record, bool), SchedError> {
        let now = OffsetDateTime::now_utc();
        let rule = self.with_directory(|d| {
            if !d.wards.contains_key(&s.ward) {
                return Err(SchedError::NotFound(format!("ward: no ward {:?}", s.ward)));
            }
            d.procedures
                .get(&s.procedure_code)
                .map(|p| p.rule)
                .ok_or_else(|| {
                    SchedError::invalid(
                        "procedure_code",
                        format!("{:?} is not in the catalogue", s.procedure_code),
                    )
                })
        })?;
        if s.document.len() > self.settings.max_document_bytes {
            return Err(SchedError::invalid(
                "document",
                format!(
                    "{} bytes; a document holds at most {}",
                    s.document.len(),
                    self.settings.max_document_bytes
                ),
            ));
        }
        let document = check_pdf(s.document, s.signature_place.clone()).await?;
        let deadline = match s.deadline {
            Some(d) if d <= now => return Err(SchedError::invalid("deadline", "is in the past")),
            Some(d) if d > now + MAX_DEADLINE_AHEAD => {
                return Err(SchedError::invalid(
                    "deadline",
                    "is more than 5 years ahead",
                ));
            }
            Some(d) => d,
            // The statutory deadline, counted in working time from receipt.
            None => self
                .calendar_for(&s.ward)
                .due(now, rule)
                .to_offset(time::UtcOffset::UTC),
        };
        let meta = RecordMeta {
            id: new_record_id(now),
            ward: s.ward.clone(),
            procedure_code: s.procedure_code,
            title: s.title,
            priority: s.priority,
            deadline,
            submitted_at: now,
            idempotency_key: s.idempotency_key,
            document_size: document.len() as u64,
            document_sha256: hex::encode(digest(&SHA256, &document)),
            signature_place: s.signature_place,
        };
        let (record, created) = self.store.submit(meta, document, actor).await?;
        if created {
            crate::metrics::submitted(&record);
            if self.owns(&record.meta.ward) {
                lock(&self.balancer).enqueue(entry(&record), now);
            }
            self.notify(&record.meta.ward);
            self.dispatch_ward(&record.meta.ward).await;
        }
        tracing::Span::current().record("record", record.meta.id.as_str());
        Ok((record, created))
    }

    /// Withdraws a record that is not final.
    pub async fn cancel(
        self: &Arc<Self>,
        id: &str,
        reason: String,
        actor: Actor,
    ) -> Result<Record, SchedError> {
        let record = self
            .store
            .apply(
                Transition::Cancel {
                    id: id.to_string(),
                    reason,
                },
                actor,
            )
            .await?;
        lock(&self.balancer).remove(id);
        let held = self.forget_lease(id);
        if let Some(held) = held {
            self.lease_ended(&held.signer, id, "cancelled");
        }
        crate::metrics::finished(&record, self.is_director(record.signer_id.as_deref()));
        self.notify(&record.meta.ward);
        self.dispatch_ward(&record.meta.ward).await;
        Ok(record)
    }

    /// Streams a ward's events after `cursor`, then every new one as it is stored, until the
    /// receiver is dropped.
    pub fn watch(
        self: &Arc<Self>,
        ward: String,
        mut cursor: u64,
    ) -> mpsc::Receiver<Result<Event, SchedError>> {
        let (tx, rx) = mpsc::channel(WATCH_PAGE);
        let engine = self.clone();
        let mut changes = self.changes.subscribe();
        let mut closing = self.closing.subscribe();
        tokio::spawn(async move {
            loop {
                if *closing.borrow_and_update() {
                    let _ = tx
                        .send(Err(SchedError::Unavailable(format!(
                            "the scheduler is shutting down; watch again after cursor {cursor}"
                        ))))
                        .await;
                    return;
                }
                let page = match engine.store.events_after(&ward, cursor, WATCH_PAGE).await {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = tx.send(Err(e.into())).await;
                        return;
                    }
                };
                let full = page.len() == WATCH_PAGE;
                for event in page {
                    cursor = event.cursor;
                    if tx.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
                if full {
                    continue;
                }
                // Wait for a change of this ward (or a heartbeat, which also notices a closed client).
                let wait = async {
                    loop {
                        match changes.recv().await {
                            Ok(w) if w == ward => return true,
                            Ok(_) => continue,
                            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                                return true;
                            }
                            Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
                        }
                    }
                };
                tokio::select! {
                    woke = tokio::time::timeout(Duration::from_secs(15), wait) => match woke {
                        Ok(false) => return,
                        Ok(true) | Err(_) => {
                            if tx.is_closed() {
                                return;
                            }
                        }
                    },
                    // Shutting down: the loop's first check says so to the watcher.
                    _ = closing.changed() => {}
                }
            }
        });
        rx
    }

    /// Whether `signer` is a director.
    pub(crate) fn is_director(&self, signer: Option<&str>) -> bool {
        signer.is_some_and(|id| {
            self.with_directory(|d| {
                d.signers
                    .get(id)
                    .is_some_and(|s| s.role == crate::model::SignerRole::Director)
            })
        })
    }
}

/// Refuses, before anything is stored, a document the signing service could not sign: a PDF
/// that does not read, is encrypted, or has no room for the signature where intake asked for
/// it; or a place for a document that is not a PDF. Gives the document back.
async fn check_pdf(
    document: Vec<u8>,
    place: Option<signq_pades::Place>,
) -> Result<Vec<u8>, SchedError> {
    if !signq_pades::is_pdf(&document) {
        return match place {
            Some(_) => Err(SchedError::invalid(
                "signature_place",
                "only a PDF has a signature place; the document is not a PDF",
            )),
            None => Ok(document),
        };
    }
    // Reading a large PDF takes milliseconds of CPU: off the runtime's threads.
    let place = place.unwrap_or_default();
    let (document, checked) = tokio::task::spawn_blocking(move || {
        let checked = signq_pades::check(&document, &place);
        (document, checked)
    })
    .await
    .map_err(|e| SchedError::Internal(format!("checking the PDF: {e}")))?;
    checked.map(|()| document).map_err(|e| {
        let field = match e {
            signq_pades::PdfError::NoSuchPage { .. } | signq_pades::PdfError::OffPage { .. } => {
                "signature_place"
            }
            signq_pades::PdfError::Field { .. } => "signature_place.field",
            _ => "document",
        };
        SchedError::invalid(field, e.to_string())
    })
}

/// The balancer's view of a queued record.
pub(crate) fn entry(r: &Record) -> Entry {
    Entry {
        id: r.meta.id.clone(),
        ward: r.meta.ward.clone(),
        procedure: r.meta.procedure_code.clone(),
        priority: r.meta.priority,
        deadline: r.meta.deadline,
        submitted_at: r.meta.submitted_at,
        stage: r.stage,
    }
}
