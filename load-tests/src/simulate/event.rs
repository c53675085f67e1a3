//! The virtual-time event queue: a binary min-heap ordered by time, then by a sequence number
//! given at insertion, so that events at the same instant run in the order they were scheduled
//! and a run is a pure function of its inputs.
//!
//! Events carry plain indices (ward, signer, record), never strings: a national day schedules
//! millions of them.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// What happens at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The ward's next record arrives.
    Arrival { ward: u32 },
    /// A record's slack reaches the director guard: an idle director may now take it.
    GuardDue { record: u32 },
    /// A signer's batch in progress is done.
    BatchDone { signer: u32 },
    /// A lease ends unless acted on meanwhile (`lease` is the record's lease generation).
    LeaseExpiry { record: u32, lease: u32 },
    /// A signer leaves the tablet.
    AwayStart { signer: u32 },
    /// A signer is back.
    AwayEnd { signer: u32 },
    /// A signer's connection drops.
    Disconnect { signer: u32 },
    /// A signer's connection is back.
    Reconnect { signer: u32 },
    /// Record the time series.
    Sample,
    /// A new working day opens: daily caps start again.
    DayReset,
    /// The end of the simulated period.
    End,
}

/// One scheduled event.
#[derive(Debug, Clone, Copy)]
pub(super) struct Event {
    /// Virtual seconds since the start.
    pub(super) time: f64,
    /// Insertion order, the tie-breaker.
    seq: u64,
    /// What happens.
    pub(super) kind: Kind,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Event {}

impl PartialOrd for Event {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Event {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest event first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .time
            .total_cmp(&self.time)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// The pending events, earliest first.
#[derive(Debug, Default)]
pub(super) struct Queue {
    heap: BinaryHeap<Event>,
    seq: u64,
}

impl Queue {
    /// Schedules `kind` at `time`.
    pub(super) fn push(&mut self, time: f64, kind: Kind) {
        self.seq += 1;
        self.heap.push(Event {
            time,
            seq: self.seq,
            kind,
        });
    }

    /// The earliest event.
    pub(super) fn pop(&mut self) -> Option<Event> {
        self.heap.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_then_insertion_order() {
        let mut q = Queue::default();
        q.push(2.0, Kind::Sample);
        q.push(1.0, Kind::DayReset);
        q.push(1.0, Kind::End);
        let kinds: Vec<Kind> = std::iter::from_fn(|| q.pop()).map(|e| e.kind).collect();
        assert_eq!(kinds, vec![Kind::DayReset, Kind::End, Kind::Sample]);
    }
}
