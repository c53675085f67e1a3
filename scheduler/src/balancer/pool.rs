//! Ordered collections of queued records: the ward pool (late binding, and unassigned records
//! under early binding) and each signer's own queue (early binding).
//!
//! # The ordering key, and why aging needs no re-sorting
//! The spec orders records by an effective key
//! `deadline − priority bonus − waited × aging_per_hour / 1 h`, then `submitted_at`, then id,
//! where `waited = now − submitted_at`. Multiplied by one hour, the key is
//! `(deadline − bonus) × 1 h + submitted_at × aging − now × aging`; the last term is the same for
//! every record compared at the same `now`, so the order never changes with time. Each record
//! therefore gets a fixed integer [`PoolKey`] at enqueue (exact, in nanoseconds × nanoseconds,
//! `i128`), and plain `BTreeSet`s keep the order: O(log n) insert and remove, no re-sorting,
//! no clock. An old far-deadline record overtakes a newer near-deadline one exactly when it was
//! submitted long enough before it: `deadline gap < submission gap × aging_per_hour / 1 h`.
//!
//! # Buckets by procedure
//! Eligibility depends on the procedure (delegations cover procedure codes), so a [`Pool`] keeps
//! one bucket per procedure. A deputy's take merges only the buckets it may sign instead of
//! skipping over records it may not; the director's deadline guard reads a per-bucket deadline
//! index to find the records with little slack without scanning the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::iter::Peekable;

use time::OffsetDateTime;

use super::config::BalancerConfig;
use super::types::Entry;
use crate::model::Priority;

const NANOS_PER_HOUR: i128 = 3_600_000_000_000;
/// Aging faster than this (per hour waited) is clamped, so the key arithmetic cannot overflow.
const MAX_AGING_NANOS: i128 = 1_000 * NANOS_PER_HOUR;

/// Nanoseconds since the Unix epoch.
pub(super) fn nanos(t: OffsetDateTime) -> i128 {
    t.unix_timestamp_nanos()
}

/// How much earlier a priority moves a record's key.
fn priority_bonus(priority: Priority) -> i128 {
    match priority {
        Priority::Normal => 0,
        Priority::High => NANOS_PER_HOUR / 2,
        Priority::Urgent => 2 * NANOS_PER_HOUR,
    }
}

/// A record's fixed place in every ordering: aged effective key, then submission time, then id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) struct PoolKey {
    /// `(deadline − bonus) × 1 h + submitted_at × aging_per_hour`, in ns², see the module doc.
    rank: i128,
    /// `submitted_at` in ns since the epoch.
    submitted: i128,
    /// The record id.
    id: String,
}

impl PoolKey {
    /// The key of `entry` under `config`'s aging.
    pub(super) fn new(entry: &Entry, config: &BalancerConfig) -> PoolKey {
        let aging = i128::try_from(config.aging_per_hour.as_nanos())
            .unwrap_or(MAX_AGING_NANOS)
            .min(MAX_AGING_NANOS);
        let submitted = nanos(entry.submitted_at);
        let rank = (nanos(entry.deadline) - priority_bonus(entry.priority))
            .saturating_mul(NANOS_PER_HOUR)
            .saturating_add(submitted.saturating_mul(aging));
        PoolKey {
            rank,
            submitted,
            id: entry.id.clone(),
        }
    }

    /// The record id.
    pub(super) fn id(&self) -> &str {
        &self.id
    }

    /// A key before every real key with the same first components (for range bounds).
    fn least() -> PoolKey {
        PoolKey {
            rank: i128::MIN,
            submitted: i128::MIN,
            id: String::new(),
        }
    }
}

/// The records of one procedure, by key and by deadline.
#[derive(Debug, Default)]
struct Bucket {
    by_key: BTreeSet<PoolKey>,
    by_deadline: BTreeSet<(i128, PoolKey)>,
}

/// Queued records bucketed by procedure, each bucket ordered by [`PoolKey`].
#[derive(Debug, Default)]
pub(super) struct Pool {
    buckets: BTreeMap<String, Bucket>,
    len: usize,
}

