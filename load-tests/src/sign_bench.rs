//! The signing benchmark: for batches of 1, 10 and 100 documents, signs through the running
//! signer service for a fixed time and reports signatures per second of wall clock and per CPU
//! second of the service process, for opaque documents (detached CMS) and for one-page PDFs
//! (PAdES); beside them the in-process signing core (CMS + ECDSA, one thread) and `openssl speed
//! ecdsap256` (one core), all measured in the same run on the same machine, and the ratios.
//! Figures are printed, never asserted.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use signq_proto::v1::signer_client::SignerClient;
use signq_proto::v1::{Document, SignRequest};
use signq_signer::cms::CmsSigner;
use signq_signer::keys::SigningKey;
use tonic::transport::Channel;

use crate::cpu::cpu_seconds;

/// What to measure.
#[derive(Debug, Clone)]
pub struct SignBench {
    /// The signer whose key signs, its PIN and (for a deputy) its delegation.
    pub signer_id: String,
    /// The PIN.
    pub pin: String,
    /// The signed delegation, empty for a director.
    pub delegation: Vec<u8>,
    /// A procedure the signer may sign.
    pub procedure: String,
    /// Batch sizes to measure.
    pub batches: Vec<usize>,
    /// How long to measure each batch size.
    pub duration: Duration,
    /// Concurrent requests in flight.
    pub concurrency: usize,
    /// The service's pid, for its CPU time.
    pub server_pid: Option<u32>,
}

/// One batch size's figures.
#[derive(Debug, Clone)]
pub struct BatchFigures {
    /// Documents per batch.
    pub batch: usize,
    /// Signatures made.
    pub signatures: u64,
    /// Signatures per wall-clock second.
    pub per_second: f64,
    /// Signatures per CPU second of the service, if its pid is known.
    pub per_core_second: Option<f64>,
    /// Median batch latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile batch latency, milliseconds.
    pub p99_ms: f64,
}

/// Measures every batch size through the service, every document of every batch `document`.
pub async fn through_service(
    client: SignerClient<Channel>,
    bench: &SignBench,
    document: &[u8],
) -> anyhow::Result<Vec<BatchFigures>> {
    let mut all = Vec::new();
    for &batch in &bench.batches {
        let request = SignRequest {
            signer_id: bench.signer_id.clone(),
            pin: bench.pin.clone(),
            delegation: bench.delegation.clone(),
            documents: (0..batch)
                .map(|i| Document {
                    record_id: format!("bench-{i}"),
                    procedure_code: bench.procedure.clone(),
                    content: document.to_vec(),
                    // Ad hoc: every call signs anew, which is what is measured.
                    attempt: 0,
                    place: None,
                })
                .collect(),
            titles: None,
            signature_image: Vec::new(),
            confirmation_id: String::new(),
        };
        // Warm up: one call, also proving the settings work before measuring.
        client
            .clone()
            .sign(request.clone())
            .await
            .map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?;
        let cpu_before = bench.server_pid.and_then(cpu_seconds);
        let started = Instant::now();
        let deadline = started + bench.duration;
        let mut workers = tokio::task::JoinSet::new();
        for _ in 0..bench.concurrency.max(1) {
            let (mut client, request) = (client.clone(), request.clone());
            workers.spawn(async move {
                let mut latencies = hdrhistogram::Histogram::<u64>::new(3)?;
                let mut done = 0u64;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let reply = client
                        .sign(request.clone())
                        .await
                        .map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?;
                    latencies.record(t.elapsed().as_micros() as u64)?;
                    done += reply.into_inner().signatures.len() as u64;
                }
                Ok::<_, anyhow::Error>((done, latencies))
            });
        }
        let mut signatures = 0;
        let mut latencies = hdrhistogram::Histogram::<u64>::new(3)?;
        while let Some(result) = workers.join_next().await {
            let (done, h) = result??;
            signatures += done;
            latencies.add(h)?;
        }
        let wall = started.elapsed().as_secs_f64();
        let cpu = match (cpu_before, bench.server_pid.and_then(cpu_seconds)) {
            (Some(a), Some(b)) if b > a => Some(b - a),
            _ => None,
        };
        all.push(BatchFigures {
            batch,
            signatures,
            per_second: signatures as f64 / wall,
            per_core_second: cpu.map(|c| signatures as f64 / c),
            p50_ms: latencies.value_at_quantile(0.5) as f64 / 1000.0,
            p99_ms: latencies.value_at_quantile(0.99) as f64 / 1000.0,
        });
    }
    Ok(all)
}

