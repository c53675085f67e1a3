//! `signq load`: benchmarks that drive real services on loopback ports, each in a throw-away demo
//! ward. `signq load sign` measures signing through `signq signer` beside `openssl speed`;
//! `signq load submit` finds the knee of durable submits beside a trivial handler's, then the
//! scheduler's memory under ten times that load and with hundreds of idle connections.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use signq_load_tests::dates::Counting;
use signq_load_tests::runner::services::{self, Service};
use signq_load_tests::sign_bench::{self, SignBench};
use signq_signer::keystore::Keystore;

use super::client::SignerClientArgs;
use super::dev::{self, SIGNERS};
use super::pki::SIGNER_SERVICE;
use crate::layout::DataDir;

/// The `load` subcommands.
#[derive(Debug, Subcommand)]
pub enum LoadCmd {
    /// Signatures per second per core through the signer service, beside openssl speed.
    Sign(SignLoadArgs),
    /// The knee of durable submits beside a trivial handler's behind the same TLS; memory under
    /// overload and with idle connections.
    Submit(SubmitLoadArgs),
    /// A scenario against the real services (every policy), with simulated signers.
    Run(RunArgs),
    /// The pooled ward at utilisations 0.3 to 0.95 against Erlang C (simulated).
    Yardstick(YardstickArgs),
    /// Capacity: signers approve at once while the offered rate steps up, to find the software's
    /// own knee (throughput and p99), apart from people's.
    Capacity(CapacityArgs),
    /// Durable submits on PostgreSQL with one and three scheduler replicas beside SQLite and a
    /// trivial handler; the failover time when the ward's owner is killed.
    Replicas(super::load_replicas::ReplicasArgs),
}

/// Options of `signq load capacity`.
#[derive(Debug, Clone, Args)]
pub struct CapacityArgs {
    /// Offered rates, records per second, in order.
    #[arg(long, value_delimiter = ',', default_value = "25,50,100,200,400,800")]
    pub rates: Vec<f64>,
    /// Seconds per rate.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Wards sharing the scheduler (each with a director and two deputies).
    #[arg(long, default_value_t = 20)]
    pub wards: usize,
    /// Stop after the first rate whose signed throughput falls below this share of the offered rate.
    #[arg(long, default_value_t = 0.9)]
    pub knee: f64,
}

/// Options of `signq load run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The scenario file (see `load-tests/scenarios/`).
    pub scenario: std::path::PathBuf,
    /// Policies to run (default: the scenario's).
    #[arg(long = "policy")]
    pub policies: Vec<String>,
    /// Multiply every ward's arrivals (1.5 for a 50% surge).
    #[arg(long, default_value_t = 1.0)]
    pub surge: f64,
    /// Override the scenario's time scale (virtual seconds per real second).
    #[arg(long)]
    pub time_scale: Option<f64>,
    /// Where to write the report (default: signq-reports/<scenario>-measured).
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// Options of `signq load yardstick`.
#[derive(Debug, Clone, Args)]
pub struct YardstickArgs {
    /// The pooled-ward scenario.
    #[arg(default_value = "load-tests/scenarios/pooled-ward.toml")]
    pub scenario: std::path::PathBuf,
    /// Utilisations to run.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0.3,0.5,0.7,0.8,0.9,0.95"
    )]
    pub utilisations: Vec<f64>,
    /// Virtual hours per utilisation (more hours, tighter intervals).
    #[arg(long, default_value_t = 400.0)]
    pub hours: f64,
    /// Where to write the report (default: signq-reports/yardstick).
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

