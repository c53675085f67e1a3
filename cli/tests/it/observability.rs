//! The metrics page and gRPC health.

use super::fixture::{DIRECTOR, Ward, batch, http_get as get};

#[tokio::test]
async fn metrics_count_signatures_refusals_and_latency() {
    let ward = Ward::start(&[]);
    let mut client = ward.scheduler().await;
    client
        .sign(batch(DIRECTOR, "DD-BD", 3, Vec::new()))
        .await
        .expect("sign");
    client
        .sign(batch((DIRECTOR.0, "000000"), "DD-BD", 1, Vec::new()))
        .await
        .expect_err("wrong PIN");
    let page = get(&ward.metrics);
    for needle in [
        "signq_signer_signatures_total{role=\"director\"} 3",
        "signq_signer_pin_failures_total 1",
        "signq_signer_refusals_total{reason=\"wrong_pin\"} 1",
        "signq_signer_sign_duration_seconds_bucket",
        "signq_signer_batch_documents_bucket",
        "signq_signer_lockouts_total 0",
    ] {
        assert!(page.contains(needle), "missing {needle:?} in\n{page}");
    }
}

#[tokio::test]
async fn health_reports_serving() {
    let ward = Ward::start(&[]);
    let tls = signq_kit::tls::ClientTls::new(&ward.tls_files("scheduler")).expect("tls");
    let channel = signq_kit::tls::connect(&ward.addr, &tls)
        .await
        .expect("connect");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    let reply = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "signq.v1.Signer".into(),
        })
        .await
        .expect("health");
    assert_eq!(
        reply.into_inner().status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
}
