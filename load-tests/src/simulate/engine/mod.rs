//! The event loop: the real [`Balancer`] driven under virtual time by people at tablets.
//!
//! # A signer, as simulated
//! When online, present and idle, a signer asks the balancer for as many records as its lease
//! room allows, then signs up to `batch` of the records it holds; the batch takes the sum of the
//! records' service times, after which every record of it is signed (`note_signed`) and the
//! signer asks again at once. A signer with nothing to take waits until something changes in its
//! ward: an arrival, a release, another signer leaving or coming back, or a record's slack
//! reaching the director guard (the scheduler's engine re-offers work on a 15-second tick; here
//! the exact instant is an event, so nothing waits for a tick).
//!
//! - **Away:** the balancer is told, leased records not yet being signed go back at once, and a
//!   batch in hand is finished.
//! - **Connection drops:** the signer is offline for `reconnect_after_secs`; a batch that ends
//!   meanwhile completes when the connection is back (the tablet retries safely); records held
//!   but not started expire at the lease timeout and go back (counted).
//!
//! Ward signers are offered work in the scheduler engine's order: deputies by id, then the
//! director.
//!
//! # Files
//! - `mod.rs`: the state, the loop, arrivals and wake-ups;
//! - `signing.rs`: taking leases, batches, signatures, expiries;
//! - `presence.rs`: away periods and dropped connections.

mod presence;
mod signing;

use std::sync::Arc;
use std::time::Duration;

use super::SimOptions;
use super::error::{SimError, invalid};
use super::event::{Kind, Queue};
use super::stats::Stats;
use super::trace::Schedule;
use super::world::{State, World};
use crate::dates::{Counting, Deadlines, Timeline};
use crate::scenario::Scenario;
use indicatif::{ProgressBar, ProgressStyle};
use signq_scheduler::balancer::{Balancer, BalancerConfig, Entry, Slack};
use signq_scheduler::model::Priority;

/// One simulation in progress.
#[derive(Debug)]
pub(super) struct Sim {
    balancer: Balancer,
    /// Virtual seconds (working time) as dates.
    timeline: Arc<Timeline>,
    pub(super) world: World,
    queue: Queue,
    pub(super) stats: Stats,
    duration: f64,
    lease_size: usize,
    lease_timeout: f64,
    guard: f64,
    sample_every: f64,
    /// Records with the balancer and not leased (what `pool_depth` sums to over the wards).
    queued: u64,
    /// Whether records may reach the director by the deadline guard (late binding only).
    guarded: bool,
    /// Records granted by the current `take` (reused, to avoid an allocation per take).
    granted: Vec<u32>,
    bar: ProgressBar,
}

/// The balancer's id of record `r`.
fn record_id(r: u32) -> String {
    r.to_string()
}

impl Sim {
    /// A simulation of `scenario` ready to run: world built, balancer told, first events queued.
    pub(super) fn new(
        scenario: &Scenario,
        options: &SimOptions,
        schedule: Schedule,
    ) -> Result<Sim, SimError> {
        scenario.validate()?;
        options.check(scenario.duration_secs)?;
        let guard = scenario.director_guard_secs;
        let director_guard = Duration::try_from_secs_f64(guard)
            .map_err(|_| invalid("director_guard_secs", "must be a non-negative number"))?;
        let timeline = Arc::new(scenario.timeline()?);
        let deadlines = Deadlines::new(timeline.clone(), scenario.limits()?, options.counting);
        let world = World::build(scenario, options.seed, &timeline, deadlines, schedule)?;
        // Slack as the scheduler measures it: in working time, or in clock time as before the
        // calendar when the run counts deadlines in clock hours.
        let slack = match options.counting {
            Counting::Calendar => Slack::working(timeline.calendar().clone()),
            Counting::ClockHours => Slack::Clock,
        };
        let mut balancer = Balancer::new(
            BalancerConfig {
                policy: options.policy,
                lease_size: scenario.lease_size,
                director_guard,
                seed: options.seed,
                ..BalancerConfig::default()
            },
            slack,
        );
        world.register(&mut balancer);
        let bar = if options.progress {
            let bar = ProgressBar::new(scenario.duration_secs.ceil() as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "{msg} [{elapsed_precise}] {wide_bar} {pos}/{len} virtual s",
            ) {
                bar.set_style(style);
            }
            bar.set_message(format!("{} {}", scenario.name, options.policy));
            bar
        } else {
            ProgressBar::hidden()
        };
        let mut sim = Sim {
            stats: Stats::new(world.wards.len())?,
            balancer,
            timeline,
            world,
            queue: Queue::default(),
            duration: scenario.duration_secs,
            lease_size: scenario.lease_size,
            lease_timeout: options.lease_timeout_secs,
            guard,
            sample_every: options.sample_every_secs,
            queued: 0,
            guarded: !options.policy.is_early_binding(),
            granted: Vec::new(),
            bar,
        };
        sim.schedule_start();
        Ok(sim)
    }

