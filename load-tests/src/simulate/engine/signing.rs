//! A signer at work: taking leases when ready, signing them in batches, and leases going back
//! when they expire unused. The only code that moves a record between leased, signing and
//! signed, and that tells the balancer about it.

use std::time::Duration;

use signq_scheduler::balancer::Grant;
use signq_scheduler::model::SignerRole;

use super::super::event::Kind;
use super::super::world::State;
use super::{Sim, record_id};

impl Sim {
    /// A ready signer takes what it may and starts a batch if it holds anything.
    pub(super) fn try_start(&mut self, s: u32, t: f64) {
        let Some(signer) = self.world.signers.get(s as usize) else {
            return;
        };
        if !signer.ready() {
            return;
        }
        let room = self.lease_size.saturating_sub(signer.held.len());
        self.granted.clear();
        if room > 0 {
            let grants = self
                .balancer
                .take(&signer.id, room, self.timeline.instant(t));
            for grant in &grants {
                self.leased(s, grant, t);
            }
        }
        self.start_batch(s, t);
        // Leases not acted on at once may expire (those in the batch are being acted on).
        for i in 0..self.granted.len() {
            let Some(&r) = self.granted.get(i) else {
                break;
            };
            if let Some(record) = self.world.records.get(r as usize)
                && record.state == (State::Leased { signer: s })
            {
                let lease = record.lease;
                self.queue.push(
                    t + self.lease_timeout,
                    Kind::LeaseExpiry { record: r, lease },
                );
            }
        }
    }

    /// A grant from `take`: the record is leased to `s` until acted on or expired.
    pub(super) fn leased(&mut self, s: u32, grant: &Grant, t: f64) {
        let Ok(r) = grant.id.parse::<u32>() else {
            return;
        };
        let Some(record) = self.world.records.get_mut(r as usize) else {
            return;
        };
        record.state = State::Leased { signer: s };
        record.lease = record.lease.wrapping_add(1);
        record.lease_at = t;
        if let Some(signer) = self.world.signers.get_mut(s as usize) {
            signer.held.push_back(r);
        }
        self.granted.push(r);
        self.queued = self.queued.saturating_sub(1);
        if grant.escalated {
            self.stats.escalations += 1;
        }
    }

    /// Starts signing up to a batch of the records `s` holds, if any.
    pub(super) fn start_batch(&mut self, s: u32, t: f64) {
        let Some(signer) = self.world.signers.get_mut(s as usize) else {
            return;
        };
        if signer.held.is_empty() {
            return;
        }
        let n = signer.batch.min(signer.held.len());
        let mut total = 0.0;
        signer.in_batch.clear();
        for r in signer.held.drain(..n) {
            if let Some(record) = self.world.records.get_mut(r as usize) {
                record.state = State::Signing;
                total += signer.service.secs(&record.fact);
                signer.in_batch.push(r);
            }
        }
        signer.busy = true;
        self.queue.push(t + total, Kind::BatchDone { signer: s });
    }

    /// A batch's time is up: signed now, or when the connection is back.
    pub(super) fn batch_done(&mut self, s: u32, t: f64) {
        let Some(signer) = self.world.signers.get_mut(s as usize) else {
            return;
        };
        if !signer.online {
            signer.done_pending = true;
            return;
        }
        self.finish_batch(s, t);
        self.try_start(s, t);
    }

    /// Every record of the batch in progress is signed at `t`.
    pub(super) fn finish_batch(&mut self, s: u32, t: f64) {
        let Some(signer) = self.world.signers.get_mut(s as usize) else {
            return;
        };
        let batch = std::mem::take(&mut signer.in_batch);
        let director = signer.role == SignerRole::Director;
        for &r in &batch {
            let Some(record) = self.world.records.get_mut(r as usize) else {
                continue;
            };
            record.state = State::Signed;
            let secs = signer.service.secs(&record.fact);
            self.balancer.note_signed(
                &record_id(r),
                &signer.id,
                signer.delegation.as_deref(),
                Duration::try_from_secs_f64(secs).unwrap_or_default(),
            );
            let in_scope = signer
                .scope
                .get(usize::from(record.fact.procedure))
                .copied()
                .unwrap_or(false);
            self.stats.signed(
                record.ward,
                &record.fact,
                record.lease_at,
                t,
                director,
                in_scope,
            );
        }
        signer.in_batch = batch;
        signer.in_batch.clear();
        signer.busy = false;
        signer.done_pending = false;
    }

    /// Returns a leased, unstarted record to the balancer (expiry or away).
    pub(super) fn release(&mut self, r: u32, t: f64) {
        if let Some(record) = self.world.records.get_mut(r as usize) {
            record.state = State::Queued;
        }
        self.balancer
            .release(&record_id(r), self.timeline.instant(t));
        self.queued += 1;
    }

    /// A lease's time is up: if its record is still held unstarted under that lease, it goes back.
    pub(super) fn expire(&mut self, r: u32, lease: u32, t: f64) {
        let Some(record) = self.world.records.get(r as usize) else {
            return;
        };
        let State::Leased { signer } = record.state else {
            return;
        };
        if record.lease != lease {
            return;
        }
        let ward = record.ward;
        if let Some(holder) = self.world.signers.get_mut(signer as usize) {
            holder.held.retain(|&h| h != r);
        }
        self.release(r, t);
        self.stats.expiries += 1;
        self.wake_ward(ward, t);
    }
}
