//! Signing throughput, compared with `openssl speed` on the same machine.
//!
//! Why: a batch of thousands of records must not wait on CMS encoding; the target is
//! at least half of OpenSSL's raw ECDSA P-256 sign rate on one core. Run with
//! `cargo test --release -p signq-signer --lib cms -- --ignored --nocapture`.

use std::process::Command;
use std::time::{Duration, Instant};

use super::{Ca, now};

/// OpenSSL's ECDSA P-256 sign/s from `openssl speed -seconds 3 ecdsap256`, if available.
fn openssl_sign_rate() -> Option<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", "3", "ecdsap256"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.contains("ecdsa (nistp256)"))?;
    // "256 bits ecdsa (nistp256)   0.0000s   0.0001s  42866.1  14978.0"
    let fields: Vec<&str> = line.split_whitespace().collect();
    fields.get(fields.len().checked_sub(2)?)?.parse().ok()
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn sign_detached_throughput() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let doc = vec![0x42u8; 1024];
    let t = now();

    for _ in 0..1000 {
        signer.sign_detached(&doc, t, &[]).expect("warm-up");
    }
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(3) {
        for _ in 0..100 {
            std::hint::black_box(signer.sign_detached(std::hint::black_box(&doc), t, &[]))
                .expect("sign");
        }
        n += 100;
    }
    let ours = n as f64 / start.elapsed().as_secs_f64();
    println!("cms sign_detached (1 KiB, one thread): {ours:.0} signatures/s");
    match openssl_sign_rate() {
        Some(theirs) => println!(
            "openssl speed ecdsap256 sign: {theirs:.0} sign/s; ratio {:.0}%",
            100.0 * ours / theirs
        ),
        None => println!("openssl speed unavailable"),
    }
}
