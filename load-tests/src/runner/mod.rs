//! `signq load run`: a scenario against the real services. It provisions a throw-away PKI,
//! starts `signq signer` and, for each policy, a fresh `signq scheduler` on loopback ports;
//! configures them; then submits the scenario's arrivals open loop (on schedule, whatever the
//! server does) while simulated signers work their inboxes, all on a compressed clock. The
//! observations come back in virtual seconds, comparable with `signq simulate`.
//!
//! Virtual seconds are working time on the scenario's calendar ([`crate::dates`]): records are
//! due by the legal calendar, submitted with that due time as an explicit deadline on the
//! compressed clock, and judged against it. Nights and days off take no real time.
//!
//! # Layout
//! - [`provision`]: PKI, keys and delegations for the scenario.
//! - [`services`]: child processes and the scheduler's configuration.
//! - [`agent`]: a simulated signer.
//! - [`tracker`]: what is observed of each record.
//! - [`clock`]: virtual time.
//! - [`databases`]: fresh PostgreSQL databases for runs on a shared store.

pub mod agent;
pub mod clock;
pub mod databases;
pub mod provision;
pub mod services;
pub mod tracker;

use std::path::PathBuf;
use std::sync::Arc;

use rand::SeedableRng;
use rand::distr::{Distribution, weighted::WeightedIndex};
use rand::rngs::StdRng;
use signq_kit::identity::Role;
use signq_proto::v1 as pb;
use signq_proto::v1::intake_client::IntakeClient;

use crate::dates::{Counting, Deadlines};
use crate::scenario::Scenario;
use clock::Clock;
use provision::{INTAKE, LOAD_PIN, Provisioned};
use tracker::{Observed, Tracker};

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The `signq` binary.
    pub exe: PathBuf,
    /// The policies to run (default: the scenario's).
    pub policies: Vec<String>,
    /// Show a progress bar.
    pub progress: bool,
    /// Virtual seconds between samples of the pool depth.
    pub sample_every_secs: f64,
}

/// One policy's observations.
#[derive(Debug)]
pub struct PolicyObserved {
    /// The policy.
    pub policy: String,
    /// What was seen.
    pub observed: Observed,
}

/// A record to submit: virtual arrival second, ward, procedure, due time (virtual second).
#[derive(Debug, Clone)]
struct Arrival {
    at: f64,
    ward: String,
    procedure: String,
    due: f64,
}

/// The scenario's arrival trace: the same for every policy (seeded per ward), due by the legal
/// calendar.
fn trace(scenario: &Scenario) -> anyhow::Result<Vec<Arrival>> {
    let timeline = Arc::new(scenario.timeline()?);
    let deadlines = Deadlines::new(timeline, scenario.limits()?, Counting::Calendar);
    let weights = WeightedIndex::new(scenario.procedures.iter().map(|p| p.weight))?;
    let mut all = Vec::new();
    for (i, (ward, template)) in scenario.expanded_wards().into_iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(scenario.seed ^ ((i as u64 + 1) << 20));
        for at in crate::arrivals::schedule(
            &scenario.arrivals,
            scenario.duration_secs,
            template.load,
            &mut rng,
        ) {
            let k = weights.sample(&mut rng);
            all.push(Arrival {
                at,
                ward: ward.clone(),
                procedure: scenario.procedures[k].code.clone(),
                due: deadlines.due(k, at).legal,
            });
        }
    }
    all.sort_by(|a, b| a.at.total_cmp(&b.at));
    Ok(all)
}

