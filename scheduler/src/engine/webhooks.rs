//! Delivering the wards' events to their webhooks (see [`crate::webhooks`] for the design), and
//! the operators' changes to them.
//!
//! One supervisor per engine looks, every second, at the webhooks in the store and runs one
//! worker for each webhook of a ward this replica owns (every ward, for a store one scheduler
//! has to itself): with three replicas on one database each webhook is served once, by its
//! ward's owner, and its progress writes are fenced like a lease, so a replica that lost the
//! ward stops writing. A worker posts its webhook's events one at a time after its stored
//! cursor: redeliveries an operator asked for first, then new events, each retried with backoff
//! until it is delivered or its attempts run out (a dead letter). It wakes when the ward's log
//! grows, and at least every second. The supervisor also sets each webhook's lag gauge.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

use super::Engine;
use crate::error::SchedError;
use crate::model::{Actor, Event};
use crate::store::{Store, StoreError};
use crate::webhooks::client::{Client, DeliveryError};
use crate::webhooks::{DeadLetter, Progress, Webhook, WebhookSettings, backoff, payload};

/// How often the webhooks are looked at again, and a quiet worker reads its ward's log.
const SWEEP: Duration = Duration::from_secs(1);

/// Events a worker reads at a time.
const PAGE: usize = 64;

/// The most dead letters a worker reads to know which records are held (far more than a
/// receiver down for days makes: each costs the whole of its attempts).
const DEAD_LETTERS_READ: usize = 100_000;

/// What a worker needs, shared with its supervisor.
#[derive(Debug, Clone)]
struct Delivery {
    store: Arc<dyn Store>,
    client: Arc<Client>,
    settings: WebhookSettings,
}

impl Engine {
    /// Starts the webhooks' supervisor (until the engine is gone or shuts down); refuses a CA
    /// bundle for receivers that cannot be read.
    pub(super) fn spawn_webhooks(self: &Arc<Self>) -> Result<(), SchedError> {
        let settings = self.settings.webhooks.clone();
        let client = Client::new(settings.ca_file.as_deref(), settings.timeout)
            .map_err(|e| SchedError::Internal(e.to_string()))?;
        let delivery = Delivery {
            store: Arc::clone(&self.store),
            client: Arc::new(client),
            settings,
        };
        let engine = Arc::downgrade(self);
        let mut closing = self.closing.subscribe();
        tokio::spawn(async move {
            let mut workers: HashMap<String, (Webhook, JoinHandle<()>)> = HashMap::new();
            let mut sweep = tokio::time::interval(SWEEP);
            sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = sweep.tick() => {}
                    _ = closing.changed() => {}
                }
                if *closing.borrow() || !supervise(&engine, &delivery, &mut workers).await {
                    break;
                }
            }
            for (_, (_, worker)) in workers {
                worker.abort();
            }
        });
        Ok(())
    }

    /// Registers a webhook for `ward`'s events from now on, with `secret` or a new one; the
    /// webhook as stored, its secret included.
    pub async fn register_webhook(
        &self,
        ward: &str,
        url: &str,
        secret: Option<String>,
        actor: Actor,
    ) -> Result<Webhook, SchedError> {
        if !self.with_directory(|d| d.wards.contains_key(ward)) {
            return Err(SchedError::NotFound(format!("ward: no ward {ward:?}")));
        }
        let random = |n: usize| {
            let mut bytes = vec![0u8; n];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            hex::encode(bytes)
        };
        let webhook = Webhook {
            id: format!("wh-{}", random(8)),
            ward: ward.to_string(),
            url: url.to_string(),
            secret: secret.unwrap_or_else(|| random(32)),
            created_at: OffsetDateTime::now_utc(),
            cursor: 0,
        };
        Ok(self.store.put_webhook(webhook, actor).await?)
    }

    /// The webhooks of `ward`, or of every ward.
    pub async fn webhooks(&self, ward: Option<&str>) -> Result<Vec<Webhook>, SchedError> {
        Ok(self.store.webhooks(ward).await?)
    }

    /// Removes a webhook and its dead letters (its worker stops within a second).
    pub async fn delete_webhook(&self, id: &str, actor: Actor) -> Result<Webhook, SchedError> {
        Ok(self.store.delete_webhook(id, actor).await?)
    }

    /// A webhook's dead letters, oldest first, at most `limit`.
    pub async fn dead_letters(
        &self,
        webhook_id: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, SchedError> {
        Ok(self.store.dead_letters(webhook_id, limit).await?)
    }

    /// Marks dead letters for redelivery (those of the record of the event at `cursor`, or
    /// all) and wakes the webhook's worker; how many.
    pub async fn redeliver_dead_letters(
        &self,
        webhook_id: &str,
        cursor: Option<u64>,
        actor: Actor,
    ) -> Result<u64, SchedError> {
        let marked = self
            .store
            .redeliver_dead_letters(webhook_id, cursor, actor)
            .await?;
        if let Some(hook) = self
            .store
            .webhooks(None)
            .await?
            .into_iter()
            .find(|h| h.id == webhook_id)
        {
            self.notify(&hook.ward);
        }
        Ok(marked)
    }
}

