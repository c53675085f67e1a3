//! Which connections a server lets in, and for how long: what keeps a handful of slow or idle
//! clients from locking everyone else out.
//!
//! - **Handshakes** run each in its own task with a short time limit, never one after another, and
//!   only so many at once from one address and in all ([`super::handshakes`]): a client that opens
//!   connections and never finishes the handshake holds a few slots of its own, not the door.
//! - **Connections without a valid certificate** (browsers before their tablet is enrolled, health
//!   probes, strangers) are capped per address and in all, apart from authenticated ones, so they
//!   can never crowd out the scheduler, intake systems and enrolled tablets.
//! - **Idle connections** close: a connection with no call in flight for a while is ended (a
//!   client reconnects in one round trip when it needs to).
//!
//! Each established connection holds a [`Ticket`]; its slot is free again when the ticket drops.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The admission limits of a server.
#[derive(Debug, Clone, Copy)]
pub struct ConnLimits {
    /// How long a client may take to finish the TLS handshake.
    pub handshake_timeout: Duration,
    /// Handshakes in progress at once, in all.
    pub max_handshakes: usize,
    /// Handshakes in progress at once from one address.
    pub max_handshakes_per_source: usize,
    /// Connections without a valid certificate, in all.
    pub max_unauthenticated: usize,
    /// Connections without a valid certificate from one address.
    pub max_unauthenticated_per_source: usize,
    /// Connections with a valid certificate, in all.
    pub max_authenticated: usize,
    /// How long a connection may stay without a call in flight before it is closed.
    pub idle: Duration,
}

impl Default for ConnLimits {
    /// For a ward or a province on one machine: a tablet on a slow mobile link finishes a
    /// handshake in well under a second, so five seconds is generous; a few dozen tablets and
    /// services per ward, a few thousand in a province.
    fn default() -> Self {
        ConnLimits {
            handshake_timeout: Duration::from_secs(5),
            max_handshakes: 256,
            max_handshakes_per_source: 32,
            max_unauthenticated: 256,
            max_unauthenticated_per_source: 16,
            max_authenticated: 8192,
            idle: Duration::from_secs(300),
        }
    }
}

/// What a ticket holds a slot of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    Unauthenticated,
    Authenticated,
}

impl Slot {
    fn label(self) -> &'static str {
        match self {
            Slot::Unauthenticated => "unauthenticated",
            Slot::Authenticated => "authenticated",
        }
    }
}

/// The metric of connections open now, by kind.
pub const CONNECTIONS: &str = "signq_tls_connections";
/// The metric of connections refused at admission, by reason.
pub const REFUSED: &str = "signq_tls_connections_refused_total";

/// The counts behind the limits.
#[derive(Debug)]
pub struct Admission {
    limits: ConnLimits,
    counts: Mutex<HashMap<(Slot, Option<IpAddr>), usize>>,
}

/// A held slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Ticket {
    admission: Arc<Admission>,
    slot: Slot,
    source: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.admission.release(self.slot, self.source);
    }
}

