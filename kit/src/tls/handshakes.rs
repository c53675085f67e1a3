//! The TLS handshakes in progress, and which one gives way when they are too many.
//!
//! A client that opens connections and never finishes its handshake holds a slot until the
//! handshake's time limit. One address may hold only so many ([`ConnLimits::max_handshakes_per_source`]);
//! past that its newcomers are closed at once. When every slot in all is taken (attackers spread
//! over many addresses), a newcomer is not refused: the oldest handshake of the address holding
//! the most is closed to make room. A real client finishes in a few round trips, far sooner than
//! an attack can cycle through every slot, so slow clients can no longer lock a newcomer out; and
//! a lone client (one handshake from its address) gives way only when every address holds one.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use super::admission::{CONNECTIONS, ConnLimits, REFUSED};

/// The metric of handshakes closed to make room for a newcomer.
pub const EVICTED: &str = "signq_tls_handshakes_evicted_total";

/// The handshakes in progress on one listener.
#[derive(Debug)]
pub struct Handshakes {
    total: usize,
    per_source: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The next handshake's number: lower numbers started earlier.
    next: u64,
    /// Handshakes in progress, oldest first: their address and how to close them.
    pending: BTreeMap<u64, (IpAddr, oneshot::Sender<()>)>,
    /// Handshakes in progress by address.
    by_source: HashMap<IpAddr, usize>,
}

impl State {
    fn remove(&mut self, id: u64) -> Option<oneshot::Sender<()>> {
        let (source, evict) = self.pending.remove(&id)?;
        if let Some(n) = self.by_source.get_mut(&source) {
            *n -= 1;
            if *n == 0 {
                self.by_source.remove(&source);
            }
        }
        Some(evict)
    }

    /// The handshake that gives way: the oldest of the address holding the most.
    fn victim(&self) -> Option<u64> {
        let (&busiest, _) = self.by_source.iter().max_by_key(|(_, n)| **n)?;
        self.pending
            .iter()
            .find(|(_, (source, _))| *source == busiest)
            .map(|(&id, _)| id)
    }
}

/// A handshake's slot: freed when dropped; [`Handshake::evicted`] resolves if it must give way.
#[derive(Debug)]
pub struct Handshake {
    handshakes: Arc<Handshakes>,
    id: u64,
    evicted: oneshot::Receiver<()>,
}

impl Handshake {
    /// Resolves when this handshake is closed to make room for a newer one.
    pub async fn evicted(&mut self) {
        // The sender goes only by eviction (sent) or with this slot (never while it is awaited).
        let _ = (&mut self.evicted).await;
    }
}

impl Drop for Handshake {
    fn drop(&mut self) {
        let mut state = self.handshakes.state();
        state.remove(self.id);
        gauge(&state);
    }
}

fn gauge(state: &State) {
    metrics::gauge!(CONNECTIONS, "kind" => "handshake").set(state.pending.len() as f64);
}

impl Handshakes {
    /// The handshakes of a listener under `limits`.
    pub fn new(limits: &ConnLimits) -> Arc<Handshakes> {
        metrics::describe_counter!(
            EVICTED,
            metrics::Unit::Count,
            "TLS handshakes closed unfinished to make room for a newer connection."
        );
        metrics::counter!(EVICTED).increment(0);
        metrics::counter!(REFUSED, "kind" => "handshake", "limit" => "per_source").increment(0);
        metrics::gauge!(CONNECTIONS, "kind" => "handshake").set(0.0);
        Arc::new(Handshakes {
            total: limits.max_handshakes.max(1),
            per_source: limits.max_handshakes_per_source,
            state: Mutex::new(State::default()),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for a handshake from `source`: `None` when that address already has its share in
    /// progress; when all slots are taken, another handshake is closed to make room.
    pub fn begin(self: &Arc<Self>, source: IpAddr) -> Option<Handshake> {
        let mut state = self.state();
        if state.by_source.get(&source).copied().unwrap_or(0) >= self.per_source {
            metrics::counter!(REFUSED, "kind" => "handshake", "limit" => "per_source").increment(1);
            return None;
        }
        while state.pending.len() >= self.total {
            let Some(victim) = state.victim() else { break };
            if let Some(evict) = state.remove(victim) {
                let _ = evict.send(());
                metrics::counter!(EVICTED).increment(1);
            }
        }
        let id = state.next;
        state.next += 1;
        let (evict, evicted) = oneshot::channel();
        state.pending.insert(id, (source, evict));
        *state.by_source.entry(source).or_default() += 1;
        gauge(&state);
        Some(Handshake {
            handshakes: self.clone(),
            id,
            evicted,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    fn handshakes(total: usize, per_source: usize) -> Arc<Handshakes> {
        Handshakes::new(&ConnLimits {
            max_handshakes: total,
            max_handshakes_per_source: per_source,
            ..ConnLimits::default()
        })
    }

    async fn is_evicted(handshake: &mut Handshake) -> bool {
        tokio::time::timeout(Duration::from_millis(10), handshake.evicted())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn one_address_gets_its_share_and_no_more() {
        let h = handshakes(10, 2);
        let _a = h.begin(ip(1)).expect("first");
        let b = h.begin(ip(1)).expect("second");
        assert!(h.begin(ip(1)).is_none(), "past its share");
        assert!(h.begin(ip(2)).is_some(), "another address is let in");
        drop(b);
        assert!(
            h.begin(ip(1)).is_some(),
            "a finished handshake frees its slot"
        );
    }

    #[tokio::test]
    async fn when_all_are_taken_the_busiest_address_gives_way_oldest_first() {
        let h = handshakes(4, 3);
        let mut lone = h.begin(ip(9)).expect("a lone client");
        let mut first = h.begin(ip(1)).expect("attacker 1");
        let mut second = h.begin(ip(1)).expect("attacker 2");
        let mut third = h.begin(ip(1)).expect("attacker 3");
        let mut newcomer = h
            .begin(ip(7))
            .expect("a newcomer is never refused for the total");
        assert!(
            is_evicted(&mut first).await,
            "the busiest address's oldest gives way"
        );
        assert!(!is_evicted(&mut second).await);
        assert!(!is_evicted(&mut third).await);
        assert!(
            !is_evicted(&mut lone).await,
            "the lone client keeps its slot"
        );
        assert!(!is_evicted(&mut newcomer).await);
        // The evicted slot was handed over: dropping it later frees nothing twice.
        drop(first);
        let _again = h.begin(ip(8)).expect("room made again");
        assert!(is_evicted(&mut second).await);
        assert!(!is_evicted(&mut lone).await);
    }
}
