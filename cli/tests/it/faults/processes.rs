//! Faults to the processes: the scheduler, the signing service or both killed (SIGKILL), and
//! the signing service stopped (SIGSTOP) for longer than any call may take.

use super::*;

pub(super) async fn kill_scheduler(services: &mut Services, shared: &Shared, rng: &mut StdRng) {
    shared.scheduler_down();
    services.kill_scheduler();
    tokio::time::sleep(Duration::from_millis(rng.random_range(0..500))).await;
    restart_scheduler(services, shared).await;
}

pub(super) async fn kill_both(services: &mut Services, shared: &Shared, rng: &mut StdRng) {
    shared.scheduler_down();
    if rng.random_bool(0.5) {
        services.kill_signer();
        services.kill_scheduler();
    } else {
        services.kill_scheduler();
        services.kill_signer();
    }
    tokio::time::sleep(Duration::from_millis(rng.random_range(0..500))).await;
    must_start(
        services.start_signer().await,
        "the signing service (restart)",
    );
    restart_scheduler(services, shared).await;
}

/// Kills the signing service in the middle of an approval, then, while it is down, approves and
/// signs in; then starts it again.
pub(super) async fn kill_signer(
    services: &mut Services,
    shared: &Shared,
    findings: &mut Findings,
    rng: &mut StdRng,
) {
    let fault = "kill-signer";
    let probe = prepare_probe(shared).await;
    let in_flight = Duration::from_millis(rng.random_range(5..40));
    let down_for = Duration::from_millis(rng.random_range(500..2000));
    match probe {
        Ok(mut probe) => {
            let approving = async {
                let result = probe.approve(shared, "approve (probe)").await;
                (probe, result)
            };
            let killing = async {
                tokio::time::sleep(in_flight).await;
                services.kill_signer();
            };
            let ((mut probe, result), ()) = tokio::join!(approving, killing);
            let down = Instant::now();
            judge_signer_call(findings, fault, "an approval in flight", "killed", &result);
            let result = probe.approve(shared, "approve (probe)").await;
            judge_signer_call(findings, fault, "an approval", "down", &result);
            let result = open_session(shared, DEPUTY_1, "open_session (probe)")
                .await
                .map(|_| ());
            judge_signer_call(findings, fault, "a sign-in", "down", &result);
            tokio::time::sleep(down_for.saturating_sub(down.elapsed())).await;
        }
        Err(why) => {
            eprintln!("fault suite: {fault}: no probe before the kill: {why}");
            services.kill_signer();
            tokio::time::sleep(down_for).await;
        }
    }
    must_start(
        services.start_signer().await,
        "the signing service (restart)",
    );
}

/// Stops the signing service for longer than any call may take: intake must keep working, and
/// approvals and sign-ins must fail rather than hang.
pub(super) async fn stop_signer(
    services: &mut Services,
    shared: &Shared,
    findings: &mut Findings,
    rng: &mut StdRng,
) {
    let fault = "stop-signer";
    let stop_for = CALL_TIMEOUT + Duration::from_millis(rng.random_range(2000..4000));
    let probe = prepare_probe(shared).await;
    services.stop_signer();
    let stopped = Instant::now();
    let intake_probe = async {
        let mut intake = shared.intake();
        let n = shared.probes.fetch_add(1, Ordering::SeqCst);
        let key = format!("probe-{}-{n}", shared.seed);
        let submitted = shared
            .call("submit (probe)", intake.submit(submission("HT-KS", &key)))
            .await;
        match submitted {
            Ok(reply) => {
                let id = reply.record.as_ref().map(|r| r.id.clone());
                shared
                    .ledger
                    .lock()
                    .expect("ledger")
                    .submitted(&key, reply.record);
                let id = id.unwrap_or_default();
                shared
                    .call(
                        "get_record (probe)",
                        intake.get_record(GetRecordRequest {
                            id,
                            include_document: true,
                        }),
                    )
                    .await
                    .map(|_| ())
            }
            Err(f) => Err(f),
        }
    };
    let approve_probe = async {
        match probe {
            Ok(mut probe) => Some(probe.approve(shared, "approve (probe)").await),
            Err(why) => {
                eprintln!("fault suite: {fault}: no approval probe: {why}");
                None
            }
        }
    };
    let session_probe = async {
        open_session(shared, DEPUTY_1, "open_session (probe)")
            .await
            .map(|_| ())
    };
    let (intake_result, approve_result, session_result) =
        tokio::join!(intake_probe, approve_probe, session_probe);
    if let Err(f) = &intake_result {
        findings.fix(
            "#16.4 the scheduler keeps answering",
            format!(
                "{fault}: a submit and get (which need no signing service) failed while it was \
                 stopped: {}",
                f.describe()
            ),
        );
    }
    if let Some(result) = &approve_result {
        judge_signer_call(findings, fault, "an approval", "stopped", result);
    }
    judge_signer_call(findings, fault, "a sign-in", "stopped", &session_result);
    tokio::time::sleep(stop_for.saturating_sub(stopped.elapsed())).await;
    services.continue_signer();
}
