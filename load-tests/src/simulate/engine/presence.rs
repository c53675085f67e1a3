//! A signer's presence: away periods (leases go back at once, the batch in hand is finished)
//! and dropped connections (the signer is offline; a batch that ends meanwhile completes on
//! reconnecting; leases held meanwhile may expire). Each change is told to the balancer, and the
//! ward's signers are offered work again, since who may take what can change with it.

use super::super::event::Kind;
use super::Sim;

impl Sim {
    /// Tells the balancer a signer's availability changed.
    pub(super) fn update_view(&mut self, s: u32) {
        let Some(signer) = self.world.signers.get(s as usize) else {
            return;
        };
        let Some(ward) = self.world.wards.get(signer.ward as usize) else {
            return;
        };
        self.balancer.upsert_signer(signer.view(&ward.id));
    }

    /// The ward of signer `s`.
    pub(super) fn ward_of(&self, s: u32) -> u32 {
        self.world.signers.get(s as usize).map_or(0, |x| x.ward)
    }

    pub(super) fn away_start(&mut self, s: u32, t: f64) {
        let Some(signer) = self.world.signers.get_mut(s as usize) else {
            return;
        };
        signer.away += 1;
        if signer.away > 1 {
            return;
        }
        let held: Vec<u32> = signer.held.drain(..).collect();
        self.update_view(s);
        for r in held {
            self.release(r, t);
        }
        self.wake_ward(self.ward_of(s), t);
    }

    pub(super) fn away_end(&mut self, s: u32, t: f64) {
        let Some(signer) = self.world.signers.get_mut(s as usize) else {
            return;
        };
        signer.away = signer.away.saturating_sub(1);
        if signer.away > 0 {
            return;
        }
        self.update_view(s);
        self.wake_ward(self.ward_of(s), t);
    }

    pub(super) fn disconnect(&mut self, s: u32, t: f64) {
        let Some(signer) = self.world.signers.get_mut(s as usize) else {
            return;
        };
        signer.online = false;
        let down = signer.drops.as_ref().map_or(0.0, |d| d.down);
        self.update_view(s);
        self.queue.push(t + down, Kind::Reconnect { signer: s });
        self.wake_ward(self.ward_of(s), t);
    }

    pub(super) fn reconnect(&mut self, s: u32, t: f64) {
        let Some(signer) = self.world.signers.get_mut(s as usize) else {
            return;
        };
        signer.online = true;
        let pending = signer.done_pending;
        if let Some(gap) = signer.drops.as_mut().map(|d| d.next_gap()) {
            self.queue.push(t + gap, Kind::Disconnect { signer: s });
        }
        self.update_view(s);
        if pending {
            self.finish_batch(s, t);
        }
        self.wake_ward(self.ward_of(s), t);
    }
}
