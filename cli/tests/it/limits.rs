//! Rate limits answer RESOURCE_EXHAUSTED with google.rpc.RetryInfo: PIN attempts per signer, and
//! the per-key signing cap that keeps a stolen session from signing thousands of records.

use tonic::Code;

use super::fixture::{DIRECTOR, Ward, batch};

fn exhausted(status: &tonic::Status, what: &str) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains(what), "{}", status.message());
    let delay = signq_kit::limit::retry_after(status).expect("RetryInfo with a delay");
    assert!(!delay.is_zero());
}

#[tokio::test]
async fn pin_attempts_are_rate_limited_per_signer() {
    let ward = Ward::start(&["--pin-attempts-per-minute", "2"]);
    let mut client = ward.scheduler().await;
    for _ in 0..2 {
        client
            .sign(batch((DIRECTOR.0, "000000"), "DD-BD", 1, Vec::new()))
            .await
            .expect_err("wrong PIN");
    }
    let status = client
        .sign(batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect_err("over the PIN attempt limit");
    exhausted(&status, "PIN attempts");
}

#[tokio::test]
async fn signatures_per_key_are_capped() {
    let ward = Ward::start(&["--signatures-per-hour", "10", "--signature-burst", "5"]);
    let mut client = ward.scheduler().await;
    client
        .sign(batch(DIRECTOR, "DD-BD", 5, Vec::new()))
        .await
        .expect("within the burst");
    let status = client
        .sign(batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect_err("over the cap");
    exhausted(&status, "signatures for this signer");
}
