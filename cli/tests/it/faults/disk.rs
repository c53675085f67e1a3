//! A full disk under the store: submits refused with a time to retry, the scheduler up, and
//! service back without a restart once space is freed.

use super::*;

/// Fills the tmpfs under the store with a file until it is full; returns the bytes written.
pub(super) fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).expect("filler");
    let mut written = 0u64;
    for chunk in [1 << 20, 4096, 512] {
        let zeros = vec![0u8; chunk];
        loop {
            match f.write(&zeros) {
                Ok(0) | Err(_) => break,
                Ok(n) => written += n as u64,
            }
        }
    }
    let _ = f.sync_all();
    written
}

pub(super) fn big_submission(key: &str) -> SubmitRequest {
    let mut request = submission("CT-CK", key);
    let mut document = request.document;
    document.resize(BIG_DOCUMENT, b'.');
    request.document = document;
    request
}

/// Fills the disk under the store while submits run: they must fail UNAVAILABLE or
/// RESOURCE_EXHAUSTED with RetryInfo, the scheduler must stay up, and once the filler is gone
/// submits must succeed again without a restart.
pub(super) async fn full_disk(
    services: &mut Services,
    shared: &Shared,
    findings: &mut Findings,
    dir: &Path,
) {
    let fault = "full-disk";
    let filler = dir.join("filler");
    let filled = tokio::task::block_in_place(|| fill(&filler));
    eprintln!(
        "fault suite: {fault}: {:.1} MiB of filler, the tmpfs is full",
        filled as f64 / (1 << 20) as f64
    );
    let mut intake = shared.intake();
    let mut failure = None;
    let began = Instant::now();
    for i in 0.. {
        if began.elapsed() > Duration::from_secs(60) || i >= 600 {
            break;
        }
        let key = format!("disk-{}-{i}", shared.seed);
        match shared
            .call("submit (disk full)", intake.submit(big_submission(&key)))
            .await
        {
            Ok(reply) => shared
                .ledger
                .lock()
                .expect("ledger")
                .submitted(&key, reply.record),
            Err(f) => {
                failure = Some((key, f));
                break;
            }
        }
    }
    let key = match failure {
        None => {
            findings.fix(
                "#16.7 clear errors",
                format!("{fault}: no submit failed with the disk full (the suite's filler?)"),
            );
            None
        }
        Some((key, Fail::Hung)) => {
            findings.fix(
                "#16.7 clear errors",
                format!("{fault}: a submit did not answer within {CALL_TIMEOUT:?}"),
            );
            Some(key)
        }
        Some((key, Fail::Status(s))) => {
            eprintln!(
                "fault suite: {fault}: submit failed {:?}: {}",
                s.code(),
                s.message()
            );
            if !matches!(s.code(), Code::Unavailable | Code::ResourceExhausted) {
                findings.fix(
                    "#16.7 clear errors",
                    format!(
                        "{fault}: a submit failed with {:?} \"{}\" (expected UNAVAILABLE or \
                         RESOURCE_EXHAUSTED with RetryInfo)",
                        s.code(),
                        s.message()
                    ),
                );
            } else if s.get_details_retry_info().is_none() {
                findings.fix(
                    "#16.7 clear errors",
                    format!(
                        "{fault}: a submit failed {:?} without RetryInfo: \"{}\"",
                        s.code(),
                        s.message()
                    ),
                );
            }
            Some(key)
        }
    };
    let _ = std::fs::remove_file(&filler);
    if let Some((status, output)) = services.scheduler_exited() {
        findings.fix(
            "#16.7 clear errors",
            format!(
                "{fault}: the scheduler exited ({status}) when the disk filled: {}",
                tail(&output)
            ),
        );
        shared.scheduler_down();
        restart_scheduler(services, shared).await;
        return;
    }
    // Space is back: the same submit (same key) must go through, without a restart.
    let key = key.unwrap_or_else(|| format!("disk-{}-after", shared.seed));
    let began = Instant::now();
    loop {
        let last = match shared
            .call("submit (disk freed)", intake.submit(big_submission(&key)))
            .await
        {
            Ok(reply) => {
                shared
                    .ledger
                    .lock()
                    .expect("ledger")
                    .submitted(&key, reply.record);
                break;
            }
            Err(f) => f.describe(),
        };
        if began.elapsed() > Duration::from_secs(60) {
            findings.fix(
                "#16.7 clear errors",
                format!(
                    "{fault}: a minute after the space was freed, submits still failed without a \
                     restart: {last}"
                ),
            );
            shared.scheduler_down();
            services.kill_scheduler();
            restart_scheduler(services, shared).await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
