//! End-to-end tests of the report writer on synthetic data with known answers.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

use super::font::FontStatus;
use super::plot::Look;
use super::*;

/// A directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "signq-report-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn histogram(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new_with_bounds(1, 24 * 3_600_000, 3).unwrap();
    for v in values {
        h.record(v).unwrap();
    }
    h
}

/// Two policies with known numbers, and yardstick points for both.
fn synthetic() -> Report {
    let run = |policy: &str, scale: u64, on_time: u64, by_director: u64, share_end: f64| {
        PolicyRun {
            policy: policy.to_owned(),
            records: 1000,
            signed: 960,
            unfinished: 40,
            on_time,
            on_time_legal: on_time,
            signed_by_director: by_director,
            escalations: 12,
            lease_expiries: 3,
            rate_limited: 7,
            // 1..=1000 seconds: median 500 s, in milliseconds.
            wait_to_lease: histogram((1..=1000).map(|s| s * scale)),
            wait_to_signed: histogram((1..=1000).map(|s| s * scale * 2)),
            pool_depth: (0..=120)
                .map(|m| {
                    let t = f64::from(m) * 60.0;
                    let d =
                        (40.0 * (f64::from(m) / 20.0).sin().abs() * scale as f64 / 1000.0) as u64;
                    (t, d)
                })
                .collect(),
            director_share_over_time: (1..=120)
                .map(|m| {
                    (
                        f64::from(m) * 60.0,
                        share_end * (1.0 - (-f64::from(m) / 30.0).exp()),
                    )
                })
                .collect(),
        }
    };
    let yardstick = [0.5, 0.7, 0.8, 0.9]
        .into_iter()
        .flat_map(|u: f64| {
            let predicted = 60.0 * u / (1.0 - u);
            [("cân bằng tải", 1.02), ("round-robin", 1.25)].map(|(policy, f)| YardstickPoint {
                utilisation: u,
                measured_mean_secs: predicted * f,
                ci_low_secs: predicted * f * 0.9,
                ci_high_secs: predicted * f * 1.1,
                predicted_mean_secs: predicted,
                policy: policy.to_owned(),
                p50_secs: predicted * 0.7,
                p90_secs: predicted * 2.3,
                p99_secs: predicted * 4.6 * f,
                predicted_p90_secs: Some(predicted * 2.3),
                predicted_p99_secs: Some(predicted * 4.6),
            })
        })
        .collect();
    Report {
        title: "Phường Cát Lái: hàng đợi ký số".to_owned(),
        scenario: "cat-lai".to_owned(),
        description: "Synthetic data with known answers.".to_owned(),
        seed: 42,
        source: "simulated".to_owned(),
        runs: vec![
            run("cân bằng tải", 1000, 875, 240, 0.25),
            run("round-robin", 1500, 625, 480, 0.5),
        ],
        yardstick,
        notes: vec!["Ghi chú: synthetic.".to_owned()],
        commands: vec!["signq simulate --scenario cat-lai --seed 42".to_owned()],
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

const PLOTS: [&str; 5] = [
    "wait-vs-utilisation",
    "pool-depth",
    "director-share",
    "director-share-by-policy",
    "wait-percentiles",
];

#[test]
fn report_writes_every_file() {
    let tmp = TempDir::new("full");
    let report = synthetic();
    let written = report.write(&tmp.0).unwrap();

    let stems = ["can-bang-tai", "round-robin"];
    let mut expected: Vec<PathBuf> = vec![tmp.0.join(SUMMARY_MD), tmp.0.join(SUMMARY_JSON)];
    for stem in stems {
        expected.push(tmp.0.join(format!("{stem}-wait-to-lease.hgrm")));
        expected.push(tmp.0.join(format!("{stem}-wait-to-signed.hgrm")));
    }
    for plot in PLOTS {
        expected.push(tmp.0.join(format!("{plot}.svg")));
        expected.push(tmp.0.join(format!("{plot}.png")));
    }
    for path in &expected {
        assert!(
            written.files.contains(path),
            "not listed: {}",
            path.display()
        );
        let len = std::fs::metadata(path).unwrap().len();
        assert!(len > 0, "empty: {}", path.display());
    }
    assert_eq!(written.files.len(), expected.len());

    // Markdown: the on-time % and director share put in (875/1000, 240/960; 625/1000, 480/960).
    let md = read(&tmp.0.join(SUMMARY_MD));
    assert!(md.starts_with("# Phường Cát Lái: hàng đợi ký số\n"));
    assert!(
        md.contains("| cân bằng tải | 1000 | 960 | 87.5 % | 25.0 % |"),
        "{md}"
    );
    assert!(
        md.contains("| round-robin | 1000 | 960 | 62.5 % | 50.0 % |"),
        "{md}"
    );
    assert!(md.contains("| On time | 87.5 % (875 records) |"));
    assert!(md.contains("| Director share | 25.0 % (240 records) |"));
    // p50 of 1..=1000 s is 500 s = 8.3 min; max 1000 s = 16.7 min.
    assert!(md.contains("| Submit→lease p50 | 8.3 min |"), "{md}");
    assert!(md.contains("| Submit→lease max | 16.7 min |"), "{md}");
    assert!(md.contains("signq simulate --scenario cat-lai --seed 42"));
    assert!(md.contains("- Ghi chú: synthetic."));
    assert!(md.contains("## Against queueing theory (Erlang C)"));
    // u = 0.5: predicted 60 s, measured 61.2 s: ratio 1.020, within; round-robin 1.250, not.
    assert!(
        md.contains(
            "| 0.500 | cân bằng tải | 1.0 min (55.1 s – 1.1 min) | 1.0 min | 1.020 | yes |"
        ),
        "{md}"
    );
    assert!(md.contains("| 1.250 | no |"));
    for plot in PLOTS {
        assert!(md.contains(&format!("({plot}.svg)")), "no link to {plot}");
    }

    // JSON: parses back with the numbers.
    let json: Summary = serde_json::from_str(&read(&tmp.0.join(SUMMARY_JSON))).unwrap();
    assert_eq!(json.seed, 42);
    assert_eq!(json.runs.len(), 2);
    let a = &json.runs[0];
    assert_eq!(a.policy, "cân bằng tải");
    assert_eq!(
        (a.records, a.signed, a.on_time, a.signed_by_director),
        (1000, 960, 875, 240)
    );
    assert_eq!(a.on_time_pct, Some(87.5));
    assert_eq!(a.director_share_pct, Some(25.0));
    assert_eq!(a.wait_to_lease.count, 1000);
    let p50 = a.wait_to_lease.p50_ms.unwrap();
    assert!(p50.abs_diff(500_000) <= 500, "p50 {p50}");
    assert_eq!(a.wait_to_lease.percentiles.len(), SUMMARY_PERCENTILES.len());
    assert_eq!(a.wait_to_lease.hgrm, "can-bang-tai-wait-to-lease.hgrm");
    assert_eq!(json.runs[1].director_share_pct, Some(50.0));
    assert_eq!(json.yardstick.len(), 8);
    assert_eq!(json.yardstick[0].within_tolerance, Some(true));
    assert_eq!(json.yardstick[1].within_tolerance, Some(false));
    assert!((json.yardstick[1].ratio.unwrap() - 1.25).abs() < 1e-9);
    assert_eq!(json.plots.len(), PLOTS.len());
    let raw: serde_json::Value = serde_json::from_str(&read(&tmp.0.join(SUMMARY_JSON))).unwrap();
    assert_eq!(
        raw["runs"][0]["wait_to_lease"]["p99_ms"],
        serde_json::json!(a.wait_to_lease.p99_ms)
    );
    assert_eq!(raw["yardstick"][0]["utilisation"], serde_json::json!(0.5));

    // .hgrm: header, median row with the right value, footer.
    let h = &report.runs[0].wait_to_lease;
    let hgrm = read(&tmp.0.join("can-bang-tai-wait-to-lease.hgrm"));
    let mut lines = hgrm.lines();
    assert_eq!(
        lines.next(),
        Some("       Value     Percentile TotalCount 1/(1-Percentile)")
    );
    let median = hgrm
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let q: f64 = cols.get(1)?.parse().ok()?;
            let v: f64 = cols.first()?.parse().ok()?;
            ((q - 0.5).abs() < 1e-12).then_some(v)
        })
        .next()
        .unwrap();
    assert!(h.equivalent(median as u64, 500_000), "median row {median}");
    assert!(hgrm.contains("#[Mean    = "));
    assert!(hgrm.contains(", Total count    =         1000]"));
    assert!(hgrm.trim_end().ends_with("SubBuckets     =         2048]"));

    // SVG: an svg element naming the policies; PNG: the signature.
    for plot in PLOTS {
        let svg = read(&tmp.0.join(format!("{plot}.svg")));
        assert!(svg.contains("<svg"), "{plot}");
        assert!(svg.contains("</svg>"), "{plot}");
        assert!(svg.contains("round-robin"), "{plot} lacks a policy name");
        assert!(svg.contains("cân bằng tải"), "{plot} lacks a policy name");
        let png = std::fs::read(tmp.0.join(format!("{plot}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{plot}");
    }
}

#[test]
fn charts_without_a_font_are_drawn_without_text() {
    let tmp = TempDir::new("nofont");
    let missing = FontStatus::Missing("no font here".to_owned());
    let written = synthetic()
        .write_with(&tmp.0, Look { text: false }, &missing)
        .unwrap();
    for plot in PLOTS {
        let png = std::fs::read(tmp.0.join(format!("{plot}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{plot}");
        let svg = read(&tmp.0.join(format!("{plot}.svg")));
        assert!(!svg.contains("<text"), "{plot} drew text without a font");
        assert!(
            svg.contains("round-robin"),
            "{plot}: the <desc> names the policies"
        );
    }
    let md = read(&tmp.0.join(SUMMARY_MD));
    assert!(md.contains("without captions, axis labels or legends: no font here"));
    assert_eq!(written.files.len(), 2 + 4 + 2 * PLOTS.len());
}

#[test]
fn empty_report_writes_what_makes_sense() {
    let tmp = TempDir::new("empty");
    let report = Report {
        title: String::new(),
        scenario: String::new(),
        description: String::new(),
        seed: 0,
        source: "simulated".to_owned(),
        runs: Vec::new(),
        yardstick: Vec::new(),
        notes: Vec::new(),
        commands: Vec::new(),
    };
    let written = report.write(&tmp.0).unwrap();
    assert_eq!(
        written.files,
        vec![tmp.0.join(SUMMARY_JSON), tmp.0.join(SUMMARY_MD)]
    );
    let md = read(&tmp.0.join(SUMMARY_MD));
    assert!(md.contains("No policy was run."));
    assert!(md.contains("No `pool-depth` plot"));
    let json: Summary = serde_json::from_str(&read(&tmp.0.join(SUMMARY_JSON))).unwrap();
    assert!(json.runs.is_empty() && json.plots.is_empty());
}

#[test]
fn runs_with_empty_histograms_and_series_do_not_panic() {
    let tmp = TempDir::new("hollow");
    let empty = || Histogram::<u64>::new(3).unwrap();
    let run = |policy: &str| PolicyRun {
        policy: policy.to_owned(),
        records: 0,
        signed: 0,
        unfinished: 0,
        on_time: 0,
        on_time_legal: 0,
        signed_by_director: 0,
        escalations: 0,
        lease_expiries: 0,
        rate_limited: 0,
        wait_to_lease: empty(),
        wait_to_signed: empty(),
        pool_depth: vec![(0.0, 0)],
        director_share_over_time: Vec::new(),
    };
    let report = Report {
        title: "t".to_owned(),
        scenario: "s".to_owned(),
        description: String::new(),
        seed: 1,
        source: "measured against the real services".to_owned(),
        runs: vec![run("a/b"), run("a b"), run("")],
        yardstick: vec![YardstickPoint {
            utilisation: 0.5,
            measured_mean_secs: 1.0,
            ci_low_secs: 0.9,
            ci_high_secs: 1.1,
            predicted_mean_secs: 0.0,
            policy: "a/b".to_owned(),
            p50_secs: 1.0,
            p90_secs: 2.0,
            p99_secs: 3.0,
            predicted_p90_secs: None,
            predicted_p99_secs: None,
        }],
        notes: Vec::new(),
        commands: Vec::new(),
    };
    let written = report.write(&tmp.0).unwrap();
    for stem in ["a-b", "a-b-2", "policy"] {
        assert!(
            written
                .files
                .contains(&tmp.0.join(format!("{stem}-wait-to-lease.hgrm")))
        );
    }
    let names: Vec<String> = written
        .files
        .iter()
        .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
        .collect();
    assert!(names.contains(&"pool-depth.png".to_owned()));
    assert!(names.contains(&"wait-vs-utilisation.png".to_owned()));
    assert!(!names.contains(&"director-share.png".to_owned()));
    assert!(!names.contains(&"wait-percentiles.png".to_owned()));
    let json: Summary = serde_json::from_str(&read(&tmp.0.join(SUMMARY_JSON))).unwrap();
    assert_eq!(json.runs[0].on_time_pct, None);
    assert_eq!(json.runs[0].wait_to_lease.p50_ms, None);
    assert_eq!(json.yardstick[0].ratio, None);
    let md = read(&tmp.0.join(SUMMARY_MD));
    assert!(md.contains("| Submit→lease p50 | — |"));
}

/// Renders the synthetic report where a person can look at it:
/// `cargo test -p signq-load-tests report::tests::demo -- --ignored`.
#[test]
#[ignore = "writes /tmp/signq-report-demo for looking at"]
fn demo() {
    let dir = Path::new("/tmp/signq-report-demo");
    let _ = std::fs::remove_dir_all(dir);
    let written = synthetic().write(dir).unwrap();
    let missing = FontStatus::Missing("demo without a font".to_owned());
    let bare = synthetic()
        .write_with(&dir.join("no-font"), Look { text: false }, &missing)
        .unwrap();
    for f in written.files.iter().chain(&bare.files) {
        println!("{}", f.display());
    }
}

#[test]
fn one_policy_draws_every_chart() {
    let tmp = TempDir::new("one");
    let mut report = synthetic();
    report.runs.truncate(1);
    report.yardstick.retain(|p| p.policy == "round-robin");
    let written = report.write(&tmp.0).unwrap();
    for plot in PLOTS {
        assert!(
            written.files.contains(&tmp.0.join(format!("{plot}.png"))),
            "{plot}"
        );
    }
}