/// The signing core alone, in process on one thread: detached CMS signatures of `document_bytes`
/// documents per second.
pub fn signing_core(
    key: &CmsSigner,
    document_bytes: usize,
    duration: Duration,
) -> anyhow::Result<f64> {
    let document = vec![0x5a_u8; document_bytes];
    let now = time::OffsetDateTime::now_utc();
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < duration {
        key.sign_detached(&document, now, &[])?;
        n += 1;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// One key back end alone (a key file's key, a token's), on one thread: ECDSA signatures over
/// 100-byte messages per second.
pub fn key_speed(key: &dyn SigningKey, duration: Duration) -> anyhow::Result<f64> {
    let message = [0x5a_u8; 100];
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < duration {
        key.sign(&message)?;
        n += 1;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

/// `openssl speed -seconds S ecdsap256`: ECDSA P-256 signatures per second on one core.
pub fn openssl_speed(seconds: u32) -> anyhow::Result<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), "ecdsap256"])
        .output()
        .context("running openssl speed (is the openssl CLI installed?)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // The summary line: " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  39795.0  12960.3"
    for line in text.lines() {
        if line.contains("ecdsa (nistp256)") {
            let numbers: Vec<f64> = line
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            if let [.., sign, _verify] = numbers.as_slice() {
                return Ok(*sign);
            }
        }
    }
    bail!("cannot read openssl speed output:\n{text}")
}

/// Prints the figures as a table: opaque documents (`detached`) beside one-page PDFs (`pades`),
/// and what a PDF costs per core second over an opaque document of the same batch size.
pub fn report(detached: &[BatchFigures], pades: &[BatchFigures], core: f64, openssl: f64) {
    println!(
        "signing core (in process, 1 thread): {core:>9.0} sig/s = {:.0}% of openssl",
        100.0 * core / openssl
    );
    println!("openssl speed ecdsap256 (1 core):    {openssl:>9.0} sig/s");
    println!();
    println!(
        "{:>9} {:>6} {:>11} {:>13} {:>16} {:>10} {:>10} {:>14}",
        "document",
        "batch",
        "sig/s",
        "sig/s/core",
        "core vs openssl",
        "p50 ms",
        "p99 ms",
        "cost vs CMS"
    );
    let rows = detached
        .iter()
        .map(|f| ("opaque", f, None))
        .chain(pades.iter().map(|f| {
            let same = detached.iter().find(|d| d.batch == f.batch);
            ("PDF", f, same)
        }));
    for (kind, f, baseline) in rows {
        let per_core = f
            .per_core_second
            .map(|v| format!("{v:.0}"))
            .unwrap_or_else(|| "-".into());
        let ratio = f
            .per_core_second
            .map(|v| format!("{:.0}%", 100.0 * v / openssl))
            .unwrap_or_else(|| "-".into());
        // CPU per signature of a PDF over that of an opaque document, same batch size.
        let cost = baseline
            .and_then(|b| Some(b.per_core_second? / f.per_core_second?))
            .map(|c| format!("{c:.2}x"))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:>9} {:>6} {:>11.0} {:>13} {:>16} {:>10.2} {:>10.2} {:>14}",
            kind, f.batch, f.per_second, per_core, ratio, f.p50_ms, f.p99_ms, cost
        );
    }
}