impl Pool {
    /// Adds a record; false if it was already there.
    pub(super) fn insert(
        &mut self,
        procedure: &str,
        deadline: OffsetDateTime,
        key: PoolKey,
    ) -> bool {
        let bucket = self.buckets.entry(procedure.to_owned()).or_default();
        if !bucket.by_key.insert(key.clone()) {
            return false;
        }
        bucket.by_deadline.insert((nanos(deadline), key));
        self.len += 1;
        true
    }

    /// Removes a record; false if it was not there.
    pub(super) fn remove(
        &mut self,
        procedure: &str,
        deadline: OffsetDateTime,
        key: &PoolKey,
    ) -> bool {
        let Some(bucket) = self.buckets.get_mut(procedure) else {
            return false;
        };
        if !bucket.by_key.remove(key) {
            return false;
        }
        bucket.by_deadline.remove(&(nanos(deadline), key.clone()));
        if bucket.by_key.is_empty() {
            self.buckets.remove(procedure);
        }
        self.len -= 1;
        true
    }

    /// How many records.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no record.
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The procedures with at least one record, in code order.
    pub(super) fn procedures(&self) -> impl Iterator<Item = &str> {
        self.buckets.keys().map(String::as_str)
    }

    /// The records of one procedure, best first.
    pub(super) fn ordered(&self, procedure: &str) -> impl Iterator<Item = &PoolKey> {
        self.buckets
            .get(procedure)
            .into_iter()
            .flat_map(|b| b.by_key.iter())
    }

    /// The records of one procedure whose deadline (ns since the epoch) is before `limit`,
    /// earliest deadline first.
    pub(super) fn due_before(
        &self,
        procedure: &str,
        limit: i128,
    ) -> impl Iterator<Item = &PoolKey> {
        self.buckets
            .get(procedure)
            .into_iter()
            .flat_map(move |b| b.by_deadline.range(..(limit, PoolKey::least())))
            .map(|(_, key)| key)
    }

    /// Every record, best first.
    pub(super) fn all_ordered(&self) -> Merge<'_, ()> {
        let mut merge = Merge::default();
        for bucket in self.buckets.values() {
            merge.push((), bucket.by_key.iter());
        }
        merge
    }
}

type Stream<'a> = Peekable<Box<dyn Iterator<Item = &'a PoolKey> + 'a>>;

/// A k-way merge of key-ordered streams, each with a tag saying where its records come from.
/// k is the number of procedures of a ward (tens at most), so picking the least head by a
/// linear scan beats a heap.
pub(super) struct Merge<'a, T> {
    streams: Vec<(T, Stream<'a>)>,
}

impl<T> Default for Merge<'_, T> {
    fn default() -> Self {
        Merge {
            streams: Vec::new(),
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Merge<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.streams.iter().map(|(t, _)| t))
            .finish()
    }
}

impl<'a, T: Clone + PartialEq> Merge<'a, T> {
    /// Adds a stream, which must be in key order.
    pub(super) fn push(&mut self, tag: T, stream: impl Iterator<Item = &'a PoolKey> + 'a) {
        let boxed: Box<dyn Iterator<Item = &'a PoolKey> + 'a> = Box::new(stream);
        self.streams.push((tag, boxed.peekable()));
    }

    /// Drops every stream with this tag (e.g. a procedure the signer ran out of cap for).
    pub(super) fn retire(&mut self, tag: &T) {
        self.streams.retain(|(t, _)| t != tag);
    }
}

impl<'a, T: Clone + PartialEq> Iterator for Merge<'a, T> {
    type Item = (T, &'a PoolKey);

    fn next(&mut self) -> Option<Self::Item> {
        let mut best: Option<(usize, &'a PoolKey)> = None;
        for (i, (_, stream)) in self.streams.iter_mut().enumerate() {
            if let Some(&head) = stream.peek()
                && best.is_none_or(|(_, b)| head < b)
            {
                best = Some((i, head));
            }
        }
        let (i, _) = best?;
        let (tag, stream) = &mut self.streams[i];
        stream.next().map(|key| (tag.clone(), key))
    }
}