/// Options of `signq load submit`.
#[derive(Debug, Clone, Args)]
pub struct SubmitLoadArgs {
    /// Seconds per offered rate (and per side).
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// The first offered rate of each side's climb, requests per second.
    #[arg(long, default_value_t = 2000.0)]
    pub start_rate: f64,
    /// The highest rate offered to either side.
    #[arg(long, default_value_t = 100_000.0)]
    pub max_rate: f64,
    /// The factor between one offered rate and the next while climbing.
    #[arg(long, default_value_t = 2.0)]
    pub step: f64,
    /// Geometric bisections of the bracket around each knee once it is crossed.
    #[arg(long, default_value_t = 4)]
    pub refine: usize,
    /// The most rates run per side (climbing and bisecting together).
    #[arg(long, default_value_t = 14)]
    pub max_steps: usize,
    /// A rate is past the knee once its throughput falls below this share of it (or once calls
    /// are shed, fail or cannot be sent: see --tolerate).
    #[arg(long, default_value_t = 0.9)]
    pub knee: f64,
    /// The share of a rate's calls that may be shed, fail or not be sent before it counts as
    /// past the knee (0: any such call marks the knee).
    #[arg(long, default_value_t = 0.0)]
    pub tolerate: f64,
    /// TLS connections to spread requests over.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Requests in flight at once from the load generator, at most (more are counted not sent).
    #[arg(long, default_value_t = 4096)]
    pub max_outstanding: usize,
    /// Bytes per document.
    #[arg(long, default_value_t = 1024)]
    pub document_bytes: usize,
    /// The overload, as a multiple of the durable-submit knee (0: no overload).
    #[arg(long, default_value_t = 10.0)]
    pub overload: f64,
    /// Seconds of overload.
    #[arg(long, default_value_t = 5.0)]
    pub overload_seconds: f64,
    /// TLS connections the overload is sent over.
    #[arg(long, default_value_t = 16)]
    pub overload_connections: usize,
    /// Idle TLS connections held open to measure their memory (0: none).
    #[arg(long, default_value_t = 500)]
    pub idle_connections: usize,
    /// Connections held in TLS handshakes that never finish, from --slow-client-source, while a
    /// fresh client's connect time is measured (0: no slow-client attack).
    #[arg(long, default_value_t = 400)]
    pub slow_clients: usize,
    /// The loopback address the slow clients connect from (not the fresh client's).
    #[arg(long, default_value = "127.0.0.2")]
    pub slow_client_source: std::net::IpAddr,
    /// Consecutive addresses from --slow-client-source the slow clients share (1: one address,
    /// held to the server's per-address limits; more reach its limits in total).
    #[arg(long, default_value_t = 1)]
    pub slow_client_sources: usize,
    /// Also climb durable submits sent as JSON over HTTP/1.1 (as an intake system without gRPC
    /// calls Intake), beside the same over gRPC.
    #[arg(long)]
    pub json: bool,
    /// HTTP/1.1 connections the JSON side keeps (each carries one call at a time).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub json_connections: u16,
    /// Fresh-client connect times measured without the attack, and again during it.
    #[arg(long, default_value_t = 40)]
    pub connect_samples: usize,
    /// Seconds each side's fresh clients are spread over (the attack lasts as long, longer than
    /// the server's 5 s handshake time limit).
    #[arg(long, default_value_t = 15.0)]
    pub slow_client_seconds: f64,
    /// Drive an already running scheduler at this loopback address (with the data directory's
    /// intake certificate) instead of starting a throw-away `signq dev`. Its memory is not
    /// measured, it is not overloaded, and no slow clients attack it.
    #[arg(long)]
    pub scheduler: Option<String>,
}

/// Options of `signq load sign`.
#[derive(Debug, Clone, Args)]
pub struct SignLoadArgs {
    /// Seconds to measure each batch size.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    pub batches: Vec<usize>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 2)]
    pub concurrency: usize,
    /// Bytes per document.
    #[arg(long, default_value_t = 1024)]
    pub document_bytes: usize,
    /// The Python with pyHanko, for the PAdES comparison (the test command's virtualenv by
    /// default; skipped when it is missing).
    #[arg(long, default_value = "target/judges/bin/python")]
    pub pyhanko_python: std::path::PathBuf,
    /// Also measure a key on the PKCS#11 token with this label (one is generated on it), beside
    /// a key file's, signature by signature.
    #[arg(long, requires_all = ["token_module", "token_pin"])]
    pub token: Option<String>,
    /// The token's PKCS#11 module.
    #[arg(long)]
    pub token_module: Option<std::path::PathBuf>,
    /// The token's user PIN.
    #[arg(long)]
    pub token_pin: Option<String>,
    /// Also measure a remote signing provider (CSC API v2), as `NAME=FILE` (the provider's file,
    /// as `signq signer --remote-provider` reads it): batches of 1 and 50 signatures under one
    /// authorisation each. The provider must confirm by itself (the test provider's
    /// `--auto-confirm`).
    #[arg(long, requires = "credential", value_name = "NAME=FILE")]
    pub remote: Option<String>,
    /// The credential to sign with at the remote provider.
    #[arg(long, requires = "remote")]
    pub credential: Option<String>,
    /// Batches of each size signed remotely.
    #[arg(long, default_value_t = 20)]
    pub remote_rounds: usize,
}

