//! The what-if helpers: fewest deputies for a target, and every director away.

use signq_scheduler::balancer::Policy;

use super::{options, shipped};
use crate::simulate::{director_away, fewest_deputies};

#[test]
fn fewest_deputies_stops_at_the_first_count_on_target() {
    // Three times Hạc Thành's load: more than the director alone can sign in a day.
    let mut scenario = shipped("hac-thanh");
    scenario.wards[0].load = 3.0;
    let opts = options(&scenario, Policy::LateBinding);
    let results = fewest_deputies(&scenario, 0.99, 4, &opts).expect("runs");
    for (n, r) in &results {
        println!(
            "hac-thanh with {n} deputies: on time {:.2}%, director share {:.1}%",
            100.0 * r.on_time_rate(),
            100.0 * r.director_share()
        );
    }
    let counts: Vec<usize> = results.iter().map(|(n, _)| *n).collect();
    assert_eq!(counts, (0..counts.len()).collect::<Vec<_>>());
    let (_, first) = &results[0];
    assert!((first.director_share() - 1.0).abs() < 1e-12 || first.signed == 0);
    let (_, last) = results.last().expect("one at least");
    assert!(last.on_time_rate() >= 0.99 || counts.len() == 5);
    assert!(
        results[..results.len() - 1]
            .iter()
            .all(|(_, r)| r.on_time_rate() < 0.99)
    );
}

#[test]
fn a_director_away_all_day_signs_nothing() {
    let scenario = shipped("cat-lai");
    let opts = options(&scenario, Policy::LateBinding);
    let r = director_away(&scenario, 0.0, scenario.duration_secs, &opts).expect("run");
    println!(
        "cat-lai, director away all day: on time {:.2}%, {} unfinished of {}",
        100.0 * r.on_time_rate(),
        r.unfinished,
        r.records
    );
    assert_eq!(r.signed_by_director, 0);
    assert!(r.unfinished > 0, "director-only records wait");
    assert!(director_away(&scenario, 10.0, 5.0, &opts).is_err());
}
