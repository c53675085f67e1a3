//! Following what the other replicas do, for a store several replicas share.
//!
//! Every committed change is announced by the store ([`Notice`]); the event log is what says
//! what changed. For each ward this replica owns, or whose signers have an inbox open here, it
//! reads the ward's events after its cursor and brings its own state in line: the owner's pool
//! gains records submitted elsewhere and loses those signed, rejected or cancelled elsewhere; an
//! inbox open here hears of leases made by the owner and of leases that ended. Reading the log
//! rather than trusting the notices means a lost notice costs a delay (the sweep reads every
//! followed ward each second), never an event; applying an event twice changes nothing.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::broadcast::error::RecvError;

use super::intake::entry;
use super::{Engine, lock};
use crate::model::{Record, RecordState, Stage};
use crate::store::Notice;

/// How often every followed ward is read even without a notice.
const SWEEP: Duration = Duration::from_secs(1);

/// Events read at a time.
const PAGE: usize = 256;

impl Engine {
    /// Follows the store's notices until the engine is gone (nothing for a store this
    /// scheduler has to itself).
    pub(super) fn spawn_follower(self: &Arc<Self>) {
        let Some(mut notices) = self.store.notices() else {
            return;
        };
        let engine = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut sweep = tokio::time::interval(SWEEP);
            sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let notice = tokio::select! {
                    notice = notices.recv() => match notice {
                        Ok(notice) => Some(notice),
                        Err(RecvError::Lagged(_)) => Some(Notice::Resync),
                        Err(RecvError::Closed) => return,
                    },
                    _ = sweep.tick() => None,
                };
                let Some(engine) = engine.upgrade() else {
                    return;
                };
                match notice {
                    Some(Notice::Ward(ward)) => engine.follow_ward(&ward).await,
                    Some(Notice::Config) => engine.reload_directory().await,
                    Some(Notice::SessionEnded(key)) => engine.sessions.forget(&key),
                    Some(Notice::Resync) => {
                        engine.reload_directory().await;
                        engine.follow_all().await;
                    }
                    None => engine.follow_all().await,
                }
            }
        });
    }

    /// Reads every followed ward's new events.
    async fn follow_all(self: &Arc<Self>) {
        let wards: Vec<String> = lock(&self.cursors).keys().cloned().collect();
        for ward in wards {
            self.follow_ward(&ward).await;
        }
    }

    /// Starts following `ward` from its newest event, unless it is followed already.
    pub(super) async fn start_following(&self, ward: &str) {
        if !self.replicated || lock(&self.cursors).contains_key(ward) {
            return;
        }
        match self.store.last_event(ward).await {
            Ok(head) => {
                lock(&self.cursors).entry(ward.to_string()).or_insert(head);
            }
            Err(error) => tracing::warn!(%ward, %error, "could not start following a ward"),
        }
    }

    /// Reads `ward`'s events after its cursor and applies them; wakes its watchers.
    async fn follow_ward(self: &Arc<Self>, ward: &str) {
        self.notify(ward);
        let Some(mut cursor) = lock(&self.cursors).get(ward).copied() else {
            return;
        };
        let owner = self.owns(ward);
        if owner {
            self.refresh_presence(ward).await;
        }
        loop {
            let events = match self.store.events_after(ward, cursor, PAGE).await {
                Ok(events) => events,
                Err(error) => {
                    tracing::warn!(%ward, %error, "could not follow a ward's events");
                    return;
                }
            };
            for event in &events {
                self.observe(&event.record);
                cursor = event.cursor;
            }
            if let Some(c) = lock(&self.cursors).get_mut(ward) {
                *c = (*c).max(cursor);
            }
            if events.len() < PAGE {
                break;
            }
        }
        if owner {
            self.dispatch_ward(ward).await;
        }
    }

    /// Brings this replica's state in line with `record` as another replica (or this one) left
    /// it.
    fn observe(&self, record: &Record) {
        self.relay_observed(record);
        let (id, ward) = (&record.meta.id, &record.meta.ward);
        if !self.owns(ward) {
            return;
        }
        let held = lock(&self.leases).get(id).cloned();
        let now = OffsetDateTime::now_utc();
        match record.state {
            // Leases of an owned ward are this replica's own, or were read when it adopted it.
            RecordState::Leased => {}
            RecordState::Queued => {
                let stage = lock(&self.balancer).stage_of(id);
                // Queued at the lease's attempt or later: the lease ended (given back or signed
                // elsewhere); an older event (the submit of a record leased since) changes nothing.
                let moved_on = held
                    .as_ref()
                    .is_some_and(|h| h.attempt <= record.attempt || stage != Some(record.stage));
                if moved_on {
                    self.forget_lease(id);
                    lock(&self.balancer).remove(id);
                }
                if moved_on || stage != Some(record.stage) {
                    lock(&self.balancer).enqueue(entry(record), now);
                }
            }
            RecordState::Signed | RecordState::Rejected | RecordState::Cancelled => {
                self.forget_lease(id);
                lock(&self.balancer).remove(id);
            }
        }
    }

    /// Tells an inbox open here what became of a record it shows (or should show).
    fn relay_observed(&self, record: &Record) {
        let id = &record.meta.id;
        let holder = match (&record.state, &record.lease) {
            (RecordState::Leased, Some(lease)) => Some((lease.signer_id.clone(), lease.attempt)),
            _ => None,
        };
        let before = lock(&self.relayed).get(id).cloned();
        if before == holder {
            return;
        }
        if let Some((signer, _)) = before
            && holder.as_ref().is_none_or(|(s, _)| *s != signer)
        {
            let reason = match (record.state, record.stage) {
                (RecordState::Signed, _) | (RecordState::Queued, Stage::Seal) => "signed",
                (RecordState::Rejected, _) => "rejected",
                (RecordState::Cancelled, _) => "cancelled",
                _ => record.reason.as_deref().unwrap_or("expired"),
            };
            self.lease_ended(&signer, id, reason);
        }
        if let Some((signer, _)) = &holder
            && self.inboxes.online(signer)
        {
            self.relay_leased(signer, record);
        }
    }

    /// Reads the configuration again (another replica changed it).
    async fn reload_directory(self: &Arc<Self>) {
        // A change made here while the configuration was read would be undone by installing
        // it: read again then (every change made here is in the store before it is here).
        for _ in 0..5 {
            let since = self.directory_version();
            let installed = match super::directory::Directory::load(self.store.as_ref()).await {
                Ok(directory) => self.install_directory(directory, Some(since)).await,
                Err(error) => Err(error.into()),
            };
            match installed {
                Ok(true) => break,
                Ok(false) => continue,
                Err(error) => {
                    tracing::warn!(%error, "could not read the configuration");
                    break;
                }
            }
        }
        // Signers marked away elsewhere give their leases back here, where their ward is run.
        let away: Vec<String> = self.with_directory(|d| {
            d.signers
                .values()
                .filter(|s| s.away && self.owns(&s.ward))
                .map(|s| s.id.clone())
                .collect()
        });
        for signer in away {
            self.release_all(&signer, crate::model::ReleaseReason::Away)
                .await;
        }
    }
}
