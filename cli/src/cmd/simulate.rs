//! `signq simulate`: the scheduler's own balancer under virtual time (discrete events, in
//! process, no network): every policy of a scenario on the same arrival trace, what-if questions,
//! and a report with plots.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use signq_load_tests::dates::Counting;
use signq_load_tests::pipeline;
use signq_load_tests::report::Report;
use signq_load_tests::scenario::Scenario;
use signq_load_tests::simulate::{self, SimOptions};
use signq_scheduler::balancer::Policy;

/// Options of `signq simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// The scenario file (see `load-tests/scenarios/`).
    pub scenario: PathBuf,
    /// Policies to run (default: the scenario's).
    #[arg(long = "policy")]
    pub policies: Vec<Policy>,
    /// The seed (default: the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Multiply every ward's arrivals (1.5 for a 50% surge).
    #[arg(long, default_value_t = 1.0)]
    pub surge: f64,
    /// What if: the fewest deputies per ward that keep this share of records on time (e.g. 0.99).
    #[arg(long)]
    pub fewest_deputies: Option<f64>,
    /// What if: every director is away between these virtual seconds ("FROM,TO", e.g. 0,14400).
    #[arg(long, value_delimiter = ',')]
    pub director_away: Vec<f64>,
    /// How deadlines are counted: `calendar` (the law's working days and cut-offs, as Submit
    /// does) or `clock-hours` (as signq did before the calendar: the same day as 8 hours, a
    /// working day as 24), to measure what the old clock mis-stated.
    #[arg(long, default_value = "calendar")]
    pub deadlines: Counting,
    /// Where to write the report (default: signq-reports/<scenario>-simulated).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Runs the simulation(s) and writes the report.
pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let mut scenario = Scenario::load(&args.scenario)?;
    if args.surge != 1.0 {
        for w in &mut scenario.wards {
            w.load *= args.surge;
        }
    }
    let mut options = SimOptions::for_scenario(&scenario)?;
    options.progress = !args.quiet;
    options.counting = args.deadlines;
    if let Some(seed) = args.seed {
        options.seed = seed;
    }
    let policies = if args.policies.is_empty() {
        simulate::policies(&scenario)?
    } else {
        args.policies.clone()
    };
    let mut notes = vec![scenario.calendar.describe(args.deadlines)];
    let mut runs = Vec::new();
    let commands = vec![format!(
        "signq {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    )];
    if let Some(target) = args.fewest_deputies {
        for (n, r) in simulate::fewest_deputies(&scenario, target, 8, &options)? {
            notes.push(format!(
                "{n} deputies per ward: {:.2}% on time, director share {:.1}%",
                100.0 * r.on_time_rate(),
                100.0 * r.director_share()
            ));
            println!("{}", notes.last().map(String::as_str).unwrap_or_default());
        }
    }
    if !args.director_away.is_empty() && args.director_away.len() != 2 {
        anyhow::bail!("--director-away takes FROM,TO in virtual seconds, e.g. 0,14400");
    }
    if let [from, to] = args.director_away[..] {
        let r = simulate::director_away(&scenario, from, to, &options)?;
        notes.push(format!(
            "directors away {from}-{to} s: {:.2}% on time, director share {:.1}%, {} escalations",
            100.0 * r.on_time_rate(),
            100.0 * r.director_share(),
            r.escalations
        ));
        println!("{}", notes.last().map(String::as_str).unwrap_or_default());
        let mut run = pipeline::from_sim(&r);
        run.policy = format!("{} (directors away {from}-{to} s)", run.policy);
        runs.push(run);
    }
    for policy in policies {
        let r = simulate::run(&scenario, &options.with_policy(policy))?;
        let rss = r
            .peak_rss_bytes
            .map(|b| format!("{:.0} MiB", b as f64 / 1048576.0))
            .unwrap_or_else(|| "?".into());
        let legal = match args.deadlines {
            Counting::Calendar => String::new(),
            Counting::ClockHours => format!(
                " ({:.2}% by the legal calendar)",
                100.0 * r.on_time_legal as f64 / r.records.max(1) as f64
            ),
        };
        let line = format!(
            "{policy}: {} records, {:.2}% on time{legal}, director share {:.1}%, wait to lease p50 {:.0} s p99 {:.0} s, {} unfinished; simulated in {:.1} s, peak memory {rss}",
            r.records,
            100.0 * r.on_time_rate(),
            100.0 * r.director_share(),
            r.wait_to_lease.value_at_quantile(0.5) as f64 / 1000.0,
            r.wait_to_lease.value_at_quantile(0.99) as f64 / 1000.0,
            r.unfinished,
            r.wall_secs,
        );
        println!("{line}");
        notes.push(line);
        runs.push(pipeline::from_sim(&r));
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("signq-reports").join(format!("{}-simulated", scenario.name))
    });
    let report = Report {
        title: format!("{} (simulated)", scenario.name),
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seed: options.seed,
        source: "simulated".into(),
        runs,
        yardstick: Vec::new(),
        notes,
        commands,
    };
    let written = report
        .write(&out)
        .with_context(|| format!("writing the report to {}", out.display()))?;
    println!(
        "report: {} ({} files)",
        out.join("summary.md").display(),
        written.files.len()
    );
    Ok(())
}
