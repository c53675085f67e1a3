//! Arrival rates as piecewise-linear profiles, and the thinning generator that draws a
//! non-homogeneous Poisson process from them.
//!
//! Thinning (P. A. W. Lewis & G. S. Shedler, *Simulation of nonhomogeneous Poisson processes by
//! thinning*, Naval Research Logistics Quarterly 26(3), 1979): draw candidates from a homogeneous
//! Poisson process at a rate `λ̄ ≥ λ(t)` and keep each with probability `λ(t)/λ̄`. Here `λ̄` is
//! the maximum of `λ` over each linear piece rather than over the whole run (the same algorithm
//! with a piecewise-constant bound; it rejects less), and a piece with a flat rate keeps every
//! candidate, which makes it an ordinary Poisson process.

use rand::Rng;

use super::MAX_ARRIVALS;
use super::working_day::{WORKING_DAY_SECS, WORKING_DAY_SHAPE, shape_at, shape_integral_hours};

/// The most candidate times the generator draws, whatever the rates: with the per-piece bounds it
/// draws fewer than about twice the arrivals, so only a schedule far beyond [`MAX_ARRIVALS`]
/// reaches this.
const MAX_DRAWS: usize = 4 * MAX_ARRIVALS;

/// A straight piece of rate: from `r0` at `start` to `r1` at `end` (per second).
#[derive(Debug, Clone, Copy)]
pub(super) struct Piece {
    pub(super) start: f64,
    pub(super) end: f64,
    pub(super) r0: f64,
    pub(super) r1: f64,
}

impl Piece {
    fn rate(&self, t: f64) -> f64 {
        if self.r0 == self.r1 {
            self.r0
        } else {
            self.r0 + (self.r1 - self.r0) * (t - self.start) / (self.end - self.start)
        }
    }

    fn integral(&self) -> f64 {
        (self.r0 + self.r1) / 2.0 * (self.end - self.start)
    }

    /// The piece cut at `limit` (None when it starts there or later).
    fn clipped(self, limit: f64) -> Option<Piece> {
        if self.start >= limit {
            None
        } else if self.end <= limit {
            Some(self)
        } else {
            Some(Piece {
                end: limit,
                r1: self.rate(limit),
                ..self
            })
        }
    }
}

/// The rate of a whole run, per second, over `[0, duration)`.
#[derive(Debug, Clone)]
pub(super) enum Profile {
    /// Straight pieces in time order (no overlaps; gaps have rate 0).
    Pieces(Vec<Piece>),
    /// [`WORKING_DAY_SHAPE`] times `scale` (per second), repeated every working day.
    WorkingDay { scale: f64, duration: f64 },
}

impl Profile {
    /// A working day's profile with `per_day` records expected per full day.
    pub(super) fn working_day(per_day: f64, duration: f64) -> Profile {
        let scale = per_day / (shape_integral_hours() * 3600.0);
        Profile::WorkingDay { scale, duration }
    }

    /// The rate at `t` (0 outside the run).
    pub(super) fn rate(&self, t: f64) -> f64 {
        match self {
            Profile::Pieces(pieces) => {
                let after = pieces.partition_point(|p| p.start <= t);
                after
                    .checked_sub(1)
                    .and_then(|i| pieces.get(i))
                    .filter(|p| t < p.end)
                    .map_or(0.0, |p| p.rate(t))
            }
            Profile::WorkingDay { scale, duration } => {
                if (0.0..*duration).contains(&t) {
                    scale * shape_at(t.rem_euclid(WORKING_DAY_SECS) / 3600.0)
                } else {
                    0.0
                }
            }
        }
    }

    /// The expected number of arrivals: the integral of the rate over the run.
    pub(super) fn expected(&self) -> f64 {
        match self {
            Profile::Pieces(pieces) => pieces.iter().map(Piece::integral).sum(),
            Profile::WorkingDay { scale, duration } => {
                let full_days = (duration / WORKING_DAY_SECS).floor();
                let per_day = scale * shape_integral_hours() * 3600.0;
                let rest = duration - full_days * WORKING_DAY_SECS;
                let partial: f64 = day_pieces(*scale, 0.0)
                    .filter_map(|p| p.clipped(rest))
                    .map(|p| p.integral())
                    .sum();
                full_days * per_day + partial
            }
        }
    }

    /// The pieces in time order, lazily (a working-day run has ten a day).
    fn pieces(&self) -> Box<dyn Iterator<Item = Piece> + '_> {
        match self {
            Profile::Pieces(pieces) => Box::new(pieces.iter().copied()),
            Profile::WorkingDay { scale, duration } => {
                let (scale, duration) = (*scale, *duration);
                Box::new(
                    (0_u64..)
                        .map(move |day| day as f64 * WORKING_DAY_SECS)
                        .take_while(move |offset| *offset < duration)
                        .flat_map(move |offset| day_pieces(scale, offset))
                        .map_while(move |p| p.clipped(duration)),
                )
            }
        }
    }

    /// Arrival times by thinning, in order; stops at [`MAX_ARRIVALS`] arrivals or
    /// [`MAX_DRAWS`] candidates, so the result is a prefix of the unbounded schedule.
    pub(super) fn thin(&self, rng: &mut impl Rng) -> Vec<f64> {
        let mut out = Vec::new();
        let mut draws = 0_usize;
        for piece in self.pieces() {
            let bound = piece.r0.max(piece.r1);
            if bound.is_nan() || bound <= 0.0 {
                continue;
            }
            let flat = piece.r0 == piece.r1;
            let mut t = piece.start;
            loop {
                if out.len() >= MAX_ARRIVALS || draws >= MAX_DRAWS {
                    return out;
                }
                draws += 1;
                // Exponential gap by inversion; 1 − U is in (0, 1], so the log is finite.
                t -= (1.0 - rng.random::<f64>()).ln() / bound;
                if t >= piece.end {
                    break; // memoryless: the next piece starts afresh at its own start
                }
                if flat || rng.random::<f64>() * bound < piece.rate(t) {
                    out.push(t);
                }
            }
        }
        out
    }
}

/// The working day's straight pieces, starting at `offset` seconds.
fn day_pieces(scale: f64, offset: f64) -> impl Iterator<Item = Piece> {
    WORKING_DAY_SHAPE.windows(2).map(move |w| Piece {
        start: offset + w[0].0 * 3600.0,
        end: offset + w[1].0 * 3600.0,
        r0: scale * w[0].1,
        r1: scale * w[1].1,
    })
}
