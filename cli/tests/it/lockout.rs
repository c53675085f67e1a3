//! Five wrong PINs lock the key; the lock survives a restart; the right PIN works after the lock.

use std::time::Duration;

use signq_proto::v1::GetSignerKeyRequest;
use tonic::Code;

use super::fixture::{DIRECTOR, Ward, batch};

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
