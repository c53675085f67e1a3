//! A ward's backlog over time: how many of its records were waiting for a signature at each of a
//! series of instants (the director's backlog line), from the records' submission and finishing
//! times.
//!
//! Why counted here and not in SQL: one pass over the records open at some point of the window
//! (finished after its first instant, or not yet) counts every instant at once, where SQL would
//! scan them once per instant. The read is served by the index on `(ward, finished_at,
//! submitted_at)` (schema version 12), which also covers it, so no record row is read.

use time::OffsetDateTime;

use super::codec::db_time;
use super::{Sql, values};
use crate::store::StoreError;

/// How many of `ward`'s records were waiting at each of `instants`: submitted at or before it,
/// and not finished (signed, rejected, cancelled) at or before it. One count per instant, in the
/// order given.
pub(crate) fn backlog_at(
    conn: &dyn Sql,
    ward: &str,
    instants: &[OffsetDateTime],
) -> Result<Vec<u32>, StoreError> {
    let at = instants
        .iter()
        .map(|&t| db_time(t, "instant"))
        .collect::<Result<Vec<_>, _>>()?;
    let (Some(&first), Some(&last)) = (at.iter().min(), at.iter().max()) else {
        return Ok(Vec::new());
    };
    // Two ranges of the one index, rather than an OR that a planner may not split.
    let rows = conn.query(
        "reading a ward's backlog",
        "SELECT submitted_at, finished_at FROM records \
         WHERE ward = ?1 AND finished_at IS NULL AND submitted_at <= ?3 \
         UNION ALL SELECT submitted_at, finished_at FROM records \
         WHERE ward = ?1 AND finished_at > ?2 AND submitted_at <= ?3",
        values![ward, first, last],
    )?;
    let mut spans = Vec::with_capacity(rows.len());
    for row in rows {
        spans.push((row.int(0)?, row.opt_int(1)?));
    }
    Ok(count(&spans, &at))
}

/// For each of `at` (unix nanoseconds, any order), how many `(submitted, finished)` spans hold
/// it: `submitted <= t` and no `finished`, or `finished > t`.
fn count(spans: &[(i64, Option<i64>)], at: &[i64]) -> Vec<u32> {
    let mut order: Vec<usize> = (0..at.len()).collect();
    order.sort_by_key(|&i| at[i]);
    let sorted: Vec<i64> = order.iter().map(|&i| at[i]).collect();
    // Each span adds one from the first instant it holds to the first it no longer does.
    let mut steps = vec![0i64; sorted.len() + 1];
    for &(submitted, finished) in spans {
        let from = sorted.partition_point(|&t| t < submitted);
        let to = finished.map_or(sorted.len(), |f| sorted.partition_point(|&t| t < f));
        if from < to {
            steps[from] += 1;
            steps[to] -= 1;
        }
    }
    let mut counts = vec![0u32; at.len()];
    let mut running = 0i64;
    for (k, &i) in order.iter().enumerate() {
        running += steps[k];
        counts[i] = u32::try_from(running).unwrap_or(u32::MAX);
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn a_span_holds_from_its_submission_up_to_but_not_at_its_finish() {
        let at = [0, 10, 20, 30, 40];
        // Submitted at 10, finished at 30: waiting at 10 and 20, not at 30.
        assert_eq!(count(&[(10, Some(30))], &at), [0, 1, 1, 0, 0]);
        // Still open: waiting from its submission on.
        assert_eq!(count(&[(15, None)], &at), [0, 0, 1, 1, 1]);
        // Before the window and after it.
        assert_eq!(count(&[(-5, None), (41, None)], &at), [1, 1, 1, 1, 1]);
        // Finished between two instants, never seen waiting.
        assert_eq!(count(&[(11, Some(19))], &at), [0, 0, 0, 0, 0]);
    }

    #[test]
    fn spans_add_up_and_instants_keep_their_order() {
        let spans = [(0, Some(20)), (5, None), (10, Some(40)), (35, Some(36))];
        assert_eq!(count(&spans, &[0, 10, 20, 30, 40]), [1, 3, 2, 2, 1]);
        assert_eq!(count(&spans, &[40, 0, 20]), [1, 1, 2]);
        assert!(count(&spans, &[]).is_empty());
    }
}
