//! The shape of a working day at a ward's one-stop Center (Bộ phận Một cửa), as an arrival rate.
//!
//! **Assumed, not measured**: no public data gives hour-by-hour submissions. The shape follows
//! what the staff of such Centers describe: people queue before opening, so the rate climbs to a
//! morning peak about an hour after opening (roughly twice the day's mean), falls off to a dip
//! before the lunch break, picks up in a smaller afternoon bump, and tapers to the close. Working
//! time is 8 hours, 4 in the morning and 4 in the afternoon (e.g. 7:30–11:30 and 13:00–17:00);
//! the lunch break is not part of it, so hour 4 is both the end of the morning and the start of
//! the afternoon.

/// One working day, seconds of working time (8 h).
pub const WORKING_DAY_SECS: f64 = 28_800.0;

/// The day's shape: `(hour of working time, relative rate)` knots, joined by straight lines.
/// Only the ratios matter; [`super::schedule`] scales the shape to `per_day × surge × load`
/// records a day. The mean over the day is 1.0125, so the 1-hour peak is 1.98× the mean.
pub const WORKING_DAY_SHAPE: [(f64, f64); 9] = [
    (0.0, 0.8), // opening: people were waiting at the door
    (1.0, 2.0), // the morning peak
    (2.0, 1.5),
    (3.0, 1.0),
    (4.0, 0.5), // the dip before lunch / the slow restart after it
    (5.0, 1.1), // the afternoon bump
    (6.0, 0.9),
    (7.0, 0.6),
    (8.0, 0.2), // tapering to the close
];

/// The integral of [`WORKING_DAY_SHAPE`] over the day, in relative rate × hours (trapezoids,
/// which are exact for straight lines).
pub(super) fn shape_integral_hours() -> f64 {
    WORKING_DAY_SHAPE
        .windows(2)
        .map(|w| (w[0].1 + w[1].1) / 2.0 * (w[1].0 - w[0].0))
        .sum()
}

/// The relative rate at `hour` of the working day (0 outside `[0, 8]`).
pub(super) fn shape_at(hour: f64) -> f64 {
    WORKING_DAY_SHAPE
        .windows(2)
        .find(|w| w[0].0 <= hour && hour <= w[1].0)
        .map_or(0.0, |w| {
            let (h0, r0, h1, r1) = (w[0].0, w[0].1, w[1].0, w[1].1);
            r0 + (r1 - r0) * (hour - h0) / (h1 - h0)
        })
}