/// Runs a `load` subcommand.
pub async fn run(cmd: LoadCmd, data: &DataDir) -> anyhow::Result<()> {
    match cmd {
        LoadCmd::Sign(args) => sign(args).await,
        LoadCmd::Submit(args) => submit(args, data).await,
        LoadCmd::Run(args) => run_scenario(args).await,
        LoadCmd::Yardstick(args) => yardstick(args),
        LoadCmd::Capacity(args) => capacity(args).await,
        LoadCmd::Replicas(args) => super::load_replicas::run(args).await,
    }
}

/// Starts `signq dev` on loopback ports on `data` with `extra` options, once it is ready;
/// returns it with the signer service's and the scheduler's addresses.
pub(super) fn start_dev(
    data: &DataDir,
    extra: &[&str],
) -> anyhow::Result<(Service, String, String)> {
    let mut args = child_args(data);
    args.extend(
        [
            "dev",
            "--listen",
            "127.0.0.1:0",
            "--scheduler-listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ]
        .map(String::from),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    let dev = services::spawn(&std::env::current_exe()?, &args, &[], "ready")?;
    let signer = dev
        .after("signer listening on ")
        .unwrap_or_default()
        .to_string();
    let scheduler = dev
        .after("scheduler listening on ")
        .unwrap_or_default()
        .to_string();
    Ok((dev, signer, scheduler))
}

async fn submit(args: SubmitLoadArgs, given: &DataDir) -> anyhow::Result<()> {
    use signq_load_tests::submit_bench::{self, Bench, Call, Ladder, Target};
    let ladder = Ladder {
        start_rate: args.start_rate,
        max_rate: args.max_rate,
        step: args.step,
        refine: args.refine,
        max_steps: args.max_steps,
        knee: args.knee,
        tolerate: args.tolerate,
        seconds: args.seconds,
        max_outstanding: args.max_outstanding,
    };
    ladder.validate()?;
    anyhow::ensure!(
        args.overload >= 0.0 && args.overload.is_finite(),
        "--overload {}: a multiple of the knee, 0 for none",
        args.overload
    );
    anyhow::ensure!(
        args.overload_seconds > 0.0 && args.overload_seconds <= 60.0,
        "--overload-seconds {}: more than 0, at most 60",
        args.overload_seconds
    );
    anyhow::ensure!(
        args.idle_connections <= 5_000,
        "--idle-connections {}: at most 5,000",
        args.idle_connections
    );
    anyhow::ensure!(
        args.slow_clients <= 5_000,
        "--slow-clients {}: at most 5,000",
        args.slow_clients
    );
    anyhow::ensure!(
        args.connect_samples <= 1_000,
        "--connect-samples {}: at most 1,000",
        args.connect_samples
    );
    anyhow::ensure!(
        args.slow_client_seconds > 0.0 && args.slow_client_seconds <= 120.0,
        "--slow-client-seconds {}: more than 0, at most 120",
        args.slow_client_seconds
    );
    anyhow::ensure!(
        (1..=250).contains(&args.slow_client_sources),
        "--slow-client-sources {}: 1 to 250",
        args.slow_client_sources
    );
    anyhow::ensure!(
        args.slow_client_source.is_loopback(),
        "--slow-client-source {}: a loopback address",
        args.slow_client_source
    );
    let tmp = tempfile::tempdir()?;
    let (guard, scheduler, data) = match &args.scheduler {
        Some(addr) => (None, addr.clone(), given.clone()),
        None => {
            let data = DataDir::within(tmp.path());
            let unlimited = "1000000000";
            let limits = [
                "--submit-per-client",
                unlimited,
                "--submit-per-ward",
                unlimited,
            ];
            let (guard, _, scheduler) = start_dev(
                &data,
                &[&limits[..], &["--global-calls-per-second", unlimited]].concat(),
            )?;
            (Some(guard), scheduler, data)
        }
    };
    // Load goes to loopback only (every connection is checked again as it is made).
    services::loopback(&scheduler).context("--scheduler")?;
    let target = Target {
        addr: scheduler.clone(),
        tls: signq_kit::tls::ClientTls::new(&data.tls(dev::INTAKE_CERT, None)?)?,
    };
    let mut bench = Bench::new(&target, args.connections, args.document_bytes).await?;
    let mut calls = vec![Call::Check, Call::Submit];
    if args.json {
        let json = submit_bench::JsonClient::new(
            &target,
            args.json_connections.into(),
            args.document_bytes,
        )?;
        bench = bench.with_json(json);
        calls.push(Call::SubmitJson);
    }
    println!("{}", command_line());
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        println!("load average before the run: {}", load.join(" "));
    }
    println!(
        "open loop, {} s per rate, {} B documents, {} TLS connections, scheduler at {scheduler}; \
         each side climbs from {:.0}/s by x{} (at most {:.0}/s, {} rates, {} requests) to where \
         throughput < {:.0}% of offered or more than {}% of calls are shed, fail or go unsent",
        args.seconds,
        args.document_bytes,
        bench.channels(),
        ladder.start_rate,
        ladder.step,
        ladder.max_rate,
        ladder.max_steps,
        ladder.max_requests_per_side(),
        100.0 * ladder.knee,
        100.0 * ladder.tolerate,
    );
    let mut sides = Vec::new();
    for call in calls {
        println!();
        println!("{}, climbing:", call.name());
        println!("{}", submit_bench::step_header());
        let mut progress = |s: &submit_bench::Step| println!("{}", submit_bench::step_row(s));
        sides.push(bench.find_knee(call, &ladder, &mut progress).await?);
    }
    let (check, durable) = (&sides[0], &sides[1]);
    for side in &sides {
        submit_bench::report_side(side);
    }
    println!();
    println!("{}", submit_bench::headline(durable, check));
    if let Some(json) = sides.get(2) {
        println!("{}", submit_bench::json_headline(json, durable));
    }

    let Some(guard) = guard else {
        println!("memory: not measured against a scheduler this command did not start");
        println!("slow clients: no attack on a scheduler this command did not start");
        return Ok(());
    };
    let pid = guard.pid();
    let rate = (args.overload * durable.knee).min(args.overload * args.max_rate);
    if signq_load_tests::memory::resident(pid).is_none() {
        println!("memory: not measured (/proc/{pid}/status is read on Linux only)");
    } else if args.idle_connections == 0 && rate <= 0.0 {
        println!("memory: not measured (no idle connections and no overload)");
    } else {
        println!();
        println!(
            "memory: {} idle connections, then {:.0} x the durable-submit knee ({rate:.0}/s) for \
             {} s (at most {:.0} requests, {} outstanding)...",
            args.idle_connections,
            args.overload,
            args.overload_seconds,
            (rate * args.overload_seconds).ceil(),
            args.max_outstanding
        );
        let idle = match args.idle_connections {
            0 => None,
            n => {
                Some(submit_bench::idle_connections(&target, n, Duration::from_secs(2), pid).await?)
            }
        };
        let over = if rate > 0.0 {
            Some(
                submit_bench::overload(
                    &bench,
                    &target,
                    args.overload_connections,
                    rate,
                    args.overload_seconds,
                    args.max_outstanding,
                    pid,
                )
                .await?,
            )
        } else {
            None
        };
        submit_bench::report_memory(pid, idle.as_ref(), over.as_ref(), durable.knee);
    }
    if args.slow_clients > 0 && args.connect_samples > 0 {
        println!();
        println!(
            "slow clients: {} fresh clients over {} s, then {} connections from {} ({} \
             addresses) holding TLS handshakes open while {} fresh clients connect over {} s...",
            args.connect_samples,
            args.slow_client_seconds,
            args.slow_clients,
            args.slow_client_source,
            args.slow_client_sources,
            args.connect_samples,
            args.slow_client_seconds
        );
        // Let the overload's backlog drain before the baseline.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let attack = submit_bench::slow_clients(
            &target,
            args.slow_client_source,
            args.slow_client_sources,
            args.slow_clients,
            args.connect_samples,
            Duration::from_secs_f64(args.slow_client_seconds),
        )
        .await?;
        submit_bench::report_slow_clients(&attack);
    }
    println!("reproduce: {}", command_line());
    drop(guard);
    Ok(())
}

