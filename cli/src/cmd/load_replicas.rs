//! `signq load replicas`: durable submits on PostgreSQL with one and with three scheduler
//! replicas, beside the embedded SQLite store and a trivial handler behind the same TLS, all in
//! one run on one machine; then the failover time: the replica owning the ward is killed again
//! and again, and the time until another replica runs the ward is measured.
//!
//! The PostgreSQL server is the operator's (loopback only): each configuration gets a database of
//! its own, made here and left for inspection.

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use signq_load_tests::runner::services::{self, Service};
use signq_load_tests::submit_bench::{self, Bench, Call, Ladder, Side, Target};

use super::dev;
use crate::layout::DataDir;

/// Options of `signq load replicas`.
#[derive(Debug, Clone, Args)]
pub struct ReplicasArgs {
    /// A PostgreSQL server on loopback where this command may create databases
    /// (`postgres://user@127.0.0.1:port/postgres`).
    #[arg(long)]
    pub postgres: String,
    /// Seconds per offered rate.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// The first offered rate of each climb, requests per second.
    #[arg(long, default_value_t = 500.0)]
    pub start_rate: f64,
    /// The highest rate offered.
    #[arg(long, default_value_t = 50_000.0)]
    pub max_rate: f64,
    /// The most rates run per climb.
    #[arg(long, default_value_t = 12)]
    pub max_steps: usize,
    /// The share of a rate's calls that may be shed, fail or not be sent before it counts as
    /// past the knee (the throughput knee; 0: any refused call marks it).
    #[arg(long, default_value_t = 0.01)]
    pub tolerate: f64,
    /// TLS connections per scheduler replica.
    #[arg(long, default_value_t = 4)]
    pub connections: usize,
    /// Times the ward's owner is killed.
    #[arg(long, default_value_t = 10)]
    pub kills: usize,
    /// The replicas' ownership lease, seconds.
    #[arg(long, default_value_t = 6.0)]
    pub ownership_ttl_secs: f64,
}

/// Calls per second nobody limits here: the knee is the store's, not a limiter's.
const UNLIMITED: &str = "1000000000";

/// The scheduler options that lift the rate limits.
fn unlimited() -> Vec<String> {
    [
        "--submit-per-client",
        UNLIMITED,
        "--submit-per-ward",
        UNLIMITED,
        "--global-calls-per-second",
        UNLIMITED,
    ]
    .map(String::from)
    .to_vec()
}

/// Runs the benchmark and prints its figures.
pub async fn run(args: ReplicasArgs) -> anyhow::Result<()> {
    loopback_only(&args.postgres)?;
    let ladder = Ladder {
        start_rate: args.start_rate,
        max_rate: args.max_rate,
        step: 2.0,
        refine: 3,
        max_steps: args.max_steps,
        knee: 0.9,
        tolerate: args.tolerate,
        seconds: args.seconds,
        max_outstanding: 4096,
    };
    ladder.validate()?;
    anyhow::ensure!(
        (1..=100).contains(&args.kills),
        "--kills {}: 1 to 100",
        args.kills
    );
    let tmp = tempfile::tempdir()?;
    let data = DataDir::within(tmp.path());
    dev::provision(&data)?;
    let intake = signq_kit::tls::ClientTls::new(&data.tls(dev::INTAKE_CERT, None)?)?;
    println!("{}", super::load::command_line());
    println!(
        "open loop, {} s per rate from {:.0}/s by x2 (at most {} rates), {} TLS connections per \
         replica, 1 KiB documents; the knee is the highest throughput with at least 90% of the \
         offered rate and at most {}% of calls refused",
        args.seconds,
        args.start_rate,
        args.max_steps,
        args.connections,
        100.0 * args.tolerate
    );

    let mut rows = Vec::new();
    // The embedded store, and the trivial handler behind the same TLS.
    {
        let (_dev, _, addr) = super::load::start_dev(&data, &as_str(&unlimited()))?;
        let target = Target {
            addr,
            tls: intake.clone(),
        };
        let bench = Bench::new(&target, args.connections, 1024).await?;
        rows.push((
            "trivial handler (Health/Check)",
            climb(&bench, Call::Check, &ladder).await?,
        ));
        rows.push((
            "SQLite, one scheduler",
            climb(&bench, Call::Submit, &ladder).await?,
        ));
    }
    // PostgreSQL, one then three replicas, each on a database of its own.
    let mut three = None;
    for n in [1, 3] {
        let url = signq_load_tests::runner::databases::fresh_database(
            &args.postgres,
            &format!("signq_bench_{n}"),
        )
        .await?;
        let cluster = Cluster::start(&data, &url, n, args.ownership_ttl_secs).await?;
        let targets: Vec<Target> = cluster
            .addrs()
            .into_iter()
            .map(|addr| Target {
                addr,
                tls: intake.clone(),
            })
            .collect();
        let bench = Bench::spread(&targets, args.connections, 1024).await?;
        let label = if n == 1 {
            "PostgreSQL, one replica"
        } else {
            "PostgreSQL, three replicas"
        };
        rows.push((label, climb(&bench, Call::Submit, &ladder).await?));
        if n == 3 {
            cluster.wait_owned().await?;
            three = Some(cluster);
        }
    }

    println!();
    println!("| store | durable submits/s at the knee | p99 there (ms) | of SQLite |");
    println!("|---|---:|---:|---:|");
    let sqlite = rows[1].1.knee;
    for (label, side) in &rows {
        let p99 = at_knee(side).map_or("-".into(), |p| format!("{p:.1}"));
        println!(
            "| {label} | {:.0} | {p99} | {:.0}% |",
            side.knee,
            100.0 * side.knee / sqlite.max(1.0)
        );
    }

    let mut cluster = three.context("the three-replica cluster")?;
    println!();
    println!(
        "failover: the ward's owner killed {} times (ownership lease {} s)...",
        args.kills, args.ownership_ttl_secs
    );
    let mut times = Vec::new();
    for _ in 0..args.kills {
        times.push(cluster.kill_owner_and_wait().await?);
    }
    times.sort();
    let at = |p: f64| times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    println!(
        "failover: ward run again after {:.2} s at the median, {:.2} s at p99, {:.2} s at most",
        at(0.5).as_secs_f64(),
        at(0.99).as_secs_f64(),
        at(1.0).as_secs_f64()
    );
    println!("reproduce: {}", super::load::command_line());
    Ok(())
}

