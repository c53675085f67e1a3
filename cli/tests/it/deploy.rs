//! The operators' files in `deploy/`: Prometheus accepts the configuration and the alert rules,
//! and every metric the dashboard and the alerts name is one the scheduler and the signer service
//! really export (checked against a live metrics page after the events that create each series).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use signq_proto::v1 as pb;

use super::fixture::{
    DEPUTY_1, DEPUTY_2, DIRECTOR, Ward, batch, http_get, intake, scheduler_channel, sign_in,
    submission, submit,
};
use super::flow::{leased, open};

fn deploy(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("deploy")
        .join(rel)
}

fn promtool(args: &[&str], file: &Path) {
    let out = Command::new("promtool")
        .args(args)
        .arg(file)
        .output()
        .expect("promtool (the test command installs it)");
    assert!(
        out.status.success(),
        "promtool {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `signq_*` metric name in a text.
fn names(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(at) = text[i..].find("signq_") {
        let start = i + at;
        let mut end = start;
        while end < bytes.len()
            && (bytes[end].is_ascii_lowercase()
                || bytes[end].is_ascii_digit()
                || bytes[end] == b'_')
        {
            end += 1;
        }
        found.insert(text[start..end].to_string());
        i = end;
    }
    found
}

#[test]
fn prometheus_accepts_the_config_and_the_rules() {
    promtool(&["check", "rules"], &deploy("prometheus/alerts.yml"));
    promtool(&["check", "config"], &deploy("prometheus/prometheus.yml"));
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(deploy("grafana/signq.json")).expect("dashboard"),
    )
    .expect("JSON");
    assert!(
        dashboard["panels"]
            .as_array()
            .is_some_and(|p| p.len() >= 10)
    );
}

#[tokio::test]
async fn every_metric_named_in_deploy_is_exported() {
    let ward = Ward::start(&["--lease-timeout-secs", "1", "--submit-per-client", "3"]);
    let mut intake = intake(&ward).await;
    // A webhook (where nothing listens): its lag and dead-letter gauges.
    pb::admin_client::AdminClient::new(scheduler_channel(&ward, Some("operator")).await)
        .register_webhook(pb::RegisterWebhookRequest {
            ward: "cat-lai".into(),
            url: "https://127.0.0.1:9/".into(),
            secret: String::new(),
        })
        .await
        .expect("register a webhook");
    // Signed (leases, signatures, waits), escalated, expired, rate-limited, wrong PINs and a lockout.
    let mut deputy = sign_in(&ward, DEPUTY_2).await;
    let (mut stream, _) = open(&mut deputy).await;
    let r = submit(&mut intake, "HT-KS", "dep-1").await;
    assert_eq!(leased(&mut stream).await.id, r.id);
    deputy
        .approve(pb::ApproveRequest {
            record_ids: vec![r.id],
            pin: DEPUTY_2.1.into(),
        })
        .await
        .expect("approve");
    let mut director = sign_in(&ward, DIRECTOR).await;
    let (mut director_stream, _) = open(&mut director).await;
    let mut urgent = submission("CT-BS", "dep-2");
    urgent.deadline = Some(prost_types::Timestamp::from(
        std::time::SystemTime::now() + Duration::from_secs(600),
    ));
    intake.submit(urgent).await.expect("submit");
    let got = leased(&mut director_stream).await;
    assert!(
        got.escalated,
        "no deputy for CT-BS is online: the guard escalates"
    );
    // The director's lease expires after a second (counted by the release metric waited for below).
    let mut last = Ok(());
    for i in 0..5 {
        last = intake
            .submit(submission("HT-KS", &format!("dep-rl-{i}")))
            .await
            .map(|_| ());
    }
    assert!(
        last.is_err(),
        "the fourth submit within a second is rate limited"
    );
    let mut signer = ward.scheduler().await;
    for _ in 0..5 {
        let _ = signer
            .sign(batch((DEPUTY_1.0, "000000"), "CT-BS", 1, Vec::new()))
            .await;
    }
    let mut named = BTreeSet::new();
    for file in ["grafana/signq.json", "prometheus/alerts.yml"] {
        named.extend(names(&std::fs::read_to_string(deploy(file)).expect("read")));
    }
    assert!(named.len() >= 15, "{named:?}");
    // Wait (bounded) until every series has appeared: the lease expiry and the lockout happen
    // in their own time, sooner or later on a busy machine.
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let exported = names(&http_get(&ward.metrics));
        let missing: Vec<_> = named.difference(&exported).cloned().collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "named in deploy/ but not exported: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
