//! The submit benchmark: durable `Intake.Submit` over mutual TLS at fixed offered rates, beside a
//! trivial unary handler (`grpc.health.v1.Health/Check`) served by the same process behind the
//! same TLS, measured in the same run. The ratio of what each sustains is the cost of durability
//! (validation, SQLite with group commit, the audit chain) over the bare RPC.

use std::time::Duration;

use signq_proto::v1::intake_client::IntakeClient;
use signq_proto::v1::{Priority, SubmitRequest};
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::open_loop::{self, RunFigures};

/// One offered rate's figures for both.
#[derive(Debug, Clone)]
pub struct Step {
    /// Durable submits.
    pub submit: RunFigures,
    /// The trivial handler.
    pub baseline: RunFigures,
}

/// Runs every rate for `seconds` each, submits then the baseline.
pub async fn run(
    channels: &[Channel],
    rates: &[f64],
    seconds: u64,
    document_bytes: usize,
) -> anyhow::Result<Vec<Step>> {
    let document = vec![0x25_u8; document_bytes];
    let mut steps = Vec::new();
    let run_id: u64 = rand_id();
    for (n, &rate) in rates.iter().enumerate() {
        let submit = {
            let (channels, document) = (channels.to_vec(), document.clone());
            open_loop::run(rate, Duration::from_secs(seconds), move |i| {
                let mut client = IntakeClient::new(channels[i as usize % channels.len()].clone());
                let request = SubmitRequest {
                    ward: "cat-lai".into(),
                    procedure_code: "HT-KS".into(),
                    title: format!("Khai sinh {i}"),
                    document: document.clone(),
                    deadline: None,
                    priority: Priority::Normal as i32,
                    idempotency_key: format!("bench-{run_id}-{n}-{i}"),
                };
                async move { client.submit(request).await.is_ok() }
            })
            .await?
        };
        let baseline = {
            let channels = channels.to_vec();
            open_loop::run(rate, Duration::from_secs(seconds), move |i| {
                let mut client = HealthClient::new(channels[i as usize % channels.len()].clone());
                async move {
                    client
                        .check(HealthCheckRequest {
                            service: String::new(),
                        })
                        .await
                        .is_ok()
                }
            })
            .await?
        };
        steps.push(Step { submit, baseline });
    }
    Ok(steps)
}

fn rand_id() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Prints the table and the headline ratio (highest sustained throughput, ours over baseline).
pub fn report(steps: &[Step]) {
    println!(
        "{:>8} | {:>9} {:>9} {:>9} {:>6} | {:>9} {:>9} {:>9} {:>6}",
        "offered", "submit/s", "p50 ms", "p99 ms", "fail", "check/s", "p50 ms", "p99 ms", "fail"
    );
    for s in steps {
        println!(
            "{:>8.0} | {:>9.0} {:>9.2} {:>9.2} {:>6} | {:>9.0} {:>9.2} {:>9.2} {:>6}",
            s.submit.offered,
            s.submit.throughput,
            s.submit.p50_ms,
            s.submit.p99_ms,
            s.submit.failed,
            s.baseline.throughput,
            s.baseline.p50_ms,
            s.baseline.p99_ms,
            s.baseline.failed
        );
    }
    let best = |f: &dyn Fn(&Step) -> f64| steps.iter().map(f).fold(0.0, f64::max);
    let ours = best(&|s| s.submit.throughput);
    let base = best(&|s| s.baseline.throughput);
    if base > 0.0 {
        println!(
            "durable submit sustained {ours:.0}/s = {:.0}% of the trivial handler's {base:.0}/s",
            100.0 * ours / base
        );
    }
}
