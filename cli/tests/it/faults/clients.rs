//! The clients of the fault suite: the intake desk submitting, signers approving on their
//! tablets, and the probe a fault uses to call what needs the signing service.

use super::*;

/// The intake client: submits, a third of them land records (director only), the rest birth
/// registrations (deputy 2); a failed submit is sent again with the same key.
pub(super) async fn submitter(shared: Arc<Shared>) {
    let mut intake = shared.intake();
    let mut n = 0u64;
    let mut attempts = 0;
    while !shared.stop.load(Ordering::SeqCst) {
        shared.wait_while_paused().await;
        let key = format!("fault-{}-{n}", shared.seed);
        let procedure = if n % 3 == 2 { "DD-BD" } else { "HT-KS" };
        match shared
            .call("submit", intake.submit(submission(procedure, &key)))
            .await
        {
            Ok(reply) => {
                shared
                    .ledger
                    .lock()
                    .expect("ledger")
                    .submitted(&key, reply.record);
                n += 1;
                attempts = 0;
            }
            Err(_) => {
                attempts += 1;
                if attempts >= 3 {
                    n += 1;
                    attempts = 0;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        tokio::time::sleep(SUBMIT_PAUSE).await;
    }
}

/// Signs in on the signer's device.
pub(super) async fn open_session(
    shared: &Shared,
    who: (&'static str, &'static str),
    call: &'static str,
) -> Result<Inbox, Fail> {
    let channel = shared.channel(&shared.devices[who.0]);
    let reply = shared
        .call(
            call,
            InboxClient::new(channel.clone()).open_session(OpenSessionRequest {
                signer_id: who.0.into(),
                pin: who.1.into(),
            }),
        )
        .await?;
    let token = reply.session.map(|s| s.token).unwrap_or_default();
    Ok(InboxClient::with_interceptor(channel, BearerToken(token)))
}

/// The records leased to the signer now, at most `max`: from the inbox's snapshot, as a tablet
/// sees them first (after each approval the scheduler leases the signer more at once), or, if it
/// holds none, pulled.
pub(super) async fn leased(
    shared: &Shared,
    inbox: &mut Inbox,
    max: usize,
    probe: bool,
) -> Result<Vec<String>, Fail> {
    let (stream, next, pull) = if probe {
        (
            "stream_inbox (probe)",
            "stream_inbox message (probe)",
            "pull_next (probe)",
        )
    } else {
        ("stream_inbox", "stream_inbox message", "pull_next")
    };
    let mut inbox_stream = shared
        .call(stream, inbox.stream_inbox(StreamInboxRequest {}))
        .await?;
    let first = shared.bounded(next, inbox_stream.message()).await?;
    drop(inbox_stream);
    let held: Vec<String> = match first.and_then(|m| m.event) {
        Some(stream_inbox_response::Event::Snapshot(s)) => {
            s.records.into_iter().map(|r| r.id).take(max).collect()
        }
        _ => Vec::new(),
    };
    if !held.is_empty() {
        return Ok(held);
    }
    let pulled = shared
        .call(
            pull,
            inbox.pull_next(PullNextRequest {
                max: i32::try_from(max).unwrap_or(i32::MAX),
            }),
        )
        .await?;
    Ok(pulled.records.into_iter().map(|r| r.id).collect())
}

/// A signer on their tablet: signs in, approves at most `max` of the records leased to them with
/// the PIN, pauses; signs in again when the session is gone. Signs at most `budget` records.
pub(super) async fn approver(
    shared: Arc<Shared>,
    who: (&'static str, &'static str),
    max: usize,
    pause: Duration,
    budget: usize,
) {
    let mut session: Option<Inbox> = None;
    let mut signed = 0;
    while !shared.stop.load(Ordering::SeqCst) {
        shared.wait_while_paused().await;
        if signed >= budget {
            tokio::time::sleep(pause).await;
            continue;
        }
        let Some(inbox) = session.as_mut() else {
            session = open_session(&shared, who, "open_session").await.ok();
            if session.is_none() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            continue;
        };
        let ids = match leased(&shared, inbox, max, false).await {
            Ok(ids) => ids,
            Err(_) => {
                session = None;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if ids.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        match shared
            .call(
                "approve",
                inbox.approve(ApproveRequest {
                    record_ids: ids,
                    pin: who.1.into(),
                }),
            )
            .await
        {
            Ok(r) => {
                signed += r
                    .records
                    .iter()
                    .filter(|r| r.state == RecordState::Signed as i32)
                    .count();
                shared.ledger.lock().expect("ledger").approved(r.records);
            }
            Err(Fail::Status(s)) if s.code() == Code::FailedPrecondition => {}
            Err(_) => session = None,
        }
        tokio::time::sleep(pause).await;
    }
}

/// Deputy 1, signed in, holding a leased certified copy (CT-BS, which nobody else pulls): what
/// the suite approves with while the signing service is gone.
pub(super) struct Probe {
    inbox: Inbox,
    leased: Vec<String>,
}

pub(super) async fn prepare_probe(shared: &Shared) -> Result<Probe, String> {
    // The signing service may have just come back (a breaker may still hold calls back).
    let mut signed_in = Err(String::new());
    for _ in 0..20 {
        signed_in = open_session(shared, DEPUTY_1, "open_session (probe)")
            .await
            .map_err(|f| format!("deputy 1 could not sign in: {}", f.describe()));
        if signed_in.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut inbox = signed_in?;
    let mut intake = shared.intake();
    for _ in 0..20 {
        let n = shared.probes.fetch_add(1, Ordering::SeqCst);
        let key = format!("probe-{}-{n}", shared.seed);
        if let Ok(reply) = shared
            .call("submit (probe)", intake.submit(submission("CT-BS", &key)))
            .await
        {
            shared
                .ledger
                .lock()
                .expect("ledger")
                .submitted(&key, reply.record);
        }
        if let Ok(ids) = leased(shared, &mut inbox, 1, true).await
            && !ids.is_empty()
        {
            return Ok(Probe { inbox, leased: ids });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err("deputy 1 leased nothing".into())
}

impl Probe {
    /// Approves the probe's record with the PIN.
    pub(super) async fn approve(
        &mut self,
        shared: &Shared,
        call: &'static str,
    ) -> Result<(), Fail> {
        let reply = shared
            .call(
                call,
                self.inbox.approve(ApproveRequest {
                    record_ids: self.leased.clone(),
                    pin: DEPUTY_1.1.into(),
                }),
            )
            .await?;
        shared
            .ledger
            .lock()
            .expect("ledger")
            .approved(reply.records);
        Ok(())
    }
}

/// Judges a call that needs the signing service, made while it was `state`: it may fail, but it
/// must answer (within [`CALL_TIMEOUT`]), and fail with UNAVAILABLE and RetryInfo.
pub(super) fn judge_signer_call(
    findings: &mut Findings,
    fault: &str,
    what: &str,
    state: &str,
    result: &Result<(), Fail>,
) {
    match result {
        Ok(()) => {}
        Err(Fail::Hung) => findings.fix(
            "#16.4 deadlines",
            format!(
                "{fault}: {what} while the signing service was {state} did not answer within \
                 {CALL_TIMEOUT:?}"
            ),
        ),
        Err(Fail::Status(s)) if s.code() != Code::Unavailable => findings.fix(
            "#16.4 signer calls fail clearly",
            format!(
                "{fault}: {what} while the signing service was {state} failed with {:?} \
                 \"{}\" (expected UNAVAILABLE with RetryInfo)",
                s.code(),
                s.message()
            ),
        ),
        Err(Fail::Status(s)) if s.get_details_retry_info().is_none() => findings.fix(
            "#16.4 signer calls fail clearly",
            format!(
                "{fault}: {what} while the signing service was {state} failed UNAVAILABLE \
                 without RetryInfo: \"{}\"",
                s.message()
            ),
        ),
        Err(_) => {}
    }
}
