//! Five wrong PINs lock the key; the lock survives a restart; the right PIN works after the lock.
//! The director's ward screen sees a locked-out signer, until when, and the records they hold.

use std::time::Duration;

use signq_proto::v1::admin_client::AdminClient;
use signq_proto::v1::{ApproveRequest, GetSignerKeyRequest, ListSignersRequest, SignerInfo};
use tonic::Code;

use super::fixture::{DEPUTY_1, DIRECTOR, Ward, batch, intake, scheduler_channel, sign_in, submit};
use super::flow::{leased, open};
use super::services::{Services, Started};

/// The reason code of a refusal's ErrorInfo and the facts beside it.
fn error_info(status: &tonic::Status) -> (String, std::collections::HashMap<String, String>) {
    use tonic_types::StatusExt;
    let details = status.get_error_details();
    let info = details.error_info().expect("an ErrorInfo detail");
    assert_eq!(info.domain, signq_kit::reason::SIGNER);
    (info.reason.clone(), info.metadata.clone())
}

#[tokio::test]
async fn five_wrong_pins_lock_the_key_across_a_restart_until_the_lock_ends() {
    // A short lock so the test can wait it out; the window still spans the whole test.
    let mut ward = Ward::start(&["--lockout-window-secs", "600", "--lockout-secs", "4"]);
    let mut client = ward.scheduler().await;
    let wrong = |pin: &str| batch((DIRECTOR.0, pin), "DD-BD", 1, Vec::new());
    for left in (1..5).rev() {
        let status = client.sign(wrong("000000")).await.expect_err("wrong PIN");
        assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
        assert!(
            status
                .message()
                .contains(&format!("{left} attempt(s) left")),
            "{}",
            status.message()
        );
        // For programs (the tablet words its own message): the reason and the attempts left.
        let (reason, facts) = error_info(&status);
        assert_eq!(reason, "WRONG_PIN");
        assert_eq!(facts.get("attempts_left"), Some(&left.to_string()));
    }
    let status = client
        .sign(wrong("000000"))
        .await
        .expect_err("fifth wrong PIN");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("locked until"),
        "{}",
        status.message()
    );
    let (reason, facts) = error_info(&status);
    assert_eq!(reason, "LOCKED");
    let until = facts.get("until").expect("until when the key is locked");
    time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("until {until:?}: {e}"));
    let status = client
        .sign(batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect_err("locked");
    assert!(
        status.message().contains("locked until"),
        "{}",
        status.message()
    );

    ward.kill_and_restart();
    let mut client = ward.scheduler().await;
    let status = client
        .sign(batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect_err("still locked after restart");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let key = client
        .get_signer_key(GetSignerKeyRequest {
            signer_id: DIRECTOR.0.into(),
        })
        .await
        .expect("get")
        .into_inner()
        .key
        .expect("key");
    let until = key.locked_until.expect("locked_until is reported");

    // Wait out the lock (reported by the service, not assumed by the test).
    loop {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        if now > until.seconds {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let reply = client
        .sign(batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect("right PIN after the lock");
    assert_eq!(reply.into_inner().signatures.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_wrong_pins_count_as_exactly_five() {
    // Rate limits out of the way: this is about how failures are counted.
    let ward = Ward::start(&["--pin-attempts-per-minute", "100000"]);
    let client = ward.scheduler().await;
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let mut client = client.clone();
        calls.spawn(async move {
            client
                .verify_pin(signq_proto::v1::VerifyPinRequest {
                    signer_id: DIRECTOR.0.into(),
                    pin: "000000".into(),
                })
                .await
                .expect_err("a wrong PIN")
        });
    }
    let mut wrong = 0;
    let mut locked = 0;
    while let Some(status) = calls.join_next().await {
        let status = status.expect("task");
        match status.code() {
            Code::Unauthenticated => wrong += 1,
            Code::PermissionDenied if status.message().contains("locked until") => locked += 1,
            other => panic!("unexpected {other:?}: {}", status.message()),
        }
    }
    assert_eq!((wrong, locked), (4, 46), "four tries left, then the lock");
    let page = super::fixture::http_get(&ward.metrics);
    let failures: f64 = page
        .lines()
        .find(|l| l.starts_with("signq_signer_pin_failures_total"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .expect("the failure counter");
    assert_eq!(
        failures, 5.0,
        "exactly five wrong PINs were tried against the key"
    );
}

/// The ward's signers as the operator's ListSigners gives them.
async fn list_signers(ward: &Ward) -> Vec<SignerInfo> {
    AdminClient::new(scheduler_channel(ward, Some("operator")).await)
        .list_signers(ListSignersRequest {
            ward: "cat-lai".into(),
        })
        .await
        .expect("ListSigners")
        .into_inner()
        .signers
}

/// A deputy holding two records locks their key with five wrong PINs: ListSigners says until
/// when (as the signing service does) and which records they hold, soonest due first, with
/// their titles, deadlines and lease ends. With the signing service gone it still answers, the
/// records without the lock, and the scheduler warns why.
#[tokio::test(flavor = "multi_thread")]
async fn list_signers_shows_a_locked_signer_and_the_records_they_hold() {
    let mut services = Services::provision(None, &[], &[]);
    let started = services.start_signer().await;
    assert!(matches!(started, Started::Ready), "{started:?}");
    let started = services
        .start_scheduler_with(&[], &[("RUST_LOG", "warn")])
        .await;
    assert!(matches!(started, Started::Ready), "{started:?}");
    let ward = &services.ward;

    let mut deputy = sign_in(ward, DEPUTY_1).await;
    let (mut stream, _) = open(&mut deputy).await;
    let mut intake = intake(ward).await;
    let mut ids = Vec::new();
    for key in ["held-1", "held-2"] {
        ids.push(submit(&mut intake, "CT-BS", key).await.id);
    }
    let mut given = vec![leased(&mut stream).await.id, leased(&mut stream).await.id];
    given.sort();
    ids.sort();
    assert_eq!(given, ids, "both records are leased to the deputy");
    for _ in 0..5 {
        let status = deputy
            .approve(ApproveRequest {
                record_ids: ids.clone(),
                pin: "000000".into(),
            })
            .await
            .expect_err("a wrong PIN");
        assert!(
            matches!(
                status.code(),
                Code::Unauthenticated | Code::PermissionDenied
            ),
            "{status:?}"
        );
    }

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let signers = list_signers(ward).await;
    let info = |id: &str| {
        signers
            .iter()
            .find(|s| s.signer_id == id)
            .cloned()
            .unwrap_or_else(|| panic!("{id} is listed: {signers:?}"))
    };
    let locked = info(DEPUTY_1.0);
    let until = locked.locked_until.expect("the deputy's key is locked");
    assert!(
        until.seconds > now + 14 * 60 && until.seconds <= now + 16 * 60,
        "locked for the default 15 minutes: {until:?} (now {now})"
    );
    assert_eq!(locked.leased, 2);
    let mut held: Vec<_> = locked.held.iter().map(|h| h.record_id.clone()).collect();
    let order: Vec<_> = locked
        .held
        .iter()
        .map(|h| (h.deadline.expect("a deadline").seconds, h.record_id.clone()))
        .collect();
    assert!(order.is_sorted(), "soonest due first: {order:?}");
    held.sort();
    assert_eq!(held, ids);
    for h in &locked.held {
        assert!(h.title.starts_with("Hồ sơ held-"), "{h:?}");
        let lease_end = h.lease_expires_at.expect("the lease's end").seconds;
        assert!(lease_end > now, "{h:?}");
    }
    let director = info(DIRECTOR.0);
    assert_eq!(
        director.locked_until, None,
        "the director's key is not locked"
    );
    assert!(director.held.is_empty());

    // The signing service gone: the records still, the lock unknown, and a warning.
    services.kill_signer();
    let signers = list_signers(&services.ward).await;
    let deputy = signers
        .iter()
        .find(|s| s.signer_id == DEPUTY_1.0)
        .expect("the deputy is listed");
    assert_eq!(deputy.locked_until, None);
    assert_eq!(deputy.held.len(), 2);
    let (_, scheduler_log) = services.outputs();
    assert!(
        scheduler_log.contains("listing signers without their keys' locks"),
        "{scheduler_log}"
    );
}
