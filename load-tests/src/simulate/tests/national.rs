//! The national day: 3,321 wards of ~100 records each, one working day, on one core. Ignored in
//! the normal run; `cargo test --release -p signq-load-tests simulate -- --ignored --nocapture`.

use signq_scheduler::balancer::Policy;

use crate::scenario::Scenario;
use crate::simulate::{SimOptions, run};

/// Every commune and ward of Vietnam as a Cát Lái (`scenarios/national.toml`), with one deputy's
/// connection dropping for two minutes about every hour, so that the whole event path is timed.
const NATIONAL: &str = r#"
    name = "national-day"
    seed = 3321
    duration_secs = 28800
    lease_size = 5
    arrivals = { kind = "working-day", per_day = 100 }
    procedures = [
      { code = "CT-BS", weight = 30 }, { code = "CT-CK", weight = 10 },
      { code = "CT-HD", weight = 6 }, { code = "HT-KS", weight = 14 },
      { code = "HT-KT", weight = 4 }, { code = "HT-KH", weight = 6 },
      { code = "HT-XNHN", weight = 8 }, { code = "HT-TDCC", weight = 4 },
      { code = "KD-HKD", weight = 9 }, { code = "DD-BD", weight = 9 },
    ]
    [[wards]]
    id = "vn"
    count = 3321
    [[wards.signers]]
    id = "director"
    role = "director"
    service = { dist = "lognormal", mean_secs = 90, sd_secs = 45 }
    batch = 10
    away = [[3600, 10800]]
    [[wards.signers]]
    id = "deputy-1"
    role = "deputy"
    procedures = ["CT-BS", "CT-CK", "CT-HD", "KD-HKD"]
    service = { dist = "lognormal", mean_secs = 120, sd_secs = 60 }
    batch = 5
    [[wards.signers]]
    id = "deputy-2"
    role = "deputy"
    procedures = ["HT-KS", "HT-KT", "HT-KH", "HT-XNHN", "HT-TDCC"]
    service = { dist = "lognormal", mean_secs = 120, sd_secs = 60 }
    batch = 5
    disconnect_every_secs = 3600
    reconnect_after_secs = 120
"#;

#[test]
#[ignore = "a national day: run in release"]
fn national_day_runs_in_well_under_a_minute() {
    let scenario = Scenario::parse(NATIONAL, "national").expect("scenario");
    for policy in [Policy::LateBinding, Policy::RoundRobin] {
        let options = SimOptions {
            policy,
            seed: scenario.seed,
            progress: true,
            ..SimOptions::default()
        };
        let r = run(&scenario, &options).expect("run");
        let peak = r
            .peak_rss_bytes
            .map_or(f64::NAN, |b| b as f64 / 1_048_576.0);
        println!(
            "national day {:13}: {} wards, {} records, {} signed, on time {:.3}%, director share {:.1}%, expiries {}, wall {:.2} s, peak RSS {peak:.0} MiB, worst ward {:?}",
            r.policy,
            3321,
            r.records,
            r.signed,
            100.0 * r.on_time_rate(),
            100.0 * r.director_share(),
            r.lease_expiries,
            r.wall_secs,
            r.per_ward_worst.first(),
        );
        assert!(r.records > 300_000);
        assert_eq!(r.out_of_scope, 0);
    }
}
