//! A remote signing provider (CSC API v2) as the signing service uses it, batch by batch: one
//! authorisation of every hash of the batch (one confirmation for the person), the wait for it,
//! one `signHash`, and every signature checked against the credential's key. Against a provider
//! that confirms by itself (the test provider with its automatic confirmation), it measures what
//! the network and the provider add per batch, and whether a batch of 50 costs much more than a
//! batch of one: it should not, since it is the same four calls.

use std::time::{Duration, Instant};

use anyhow::Context;
use aws_lc_rs::digest::{Digest, SHA256, digest};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use signq_signer::keys::csc::{Authorization, CscClient};

/// What one batch size came to.
#[derive(Debug, Clone)]
pub struct RemoteFigure {
    /// Signatures per batch.
    pub batch: usize,
    /// Batches made.
    pub batches: usize,
    /// Median time from asking to holding every signature, checked.
    pub p50: Duration,
    /// The slowest batch.
    pub max: Duration,
}

/// How often a waiting authorisation is asked after.
const POLL: Duration = Duration::from_millis(20);
/// How long a batch may wait for its confirmation.
const PATIENCE: Duration = Duration::from_secs(60);

/// Signs `rounds` batches of each size in `batches` with `credential`, whose certificate's
/// public point is `point`.
pub async fn measure(
    client: &CscClient,
    credential: &str,
    point: &[u8],
    batches: &[usize],
    rounds: usize,
) -> anyhow::Result<Vec<RemoteFigure>> {
    let key = UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point);
    let mut figures = Vec::new();
    for &batch in batches {
        let mut times = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let hashes: Vec<[u8; 32]> = (0..batch)
                .map(|i| {
                    let d = digest(
                        &SHA256,
                        format!("batch {batch} round {round} document {i}").as_bytes(),
                    );
                    d.as_ref().try_into().unwrap_or([0; 32])
                })
                .collect();
            let started = Instant::now();
            let mut answer = client
                .authorize(credential, &hashes, &format!("signq load {batch}/{round}"))
                .await?;
            let sad = loop {
                match answer {
                    Authorization::Granted { sad, .. } => break sad,
                    Authorization::Waiting { handle } => {
                        anyhow::ensure!(
                            started.elapsed() < PATIENCE,
                            "the provider did not confirm within {PATIENCE:?}: measure against \
                             one that confirms by itself"
                        );
                        tokio::time::sleep(POLL).await;
                        answer = client.check(&handle).await?;
                    }
                }
            };
            let signatures = client.sign_hashes(credential, &sad, &hashes).await?;
            for (hash, signature) in hashes.iter().zip(&signatures) {
                let digest = Digest::import_less_safe(hash, &SHA256)
                    .map_err(|_| anyhow::anyhow!("not a SHA-256 hash"))?;
                key.verify_digest(&digest, signature)
                    .ok()
                    .context("a signature does not verify with the credential's key")?;
            }
            times.push(started.elapsed());
        }
        times.sort();
        figures.push(RemoteFigure {
            batch,
            batches: rounds,
            p50: times.get(times.len() / 2).copied().unwrap_or_default(),
            max: times.last().copied().unwrap_or_default(),
        });
    }
    Ok(figures)
}

/// Prints the figures, each batch size's median beside the single signature's.
pub fn report(figures: &[RemoteFigure]) {
    let single = figures
        .iter()
        .find(|f| f.batch == 1)
        .map(|f| f.p50.as_secs_f64());
    println!(
        "{:>6} {:>8} {:>10} {:>10} {:>16}",
        "batch", "batches", "p50 ms", "max ms", "p50 vs 1 sig"
    );
    for f in figures {
        let ratio = single
            .filter(|s| *s > 0.0)
            .map(|s| format!("{:.2}x", f.p50.as_secs_f64() / s))
            .unwrap_or_else(|| "-".into());
        println!(
            "{:>6} {:>8} {:>10.1} {:>10.1} {:>16}",
            f.batch,
            f.batches,
            f.p50.as_secs_f64() * 1000.0,
            f.max.as_secs_f64() * 1000.0,
            ratio
        );
    }
}
