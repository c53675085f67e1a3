//! Balancer configuration: which policy routes records to signers, and the knobs of the
//! late-binding pool (lease size, the director's deadline guard, aging) and of least-expected-time.
//!
//! Policies parse from and print as the short names used on the command line, in configuration
//! files and in load-test reports (`late-binding`, `round-robin`, `random`, `jsq`, `let`), so that a
//! report line can be fed back as a flag.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// How records reach signers.
///
/// Late binding is the default: queueing theory says one shared pool served when a signer is
/// ready waits far less than per-signer queues filled at submission. The early-binding policies
/// exist so that load tests can measure that difference on the same traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Policy {
    /// One pool per ward; a signer takes the best records it may sign when it is ready.
    #[default]
    LateBinding,
    /// Early binding: cycle over the ward's eligible signers.
    RoundRobin,
    /// Early binding: an eligible signer uniformly at random (seeded).
    Random,
    /// Early binding: the eligible signer with the fewest queued plus leased records.
    JoinShortestQueue,
    /// Early binding: the eligible signer with the least (queued + leased + 1) × mean service time.
    LeastExpectedTime,
}

impl Policy {
    /// Every policy, the default first (for reports that compare them all).
    pub const ALL: [Policy; 5] = [
        Policy::LateBinding,
        Policy::RoundRobin,
        Policy::Random,
        Policy::JoinShortestQueue,
        Policy::LeastExpectedTime,
    ];

    /// The short name (`late-binding`, `round-robin`, `random`, `jsq`, `let`).
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::LateBinding => "late-binding",
            Policy::RoundRobin => "round-robin",
            Policy::Random => "random",
            Policy::JoinShortestQueue => "jsq",
            Policy::LeastExpectedTime => "let",
        }
    }

    /// Whether the policy picks the signer at submission (every policy but late binding).
    pub fn is_early_binding(self) -> bool {
        self != Policy::LateBinding
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A policy name that [`Policy::from_str`] does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsePolicyError {
    /// The name given.
    pub name: String,
}

impl fmt::Display for ParsePolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown balancing policy {:?} (expected one of: late-binding, round-robin, random, jsq, let)",
            self.name
        )
    }
}

impl std::error::Error for ParsePolicyError {}

impl FromStr for Policy {
    type Err = ParsePolicyError;

    /// Parses the short names of [`Policy::as_str`], case-insensitively; the long forms
    /// `join-shortest-queue` and `least-expected-time` are accepted too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        match name.as_str() {
            "late-binding" => Ok(Policy::LateBinding),
            "round-robin" => Ok(Policy::RoundRobin),
            "random" => Ok(Policy::Random),
            "jsq" | "join-shortest-queue" => Ok(Policy::JoinShortestQueue),
            "let" | "least-expected-time" => Ok(Policy::LeastExpectedTime),
            _ => Err(ParsePolicyError { name: s.to_owned() }),
        }
    }
}

/// How a record's slack (deadline − now) is measured against the director guard.
#[derive(Debug, Clone)]
pub enum Slack {
    /// In working time on each ward's calendar: a Monday-morning deadline is not close on a
    /// Friday night, and nothing escalates over a weekend.
    Working {
        /// The calendar of a ward without its own.
        default: signq_calendar::Calendar,
        /// The wards with their own office hours.
        wards: std::collections::HashMap<String, signq_calendar::Calendar>,
    },
    /// In clock time: as signq measured it before the calendar (the simulator's comparison), and
    /// for load runs on a compressed clock.
    Clock,
}

impl Slack {
    /// Slack in working time on `calendar` for every ward (until a ward gets its own).
    pub fn working(calendar: signq_calendar::Calendar) -> Slack {
        Slack::Working {
            default: calendar,
            wards: std::collections::HashMap::new(),
        }
    }

    /// `ward`'s own calendar, or the default again when `None`. No effect on clock time.
    pub fn set_ward(&mut self, ward: &str, calendar: Option<signq_calendar::Calendar>) {
        if let Slack::Working { wards, .. } = self {
            match calendar {
                Some(calendar) => wards.insert(ward.to_owned(), calendar),
                None => wards.remove(ward),
            };
        }
    }

    /// The instant before which a deadline of `ward` leaves less than `guard` of slack at `now`.
    pub fn limit(
        &self,
        ward: &str,
        now: time::OffsetDateTime,
        guard: Duration,
    ) -> time::OffsetDateTime {
        match self {
            Slack::Working { default, wards } => {
                wards.get(ward).unwrap_or(default).add_working_time(
                    now,
                    time::Duration::try_from(guard).unwrap_or(time::Duration::MAX),
                )
            }
            Slack::Clock => now
                .checked_add(time::Duration::try_from(guard).unwrap_or(time::Duration::MAX))
                .unwrap_or(now),
        }
    }
}

/// The balancer's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalancerConfig {
    /// How records reach signers (default late binding).
    pub policy: Policy,
    /// Records a signer holds at once (default 10).
    pub lease_size: usize,
    /// Slack (deadline − now, measured as [`Slack`] says) below which a deputy-signable record
    /// may go to the director when no deputy can take it (default 2 h).
    pub director_guard: Duration,
    /// How much earlier a waiting record's ordering key moves per hour waited (default 6 min).
    /// Values above 1,000 h per hour are treated as 1,000 h per hour.
    pub aging_per_hour: Duration,
    /// Prior mean signing time per record, for least-expected-time (default 90 s).
    pub mean_service: Duration,
    /// Seed of the random policy (each ward draws from its own stream derived from it).
    pub seed: u64,
}

impl Default for BalancerConfig {
    fn default() -> Self {
        BalancerConfig {
            policy: Policy::LateBinding,
            lease_size: 10,
            director_guard: Duration::from_secs(2 * 3600),
            aging_per_hour: Duration::from_secs(6 * 60),
            mean_service: Duration::from_secs(90),
            seed: 0,
        }
    }
}