    /// The first events: the end, samples, day openings, each ward's first arrival, away periods and
    /// first connection drops.
    fn schedule_start(&mut self) {
        self.queue.push(self.duration, Kind::End);
        self.queue.push(0.0, Kind::Sample);
        for day in self.timeline.day_starts(self.duration) {
            self.queue.push(day, Kind::DayReset);
        }
        for (w, ward) in self.world.wards.iter().enumerate() {
            if let Some(first) = self.world.records.get(ward.next as usize)
                && ward.next < ward.end
            {
                self.queue
                    .push(first.fact.at, Kind::Arrival { ward: w as u32 });
            }
        }
        for (s, signer) in self.world.signers.iter_mut().enumerate() {
            let s = s as u32;
            for &(from, to) in &signer.away_periods {
                if from < self.duration {
                    self.queue
                        .push(from.max(0.0), Kind::AwayStart { signer: s });
                    self.queue.push(to.max(0.0), Kind::AwayEnd { signer: s });
                }
            }
            if let Some(drops) = &mut signer.drops {
                self.queue
                    .push(drops.next_gap(), Kind::Disconnect { signer: s });
            }
        }
    }

    /// Runs every event up to the end.
    pub(super) fn run(&mut self) {
        while let Some(event) = self.queue.pop() {
            let t = event.time;
            match event.kind {
                Kind::End => {
                    if self
                        .stats
                        .pool_depth
                        .last()
                        .is_none_or(|(last, _)| *last < t)
                    {
                        self.stats.sample(t, self.queued);
                    }
                    break;
                }
                Kind::Arrival { ward } => self.arrive(ward, t),
                Kind::GuardDue { record } => {
                    if let Some(r) = self.world.records.get(record as usize)
                        && r.state == State::Queued
                    {
                        self.wake_ward(r.ward, t);
                    }
                }
                Kind::BatchDone { signer } => self.batch_done(signer, t),
                Kind::LeaseExpiry { record, lease } => self.expire(record, lease, t),
                Kind::AwayStart { signer } => self.away_start(signer, t),
                Kind::AwayEnd { signer } => self.away_end(signer, t),
                Kind::Disconnect { signer } => self.disconnect(signer, t),
                Kind::Reconnect { signer } => self.reconnect(signer, t),
                Kind::Sample => {
                    self.stats.sample(t, self.queued);
                    self.bar.set_position(t as u64);
                    let next = t + self.sample_every;
                    if next < self.duration {
                        self.queue.push(next, Kind::Sample);
                    }
                }
                Kind::DayReset => self.balancer.reset_day(),
            }
        }
        self.bar.finish_and_clear();
    }

    /// The ward's next record arrives: into the balancer, and the ward's signers hear of it.
    fn arrive(&mut self, ward: u32, t: f64) {
        let Some(w) = self.world.wards.get_mut(ward as usize) else {
            return;
        };
        let r = w.next;
        if r >= w.end {
            return;
        }
        w.next += 1;
        if w.next < w.end
            && let Some(next) = self.world.records.get(w.next as usize)
        {
            self.queue.push(next.fact.at, Kind::Arrival { ward });
        }
        let Some(record) = self.world.records.get_mut(r as usize) else {
            return;
        };
        record.state = State::Queued;
        let fact = record.fact;
        let procedure = self
            .world
            .mix
            .codes
            .get(usize::from(fact.procedure))
            .cloned()
            .unwrap_or_default();
        let entry = Entry {
            id: record_id(r),
            ward: w.id.clone(),
            procedure,
            priority: Priority::Normal,
            deadline: self.timeline.instant(fact.deadline),
            submitted_at: self.timeline.instant(t),
            stage: signq_scheduler::model::Stage::Person,
        };
        self.balancer.enqueue(entry, self.timeline.instant(t));
        self.queued += 1;
        self.stats.arrived(ward, &fact);
        // Just past the instant its slack reaches the guard (the balancer's test is strict), if
        // a deputy may sign it: the director takes director-only records at any wake-up.
        let due = fact.deadline - self.guard + 1e-3;
        if self.guarded
            && due > t
            && due < self.duration
            && w.deputy_scope
                .get(usize::from(fact.procedure))
                .copied()
                .unwrap_or(false)
        {
            self.queue.push(due, Kind::GuardDue { record: r });
        }
        self.wake_ward(ward, t);
    }

    /// Offers work to every ready signer of the ward, deputies first.
    fn wake_ward(&mut self, ward: u32, t: f64) {
        let n = self
            .world
            .wards
            .get(ward as usize)
            .map_or(0, |w| w.signers.len());
        for i in 0..n {
            let signer = self
                .world
                .wards
                .get(ward as usize)
                .and_then(|w| w.signers.get(i).copied());
            if let Some(s) = signer {
                self.try_start(s, t);
            }
        }
    }

    /// Records queued across wards as the balancer counts them (tests check it against ours).
    #[cfg(test)]
    pub(super) fn balancer_queued(&self) -> (u64, u64) {
        let theirs: usize = self
            .world
            .wards
            .iter()
            .map(|w| self.balancer.pool_depth(&w.id))
            .sum();
        (self.queued, theirs as u64)
    }
}