/// One look of the supervisor: a worker for each webhook of an owned ward, none for the others;
/// each one's lag. False once the engine is gone.
async fn supervise(
    engine: &Weak<Engine>,
    delivery: &Delivery,
    workers: &mut HashMap<String, (Webhook, JoinHandle<()>)>,
) -> bool {
    let Some(engine) = engine.upgrade() else {
        return false;
    };
    let hooks = match delivery.store.webhooks(None).await {
        Ok(hooks) => hooks,
        Err(error) => {
            tracing::warn!(%error, "could not read the webhooks");
            return true;
        }
    };
    let wanted: HashMap<String, Webhook> = hooks
        .into_iter()
        .filter(|h| engine.owns(&h.ward))
        .map(|h| (h.id.clone(), h))
        .collect();
    workers.retain(|id, (hook, worker)| {
        let keep = !worker.is_finished()
            && wanted
                .get(id)
                .is_some_and(|w| (&w.url, &w.secret) == (&hook.url, &hook.secret));
        if !keep {
            worker.abort();
            crate::metrics::webhook_lag(&hook.ward, &hook.id, None);
            crate::metrics::webhook_dead_letters(&hook.ward, &hook.id, 0);
        }
        keep
    });
    for (id, hook) in &wanted {
        let oldest = match delivery
            .store
            .events_after(&hook.ward, hook.cursor, 1)
            .await
        {
            Ok(events) => events.first().map(|e| e.at),
            Err(_) => continue,
        };
        crate::metrics::webhook_lag(&hook.ward, id, oldest);
        if !workers.contains_key(id) {
            let changes = engine.changes.subscribe();
            let worker = tokio::spawn(work(delivery.clone(), hook.clone(), changes));
            workers.insert(id.clone(), (hook.clone(), worker));
        }
    }
    true
}

/// A webhook's worker: delivers until there is nothing to, then waits for the ward's log to
/// grow. Ends on a store error (its supervisor starts it again a second later, from the stored
/// cursor, unless the ward or the webhook is gone).
async fn work(delivery: Delivery, mut hook: Webhook, mut changes: broadcast::Receiver<String>) {
    loop {
        match deliver_some(&delivery, &mut hook).await {
            Ok(true) => continue,
            Ok(false) => {}
            Err(StoreError::NotFound(_) | StoreError::NotOwner(_)) => return,
            Err(error) => {
                tracing::warn!(webhook = %hook.id, %error, "webhook delivery paused");
                return;
            }
        }
        let ward = hook.ward.clone();
        let wait = async {
            loop {
                match changes.recv().await {
                    Ok(w) if w == ward => return,
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(_)) => return,
                    Err(broadcast::error::RecvError::Closed) => {
                        std::future::pending::<()>().await;
                    }
                }
            }
        };
        let _ = tokio::time::timeout(SWEEP, wait).await;
    }
}

/// Delivers what waits: a redelivery if one was asked for, else a page of new events. Whether
/// it did anything.
async fn deliver_some(delivery: &Delivery, hook: &mut Webhook) -> Result<bool, StoreError> {
    let store = &delivery.store;
    let dead = store.dead_letters(&hook.id, DEAD_LETTERS_READ).await?;
    crate::metrics::webhook_dead_letters(&hook.ward, &hook.id, dead.len());
    if let Some(letter) = dead.iter().find(|d| d.redeliver) {
        let cursor = letter.event.cursor;
        let progress = match attempts(delivery, hook, &letter.event).await {
            Ok(()) => Progress::Redelivered { cursor },
            Err((attempts, error)) => Progress::RedeliveryFailed {
                cursor,
                record_id: letter.event.record.meta.id.clone(),
                attempts,
                error,
            },
        };
        store.webhook_progress(hook, progress).await?;
        return Ok(true);
    }
    // Records with a dead letter: their later events are held behind it.
    let mut held: HashSet<String> = dead.into_iter().map(|d| d.event.record.meta.id).collect();
    let events = store.events_after(&hook.ward, hook.cursor, PAGE).await?;
    if events.is_empty() {
        return Ok(false);
    }
    for event in events {
        let cursor = event.cursor;
        let record_id = event.record.meta.id.clone();
        let progress = if held.contains(&record_id) {
            Progress::DeadLettered {
                cursor,
                error: format!("held behind an earlier dead letter of record {record_id}"),
                record_id,
                attempts: 0,
            }
        } else {
            match attempts(delivery, hook, &event).await {
                Ok(()) => Progress::Delivered { cursor },
                Err((attempts, error)) => {
                    tracing::warn!(webhook = %hook.id, cursor, %error, "a webhook event became a dead letter");
                    held.insert(record_id.clone());
                    Progress::DeadLettered {
                        cursor,
                        record_id,
                        attempts,
                        error,
                    }
                }
            }
        };
        store.webhook_progress(hook, progress).await?;
        hook.cursor = cursor;
    }
    Ok(true)
}

/// Posts `event` to `hook` until it is delivered or the attempts run out: the attempts made
/// and the last failure then.
async fn attempts(delivery: &Delivery, hook: &Webhook, event: &Event) -> Result<(), (u32, String)> {
    let settings = &delivery.settings;
    let body = payload::body(hook, event);
    let most = settings.attempts.max(1);
    let mut last = String::new();
    for attempt in 1..=most {
        let headers = payload::headers(hook, event.cursor, &body, OffsetDateTime::now_utc());
        match delivery
            .client
            .post(&hook.url, &headers, body.clone())
            .await
        {
            Ok(()) => {
                crate::metrics::webhook_attempt(&hook.ward, "delivered");
                return Ok(());
            }
            Err(error) => {
                let outcome = match error {
                    DeliveryError::Status(_) => "http_error",
                    DeliveryError::Timeout(_) => "timeout",
                    DeliveryError::Unreachable(_) | DeliveryError::Url(_) => "unreachable",
                };
                crate::metrics::webhook_attempt(&hook.ward, outcome);
                tracing::debug!(webhook = %hook.id, cursor = event.cursor, attempt, %error, "a webhook attempt failed");
                last = error.to_string();
            }
        }
        if attempt < most {
            let wait = backoff::delay(attempt, settings.backoff_base, settings.backoff_max);
            tokio::time::sleep(wait).await;
        }
    }
    Err((most, last))
}