impl Admission {
    /// Admission under `limits`.
    pub fn new(limits: ConnLimits) -> Arc<Admission> {
        metrics::describe_gauge!(
            CONNECTIONS,
            metrics::Unit::Count,
            "TLS connections open or in their handshake, by kind."
        );
        metrics::describe_counter!(
            REFUSED,
            metrics::Unit::Count,
            "TLS connections refused at admission, by reason."
        );
        // Every series exported from the start at zero, so that alerts on their rate can fire.
        for slot in [Slot::Unauthenticated, Slot::Authenticated] {
            metrics::gauge!(CONNECTIONS, "kind" => slot.label()).set(0.0);
            for limit in ["total", "per_source"] {
                metrics::counter!(REFUSED, "kind" => slot.label(), "limit" => limit).increment(0);
            }
        }
        Arc::new(Admission {
            limits,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// The limits.
    pub fn limits(&self) -> &ConnLimits {
        &self.limits
    }

    /// A slot for an established connection from `source`, authenticated or not.
    pub fn connection(self: &Arc<Self>, source: IpAddr, authenticated: bool) -> Option<Ticket> {
        if authenticated {
            self.take(
                Slot::Authenticated,
                source,
                self.limits.max_authenticated,
                None,
            )
        } else {
            self.take(
                Slot::Unauthenticated,
                source,
                self.limits.max_unauthenticated,
                Some(self.limits.max_unauthenticated_per_source),
            )
        }
    }

    fn counts(&self) -> std::sync::MutexGuard<'_, HashMap<(Slot, Option<IpAddr>), usize>> {
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn take(
        self: &Arc<Self>,
        slot: Slot,
        source: IpAddr,
        total: usize,
        per_source: Option<usize>,
    ) -> Option<Ticket> {
        let mut counts = self.counts();
        let all = counts.get(&(slot, None)).copied().unwrap_or(0);
        let mine = counts.get(&(slot, Some(source))).copied().unwrap_or(0);
        let refused = if all >= total {
            Some("total")
        } else if per_source.is_some_and(|cap| mine >= cap) {
            Some("per_source")
        } else {
            None
        };
        if let Some(limit) = refused {
            metrics::counter!(REFUSED, "kind" => slot.label(), "limit" => limit).increment(1);
            return None;
        }
        counts.insert((slot, None), all + 1);
        counts.insert((slot, Some(source)), mine + 1);
        metrics::gauge!(CONNECTIONS, "kind" => slot.label()).set((all + 1) as f64);
        Some(Ticket {
            admission: self.clone(),
            slot,
            source,
        })
    }

    fn release(&self, slot: Slot, source: IpAddr) {
        let mut counts = self.counts();
        for key in [(slot, None), (slot, Some(source))] {
            if let Some(n) = counts.get_mut(&key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    counts.remove(&key);
                }
            }
        }
        let all = counts.get(&(slot, None)).copied().unwrap_or(0);
        metrics::gauge!(CONNECTIONS, "kind" => slot.label()).set(all as f64);
    }
}

/// The calls in flight on one connection and when the last one ended, so an idle connection can
/// be told from a busy one (a stream counts as a call for as long as it is open).
#[derive(Debug)]
pub struct Activity {
    /// When the connection started.
    origin: Instant,
    /// Calls in flight now.
    in_flight: AtomicUsize,
    /// When the last call ended, in milliseconds after `origin`.
    last_ms: AtomicU64,
}

/// A call in flight on a connection; it ends when dropped.
#[derive(Debug)]
pub struct CallActivity(Arc<Activity>);

impl Drop for CallActivity {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Activity {
    /// A connection starting now.
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            origin: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_ms: AtomicU64::new(0),
        })
    }

    /// A call starts on the connection.
    pub fn begin(self: &Arc<Self>) -> CallActivity {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        CallActivity(self.clone())
    }

    fn touch(&self) {
        let ms = self.origin.elapsed().as_millis().min(u128::from(u64::MAX)) as u64;
        self.last_ms.store(ms, Ordering::Release);
    }

    /// When the connection becomes idle for `idle`, if no call starts meanwhile: `None` while a
    /// call is in flight.
    pub fn idle_at(&self, idle: Duration) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let last = Duration::from_millis(self.last_ms.load(Ordering::Acquire));
        Some(self.origin + last + idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, last])
    }

    #[test]
    fn slots_per_source_and_in_all_and_freed_on_drop() {
        let admission = Admission::new(ConnLimits {
            max_unauthenticated: 3,
            max_unauthenticated_per_source: 2,
            max_authenticated: 1,
            ..ConnLimits::default()
        });
        let a1 = admission.connection(ip(1), false).expect("first");
        let _a2 = admission.connection(ip(1), false).expect("second");
        assert!(admission.connection(ip(1), false).is_none(), "per source");
        let _b1 = admission.connection(ip(2), false).expect("another source");
        assert!(admission.connection(ip(3), false).is_none(), "in all");
        // Authenticated connections are counted apart.
        let _auth = admission.connection(ip(1), true).expect("authenticated");
        drop(a1);
        assert!(
            admission.connection(ip(1), false).is_some(),
            "freed on drop"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_is_idle_only_without_calls() {
        let activity = Activity::new();
        let idle = Duration::from_secs(300);
        let start = Instant::now();
        assert_eq!(activity.idle_at(idle), Some(start + idle));
        let call = activity.begin();
        assert_eq!(activity.idle_at(idle), None);
        tokio::time::advance(Duration::from_secs(1000)).await;
        assert_eq!(activity.idle_at(idle), None, "a long stream is not idle");
        drop(call);
        let at = activity.idle_at(idle).expect("idle after the call");
        assert!(at >= start + Duration::from_secs(1000) + idle);
    }
}
