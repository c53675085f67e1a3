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

/// The spans a service logged when they closed (with `SIGNQ_LOG_SPANS=1` and JSON logs): each
/// as its name, its fields, and the names of the spans it was in.
fn closed_spans(output: &str) -> Vec<(String, serde_json::Value, Vec<String>)> {
    output
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["fields"]["message"] == "close")
        .map(|v| {
            let name = v["span"]["name"].as_str().unwrap_or_default().to_string();
            let parents = v["spans"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s["name"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            (name, v["span"].clone(), parents)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn one_record_is_followed_through_both_services_by_its_spans() {
    use super::services::{Services, Started};
    let mut services = Services::provision(None, &[], &[]);
    let env = [
        ("SIGNQ_LOG_FORMAT", "json"),
        ("SIGNQ_LOG_SPANS", "1"),
        ("RUST_LOG", "info"),
    ];
    let started = services.start_signer_with(&env).await;
    assert!(matches!(started, Started::Ready), "{started:?}");
    let started = services.start_scheduler_with(&[], &env).await;
    assert!(matches!(started, Started::Ready), "{started:?}");

    let id = super::flow::submit_and_approve(&services.ward, "followed").await;

    // Each stage's span names the record (and its ward), inside the RPC's span, in both
    // services' logs.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (signer_log, scheduler_log) = services.outputs();
        let scheduler = closed_spans(&scheduler_log);
        let signer = closed_spans(&signer_log);
        let names_record = |fields: &serde_json::Value| fields.to_string().contains(&id);
        let found = |spans: &[(String, serde_json::Value, Vec<String>)], stage: &str| {
            spans
                .iter()
                .any(|(name, fields, _)| name == stage && names_record(fields))
        };
        let submit_in_rpc = scheduler.iter().any(|(name, fields, parents)| {
            name == "submit"
                && names_record(fields)
                && fields["ward"] == "cat-lai"
                && parents.iter().any(|p| p == "rpc")
        });
        if submit_in_rpc
            && found(&scheduler, "lease")
            && found(&scheduler, "approve")
            && found(&signer, "sign")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the record's spans did not all show: submit in rpc {submit_in_rpc}, lease {}, approve {}, sign {}\n{scheduler_log}",
            found(&scheduler, "lease"),
            found(&scheduler, "approve"),
            found(&signer, "sign"),
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