/// Runs the scenario once per policy against freshly started services.
pub async fn run(scenario: &Scenario, options: &RunOptions) -> anyhow::Result<Vec<PolicyObserved>> {
    let tmp = tempfile_dir()?;
    let provisioned = provision::provision(scenario, &tmp)?;
    let huge = "1000000000".to_string();
    let (signer, signer_addr) = services::start(
        &options.exe,
        &provisioned,
        &[
            "signer",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--signatures-per-hour",
            &huge,
            "--signature-burst",
            "100000",
            "--pin-attempts-per-minute",
            "100000",
        ]
        .map(String::from),
        "signer listening on ",
    )?;
    let trace = trace(scenario)?;
    let mut results = Vec::new();
    for policy in &options.policies {
        let observed = run_policy(
            scenario,
            options,
            &provisioned,
            &signer_addr,
            policy,
            &trace,
        )
        .await?;
        results.push(PolicyObserved {
            policy: policy.clone(),
            observed,
        });
    }
    drop(signer);
    let _ = std::fs::remove_dir_all(&tmp);
    Ok(results)
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "signq-load-{}-{}",
        std::process::id(),
        clock_nanos()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn clock_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

async fn run_policy(
    scenario: &Scenario,
    options: &RunOptions,
    p: &Provisioned,
    signer_addr: &str,
    policy: &str,
    trace: &[Arrival],
) -> anyhow::Result<Observed> {
    let scale = scenario.time_scale;
    let huge = "1000000000".to_string();
    let signer_port = signer_addr.rsplit(':').next().unwrap_or_default();
    let args: Vec<String> = [
        "scheduler",
        "--scheduler-listen",
        "127.0.0.1:0",
        "--metrics-listen",
        "127.0.0.1:0",
        "--signer-addr",
        &format!("localhost:{signer_port}"),
        "--policy",
        policy,
        "--lease-size",
        &scenario.lease_size.to_string(),
        "--lease-timeout-secs",
        &(600.0 / scale).to_string(),
        "--director-guard-secs",
        &(scenario.director_guard_secs / scale).to_string(),
        // Virtual seconds are working time, compressed: the scheduler's own calendar cannot
        // follow them, so its guard measures the compressed slack in clock time.
        "--guard-in-clock-time",
        "--database",
        &p.data()
            .join(format!("scheduler-{policy}.db"))
            .display()
            .to_string(),
        "--submit-per-client",
        &huge,
        "--submit-per-ward",
        &huge,
        "--approve-per-signer",
        &huge,
        "--sessions-per-signer",
        &huge,
        "--global-calls-per-second",
        &huge,
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let (scheduler, scheduler_addr) =
        services::start(&options.exe, p, &args, "scheduler listening on ")?;
    let addr = scheduler_addr.replace("127.0.0.1", "localhost");
    services::configure(&addr, p, scenario, p.delegations(scenario, policy)?).await?;

    let tracker = Arc::new(Tracker::default());
    let clock = Clock::start(scale);
    let end = scenario.duration_secs;
    let mut tasks = tokio::task::JoinSet::new();
    for (i, s) in p.signers.iter().enumerate() {
        let agent = agent::Agent {
            id: s.id.clone(),
            pin: LOAD_PIN.into(),
            director: s.role == Role::Director,
            template: scenario.wards[s.ward_template].signers[s.template].clone(),
            seed: scenario.seed.wrapping_mul(31).wrapping_add(i as u64),
        };
        tasks.spawn(agent::run(
            agent,
            addr.clone(),
            services::client_tls(p, &provision::device_name(&s.id))?,
            clock,
            end,
            tracker.clone(),
        ));
    }
    let bar = options.progress.then(|| {
        let bar = indicatif::ProgressBar::new(end as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{prefix:>14} [{bar:40}] {pos}/{len} virtual s {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_prefix(policy.to_string());
        bar
    });
    // Samples of the pool depth and the director's share.
    {
        let (tracker, every) = (tracker.clone(), options.sample_every_secs.max(1.0));
        let bar = bar.clone();
        tasks.spawn(async move {
            let mut v = 0.0;
            while v <= end {
                tokio::time::sleep_until(clock.at(v)).await;
                tracker.sample(v);
                if let Some(bar) = &bar {
                    bar.set_position(v as u64);
                }
                v += every;
            }
        });
    }
    // Arrivals, open loop: each submit leaves at its scheduled time whatever the server does.
    let intake =
        IntakeClient::new(services::channel(&addr, &services::client_tls(p, INTAKE)?).await?);
    let mut submits = tokio::task::JoinSet::new();
    for (n, a) in trace.iter().enumerate() {
        tokio::time::sleep_until(clock.at(a.at)).await;
        let deadline = std::time::SystemTime::now() + clock.real(a.due - a.at);
        let request = pb::SubmitRequest {
            ward: a.ward.clone(),
            procedure_code: a.procedure.clone(),
            title: format!("{} #{n}", a.procedure),
            document: format!("load test record {n} of {} ({})", a.ward, a.procedure).into_bytes(),
            deadline: Some(prost_types::Timestamp::from(deadline)),
            priority: pb::Priority::Normal as i32,
            idempotency_key: format!("load-{policy}-{n}"),
            signature_place: None,
        };
        let (mut intake, tracker, at, due) = (intake.clone(), tracker.clone(), a.at, a.due);
        submits.spawn(async move {
            match intake.submit(request).await {
                Ok(r) => match r.into_inner().record {
                    Some(record) => tracker.submitted(record.id, at, due),
                    None => tracker.with(|o| o.errors += 1),
                },
                Err(s) if s.code() == tonic::Code::ResourceExhausted => {
                    tracker.with(|o| o.rate_limited += 1)
                }
                Err(_) => tracker.with(|o| o.errors += 1),
            }
        });
    }
    while submits.join_next().await.is_some() {}
    while tasks.join_next().await.is_some() {}
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    drop(scheduler);
    let observed = tracker.with(std::mem::take);
    Ok(observed)
}