fn as_str(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// One climb, its steps printed as they finish.
async fn climb(bench: &Bench, call: Call, ladder: &Ladder) -> anyhow::Result<Side> {
    println!();
    println!("{}, climbing:", call.name());
    println!("{}", submit_bench::step_header());
    let mut progress = |s: &submit_bench::Step| println!("{}", submit_bench::step_row(s));
    bench.find_knee(call, ladder, &mut progress).await
}

/// The p99 of the step whose throughput is the knee.
fn at_knee(side: &Side) -> Option<f64> {
    side.steps
        .iter()
        .filter(|s| !s.past_knee)
        .max_by(|a, b| a.figures.throughput.total_cmp(&b.figures.throughput))
        .map(|s| s.figures.p99_ms)
}

/// Refuses a server that is not on loopback.
fn loopback_only(url: &str) -> anyhow::Result<()> {
    let config: tokio_postgres::Config = url.parse().context("--postgres")?;
    for host in config.get_hosts() {
        if let tokio_postgres::config::Host::Tcp(host) = host {
            services::loopback(&format!("{host}:5432")).context("--postgres")?;
        }
    }
    Ok(())
}

/// A signing service and scheduler replicas on one PostgreSQL database.
struct Cluster {
    data: DataDir,
    url: String,
    signer_addr: String,
    ttl: f64,
    _signer: Service,
    /// Replica number → its process and address.
    replicas: Vec<Option<(Service, String)>>,
}

impl Cluster {
    /// Configures the demo ward in `url` (as `signq dev` does) and starts the signing service
    /// and `n` replicas.
    async fn start(data: &DataDir, url: &str, n: usize, ttl: f64) -> anyhow::Result<Cluster> {
        drop(super::load::start_dev(data, &["--store", url])?);
        let (signer, signer_addr) = super::load::start_signer(data, &[])?;
        let mut cluster = Cluster {
            data: data.clone(),
            url: url.to_string(),
            signer_addr,
            ttl,
            _signer: signer,
            replicas: (0..n).map(|_| None).collect(),
        };
        for i in 0..n {
            cluster.start_replica(i)?;
        }
        Ok(cluster)
    }

    fn start_replica(&mut self, i: usize) -> anyhow::Result<()> {
        let mut args = super::load::child_args(&self.data);
        args.extend(
            [
                "scheduler",
                "--scheduler-listen",
                "127.0.0.1:0",
                "--metrics-listen",
                "127.0.0.1:0",
                "--signer-addr",
                &self.signer_addr,
                "--store",
                &self.url,
                "--replica-id",
                &format!("replica-{i}"),
                "--ownership-ttl-secs",
                &self.ttl.to_string(),
            ]
            .map(String::from),
        );
        args.extend(unlimited());
        let prefix = "scheduler listening on ";
        let service = services::spawn(&std::env::current_exe()?, &args, &[], prefix)?;
        let addr = service.after(prefix).unwrap_or_default().to_string();
        self.replicas[i] = Some((service, addr));
        Ok(())
    }

    fn addrs(&self) -> Vec<String> {
        self.replicas
            .iter()
            .flatten()
            .map(|(_, addr)| addr.clone())
            .collect()
    }

    /// The replica owning the demo ward now, if any.
    async fn owner(&self) -> anyhow::Result<Option<usize>> {
        let (client, connection) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .context("connecting to the store")?;
        tokio::spawn(connection);
        let row = client
            .query_opt(
                "SELECT replica FROM ward_owners WHERE ward = $1 AND expires_at > now()",
                &[&dev::WARD_ID],
            )
            .await?;
        Ok(row.and_then(|row| {
            let replica: String = row.get(0);
            replica.strip_prefix("replica-")?.parse().ok()
        }))
    }

    /// Waits until a running replica owns the ward; which one.
    async fn wait_owned(&self) -> anyhow::Result<usize> {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(n) = self.owner().await?
                && self.replicas[n].is_some()
            {
                return Ok(n);
            }
            anyhow::ensure!(Instant::now() < deadline, "no replica took the ward");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the ward's owner (SIGKILL), measures the time until another replica owns the ward,
    /// and starts the killed one again.
    async fn kill_owner_and_wait(&mut self) -> anyhow::Result<Duration> {
        let owner = self.wait_owned().await?;
        let killed = Instant::now();
        drop(self.replicas[owner].take());
        let taken = self.wait_owned().await?;
        let time = killed.elapsed();
        anyhow::ensure!(taken != owner, "the killed replica still owns the ward");
        println!(
            "  replica-{owner} killed: replica-{taken} runs the ward after {:.2} s",
            time.as_secs_f64()
        );
        self.start_replica(owner)?;
        Ok(time)
    }
}