async fn sign(args: SignLoadArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    let data = DataDir::within(tmp.path());
    dev::provision(&data)?;
    let (guard, addr) = start_signer(
        &data,
        &[
            "--signatures-per-hour",
            "1000000000",
            "--signature-burst",
            "100000",
            "--pin-attempts-per-minute",
            "1000000",
        ],
    )?;
    let client = SignerClientArgs {
        addr,
        client_cert: "scheduler".into(),
        cert: None,
        key: None,
    }
    .connect(&data)
    .await?;

    let director = SIGNERS[0];
    let bench = SignBench {
        signer_id: director.id.into(),
        pin: director.pin.into(),
        delegation: Vec::new(),
        procedure: "DD-BD".into(),
        batches: args.batches.clone(),
        duration: Duration::from_secs(args.seconds),
        concurrency: args.concurrency,
        server_pid: Some(guard.pid()),
    };
    println!(
        "measuring through the signer service for {} s per batch size, opaque documents of {} \
         bytes, then one-page PDFs...",
        args.seconds, args.document_bytes
    );
    let opaque = vec![0x5a_u8; args.document_bytes];
    let detached = sign_bench::through_service(client.clone(), &bench, &opaque).await?;
    let pdf = signq_load_tests::pades_bench::sample_pdf(0)?;
    let pades = sign_bench::through_service(client, &bench, &pdf).await?;
    drop(guard);

    let chain = signq_signer::trust::load(&data.ca_cert(), None)?.roots;
    let keystore = Keystore::open(
        &data.keystore(),
        Arc::new(data.kek(SIGNER_SERVICE, None)?),
        chain,
    )?;
    let key = keystore.unlock(director.id, director.pin)?;
    let core =
        sign_bench::signing_core(&key, args.document_bytes, Duration::from_secs(args.seconds))?;
    let openssl = sign_bench::openssl_speed(args.seconds.clamp(1, 10) as u32)?;
    println!();
    sign_bench::report(&detached, &pades, core, openssl);

    let python = args
        .pyhanko_python
        .exists()
        .then_some(args.pyhanko_python.as_path());
    if python.is_none() {
        println!(
            "\n{} not found: PAdES without the pyHanko comparison",
            args.pyhanko_python.display()
        );
    }
    if let (Some(token), Some(module), Some(pin)) =
        (&args.token, &args.token_module, &args.token_pin)
    {
        let seconds = Duration::from_secs(args.seconds);
        let file = signq_signer::keys::file::FileKey::generate()?;
        let (on_token, _) = signq_signer::keys::pkcs11::generate(module, token, pin, "signq-load")?;
        let on_token = signq_signer::keys::pkcs11::unlock(&on_token, pin)?;
        println!(
            "\nECDSA P-256 signatures per second by back end, one thread, {} s each:",
            args.seconds
        );
        for (name, key) in [
            ("key file", &file as &dyn signq_signer::keys::SigningKey),
            ("PKCS#11 token", &on_token),
        ] {
            let speed = sign_bench::key_speed(key, seconds)?;
            println!(
                "  {name:<14} {speed:>9.0} sig/s = {:.0}% of openssl",
                100.0 * speed / openssl
            );
        }
    }
    if let (Some(remote), Some(credential)) = (&args.remote, &args.credential) {
        remote_speed(remote, credential, args.remote_rounds).await?;
    }
    println!("\nPAdES in process, one thread, {} s each:", args.seconds);
    let pades = signq_load_tests::pades_bench::measure(Duration::from_secs(args.seconds), python)?;
    signq_load_tests::pades_bench::report(&pades);
    println!("reproduce: {}", command_line());
    Ok(())
}

