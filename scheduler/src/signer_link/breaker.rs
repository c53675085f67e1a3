//! A circuit breaker for the signing service: after a few calls in a row that got no answer
//! (unreachable, or past their deadline), calls fail at once for a while instead of each waiting
//! out its deadline; then one trial call goes through, and its answer closes the circuit again or
//! opens it for longer.
//!
//! Time is tokio's, so that the engine's tests run it under paused time.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// When the circuit opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    /// Calls in a row without an answer that open the circuit.
    pub failures_to_open: u32,
    /// How long the circuit first stays open; each failed trial doubles it, up to `max_open`.
    pub open_for: Duration,
    /// The longest the circuit stays open before a trial.
    pub max_open: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        BreakerSettings {
            failures_to_open: 3,
            open_for: Duration::from_secs(2),
            max_open: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Calls go through; `failures` in a row so far.
    Closed { failures: u32 },
    /// Calls fail at once until `until`; the next opening lasts `next`.
    Open { until: Instant, next: Duration },
    /// One trial call is out (since `since`); others fail at once.
    Trial { since: Instant, next: Duration },
}

/// The breaker. Cheap to consult: one mutex, no allocation.
#[derive(Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    /// A trial that neither succeeded nor failed within this long (its caller went away) lets
    /// another trial through.
    trial_timeout: Duration,
    state: Mutex<State>,
}

/// Whether a call may go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Yes.
    Go,
    /// No: the signing service has not answered lately; retry after this long.
    Refused(Duration),
}

impl Breaker {
    /// A closed breaker; `trial_timeout` is the longest a call may take (its deadline).
    pub fn new(settings: BreakerSettings, trial_timeout: Duration) -> Breaker {
        Breaker {
            settings,
            trial_timeout,
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks to make a call now.
    pub fn admit(&self) -> Admission {
        let now = Instant::now();
        let mut state = self.state();
        match *state {
            State::Closed { .. } => Admission::Go,
            State::Open { until, next } if now >= until => {
                *state = State::Trial { since: now, next };
                Admission::Go
            }
            State::Open { until, .. } => Admission::Refused(until - now),
            State::Trial { since, next } if now >= since + self.trial_timeout => {
                *state = State::Trial { since: now, next };
                Admission::Go
            }
            State::Trial { since, .. } => Admission::Refused(since + self.trial_timeout - now),
        }
    }

    /// The call got an answer (even a refusal): the service is there.
    pub fn answered(&self) {
        *self.state() = State::Closed { failures: 0 };
    }

    /// The call got no answer. Returns true if this opened the circuit.
    pub fn unanswered(&self) -> bool {
        let now = Instant::now();
        let s = self.settings;
        let mut state = self.state();
        let (opened, new) = match *state {
            State::Closed { failures } if failures + 1 >= s.failures_to_open => (
                true,
                State::Open {
                    until: now + s.open_for,
                    next: (s.open_for * 2).min(s.max_open),
                },
            ),
            State::Closed { failures } => (
                false,
                State::Closed {
                    failures: failures + 1,
                },
            ),
            State::Trial { next, .. } => (
                true,
                State::Open {
                    until: now + next,
                    next: (next * 2).min(s.max_open),
                },
            ),
            // A call admitted before the circuit opened, failing late: the circuit stays as it is.
            open @ State::Open { .. } => (false, open),
        };
        *state = new;
        opened
    }

    /// Whether calls are being refused now.
    pub fn is_open(&self) -> bool {
        !matches!(*self.state(), State::Closed { .. })
    }

    /// While calls are refused, how long until the next may go out.
    pub fn retry_hint(&self) -> Option<Duration> {
        let now = Instant::now();
        match *self.state() {
            State::Closed { .. } => None,
            State::Open { until, .. } => Some(until.saturating_duration_since(now)),
            State::Trial { since, .. } => {
                Some((since + self.trial_timeout).saturating_duration_since(now))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breaker() -> Breaker {
        Breaker::new(BreakerSettings::default(), Duration::from_secs(10))
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_failures_in_a_row_and_closes_on_an_answer() {
        let b = breaker();
        assert!(!b.unanswered());
        b.answered();
        // An answer in between starts the count again.
        assert!(!b.unanswered());
        assert!(!b.unanswered());
        assert_eq!(b.admit(), Admission::Go);
        assert!(b.unanswered(), "the third failure in a row opens it");
        assert_eq!(b.admit(), Admission::Refused(Duration::from_secs(2)));
        tokio::time::advance(Duration::from_millis(1500)).await;
        assert_eq!(b.admit(), Admission::Refused(Duration::from_millis(500)));
        tokio::time::advance(Duration::from_millis(500)).await;
        // One trial goes out; others wait for it.
        assert_eq!(b.admit(), Admission::Go);
        assert!(matches!(b.admit(), Admission::Refused(_)));
        b.answered();
        assert!(!b.is_open());
        assert_eq!(b.admit(), Admission::Go);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_trial_opens_it_for_longer_up_to_the_limit() {
        let b = breaker();
        for _ in 0..3 {
            b.unanswered();
        }
        let mut open_for = Vec::new();
        for _ in 0..6 {
            let Admission::Refused(wait) = b.admit() else {
                panic!("open");
            };
            open_for.push(wait.as_secs());
            tokio::time::advance(wait).await;
            assert_eq!(b.admit(), Admission::Go);
            assert!(b.unanswered(), "a failed trial opens the circuit again");
        }
        assert_eq!(open_for, [2, 4, 8, 16, 30, 30]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_trial_whose_caller_went_away_lets_another_through() {
        let b = breaker();
        for _ in 0..3 {
            b.unanswered();
        }
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(b.admit(), Admission::Go);
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(b.admit(), Admission::Go);
    }
}