/// Measures the remote provider `remote` (`NAME=FILE`) with `credential`.
async fn remote_speed(remote: &str, credential: &str, rounds: usize) -> anyhow::Result<()> {
    let (_, file) = remote
        .split_once('=')
        .with_context(|| format!("--remote {remote}: expected NAME=FILE"))?;
    let settings =
        signq_signer::service::remote::ProviderSettings::from_file(std::path::Path::new(file))
            .map_err(anyhow::Error::msg)?;
    let client = signq_signer::keys::csc::CscClient::new(settings.csc)?;
    let info = client.credential_info(credential).await?;
    let certificate = info
        .certificates
        .first()
        .context("the provider gave no certificate")?;
    let point = signq_signer::cms::public_point(certificate)?;
    // credentials/info fetched the access token: nothing timed below waits for one.
    println!(
        "\nremote provider {remote}, credential {credential}: {rounds} batches of each size, one \
         authorisation (one confirmation) per batch:"
    );
    let figures =
        signq_load_tests::remote_bench::measure(&client, credential, &point, &[1, 50], rounds)
            .await?;
    signq_load_tests::remote_bench::report(&figures);
    Ok(())
}

/// The options that point a `signq` child process at `data`'s layout.
/// Starts `signq signer` on loopback ports on `data` with `extra` options, once it listens;
/// returns it with its address.
pub(super) fn start_signer(data: &DataDir, extra: &[&str]) -> anyhow::Result<(Service, String)> {
    let mut args = child_args(data);
    args.extend(
        [
            "signer",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ]
        .map(String::from),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    let prefix = "signer listening on ";
    let signer = services::spawn(&std::env::current_exe()?, &args, &[], prefix)?;
    let addr = signer.after(prefix).unwrap_or_default().to_string();
    Ok((signer, addr))
}

pub(super) fn child_args(data: &DataDir) -> Vec<String> {
    data.args()
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

pub(super) fn command_line() -> String {
    format!(
        "signq {}",
        std::env::args().skip(1).collect::<Vec<_>>().join(" ")
    )
}

async fn run_scenario(args: RunArgs) -> anyhow::Result<()> {
    use signq_load_tests::{pipeline, report::Report, runner, scenario::Scenario};
    let mut scenario = Scenario::load(&args.scenario)?;
    if args.surge != 1.0 {
        for w in &mut scenario.wards {
            w.load *= args.surge;
        }
    }
    if let Some(scale) = args.time_scale {
        scenario.time_scale = scale;
        scenario.validate()?;
    }
    let policies = if args.policies.is_empty() {
        scenario.policies.clone()
    } else {
        args.policies.clone()
    };
    println!(
        "{}: {} virtual hours at {}x, {} policies, about {:.0} s of real time each",
        scenario.name,
        scenario.duration_secs / 3600.0,
        scenario.time_scale,
        policies.len(),
        scenario.duration_secs / scenario.time_scale
    );
    let options = runner::RunOptions {
        exe: std::env::current_exe()?,
        policies,
        progress: !args.quiet,
        sample_every_secs: 300.0,
    };
    let observed = runner::run(&scenario, &options).await?;
    let mut runs = Vec::new();
    let mut notes = vec![scenario.calendar.describe(Counting::Calendar)];
    for o in &observed {
        let run = pipeline::from_observed(&o.policy, &o.observed)?;
        let line = format!(
            "{}: {} records, {:.2}% on time, director share {:.1}%, {} unfinished, {} lease expiries, {} escalations, {} rate-limited, {} errors",
            run.policy,
            run.records,
            100.0 * run.on_time as f64 / run.records.max(1) as f64,
            100.0 * run.signed_by_director as f64 / run.signed.max(1) as f64,
            run.unfinished,
            run.lease_expiries,
            run.escalations,
            run.rate_limited,
            o.observed.errors
        );
        println!("{line}");
        notes.push(line);
        runs.push(run);
    }
    let out = args.out.clone().unwrap_or_else(|| {
        std::path::PathBuf::from("signq-reports").join(format!("{}-measured", scenario.name))
    });
    let report = Report {
        title: format!("{} (measured against the real services)", scenario.name),
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seed: scenario.seed,
        source: format!(
            "measured against the real services at {}x time scale",
            scenario.time_scale
        ),
        runs,
        yardstick: Vec::new(),
        notes,
        commands: vec![command_line()],
    };
    report.write(&out)?;
    println!("report: {}", out.join("summary.md").display());
    Ok(())
}

fn yardstick(args: YardstickArgs) -> anyhow::Result<()> {
    use signq_load_tests::{pipeline, report::Report, scenario::Scenario};
    let mut scenario = Scenario::load(&args.scenario)?;
    // Many virtual days for tight intervals: the yardstick is simulated in virtual time.
    scenario.duration_secs = args.hours * 3600.0;
    scenario
        .validate()
        .map_err(|e| anyhow::anyhow!("--hours {}: {e}", args.hours))?;
    let points = pipeline::yardstick(
        &scenario,
        &args.utilisations,
        signq_scheduler::balancer::Policy::LateBinding,
    )?;
    let mut notes = Vec::new();
    for p in &points {
        let ratio = p.measured_mean_secs / p.predicted_mean_secs;
        let line = format!(
            "utilisation {:.2}: mean wait {:.1} s (95% CI {:.1}-{:.1}), predicted {:.1} s, ratio {:.3}{}",
            p.utilisation,
            p.measured_mean_secs,
            p.ci_low_secs,
            p.ci_high_secs,
            p.predicted_mean_secs,
            ratio,
            if (ratio - 1.0).abs() <= 0.15 {
                ""
            } else {
                "  OUTSIDE 15%"
            }
        );
        println!("{line}");
        notes.push(line);
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("signq-reports").join("yardstick"));
    let report = Report {
        title: format!("{} against queueing theory", scenario.name),
        scenario: scenario.name.clone(),
        description: scenario.description.clone(),
        seed: scenario.seed,
        source: "simulated (the scheduler's balancer in virtual time)".into(),
        runs: Vec::new(),
        yardstick: points,
        notes,
        commands: vec![command_line()],
    };
    report.write(&out)?;
    println!("report: {}", out.join("summary.md").display());
    Ok(())
}

/// The capacity scenario: `wards` wards whose signers approve at once, constant arrivals.
fn capacity_scenario(
    wards: usize,
    per_second: f64,
    seconds: f64,
) -> anyhow::Result<signq_load_tests::scenario::Scenario> {
    let text = format!(
        r#"
name = "capacity"
description = "Signers who approve at once: the software's own limit"
duration_secs = {seconds}
time_scale = 1
policies = ["late-binding"]
lease_size = 20
arrivals = {{ kind = "constant", per_hour = {per_ward_hour} }}
procedures = [{{ code = "CT-BS", weight = 1 }}, {{ code = "HT-KS", weight = 1 }}, {{ code = "DD-BD", weight = 1 }}]
[[wards]]
id = "cap"
name = "Capacity"
count = {wards}
[[wards.signers]]
id = "director"
role = "director"
service = {{ dist = "fixed", secs = 0.0001 }}
batch = 20
[[wards.signers]]
id = "deputy-1"
role = "deputy"
procedures = ["CT-BS"]
service = {{ dist = "fixed", secs = 0.0001 }}
batch = 20
[[wards.signers]]
id = "deputy-2"
role = "deputy"
procedures = ["HT-KS"]
service = {{ dist = "fixed", secs = 0.0001 }}
batch = 20
"#,
        per_ward_hour = per_second * 3600.0 / wards as f64
    );
    Ok(signq_load_tests::scenario::Scenario::parse(
        &text, "capacity",
    )?)
}

async fn capacity(args: CapacityArgs) -> anyhow::Result<()> {
    use signq_load_tests::{pipeline, runner};
    println!(
        "{:>10} {:>10} {:>12} {:>12} {:>12}",
        "offered/s", "signed/s", "p50 ms", "p99 ms", "unfinished"
    );
    for &rate in &args.rates {
        let scenario = capacity_scenario(args.wards.max(1), rate, args.seconds)?;
        let options = runner::RunOptions {
            exe: std::env::current_exe()?,
            policies: vec!["late-binding".into()],
            progress: false,
            sample_every_secs: 1.0,
        };
        let observed = runner::run(&scenario, &options).await?;
        let Some(o) = observed.first() else { continue };
        let run = pipeline::from_observed(&o.policy, &o.observed)?;
        let throughput = run.signed as f64 / args.seconds;
        let ms = |q: f64| run.wait_to_signed.value_at_quantile(q) as f64;
        println!(
            "{rate:>10.0} {throughput:>10.1} {:>12.0} {:>12.0} {:>12}",
            ms(0.5),
            ms(0.99),
            run.unfinished
        );
        if throughput < args.knee * rate {
            println!(
                "knee: signed throughput fell below {:.0}% of the offered rate at {rate}/s",
                100.0 * args.knee
            );
            break;
        }
    }
    Ok(())
}
