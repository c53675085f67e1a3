//! Renewal without downtime: a deputy's signing key and certificate, and the signing service's
//! own TLS certificate, are renewed with `signq pki` while everything runs. The next batch is
//! signed with the new key and names the new certificate (the record's chain too), the
//! service presents its new certificate from the next connection on, and nobody restarts.

use std::process::Command;

use signq_proto::v1::ApproveRequest;

use super::fixture::{DEPUTY_1, Ward, intake, openssl_verifies, run, sign_in, submit};
use super::flow::{leased, open};
use super::pdf::{show, with_documents};

/// The serial of the certificate the server at `addr` presents on a new connection.
fn presented_serial(addr: &str) -> String {
    let connect = Command::new("openssl")
        .args(["s_client", "-connect", addr, "-servername", "localhost"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("openssl s_client");
    let mut x509 = Command::new("openssl")
        .args(["x509", "-noout", "-serial"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl x509");
    std::io::Write::write_all(x509.stdin.as_mut().expect("stdin"), &connect.stdout).expect("write");
    let out = x509.wait_with_output().expect("serial");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn a_signer_key_and_a_service_certificate_are_renewed_while_everything_runs() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    let mut deputy = sign_in(&ward, DEPUTY_1).await;
    let (mut stream, _) = open(&mut deputy).await;
    let sign = async |deputy: &mut super::fixture::Inbox,
                      stream: &mut tonic::Streaming<_>,
                      intake: &mut signq_proto::v1::intake_client::IntakeClient<
        tonic::transport::Channel,
    >,
                      key: &str| {
        let id = submit(intake, "CT-BS", key).await.id;
        leased(stream).await;
        deputy
            .approve(ApproveRequest {
                record_ids: vec![id.clone()],
                pin: DEPUTY_1.1.into(),
            })
            .await
            .expect("approve");
        with_documents(intake, &id).await
    };
    let before = sign(&mut deputy, &mut stream, &mut intake, "before").await;

    // The deputy's key and certificate renewed in the signing service's keystore.
    let out = run(
        &ward,
        &[
            "pki",
            "signer",
            "--id",
            DEPUTY_1.0,
            "--name",
            "Lê Văn Phúc",
            "--role",
            "deputy",
            "--ward-id",
            "cat-lai",
            "--ward-name",
            "Phường Cát Lái",
        ],
        Some(DEPUTY_1.1),
    );
    assert!(out.status.success(), "{}", show(&out));
    // The signing service's own TLS certificate renewed in place.
    let served = presented_serial(&ward.addr);
    let out = run(
        &ward,
        &[
            "pki",
            "server",
            "--name",
            "signer",
            "--role",
            "signer-service",
        ],
        None,
    );
    assert!(out.status.success(), "{}", show(&out));
    let renewed = presented_serial(&ward.addr);
    assert!(
        served.starts_with("serial=") && renewed.starts_with("serial="),
        "{served} {renewed}"
    );
    assert_ne!(
        served, renewed,
        "the new certificate from the next connection on"
    );

    // The same session signs again: with the new key, naming the new certificate.
    let after = sign(&mut deputy, &mut stream, &mut intake, "after").await;
    assert_ne!(before.certificate_chain[0], after.certificate_chain[0]);
    openssl_verifies(&ward, &before.document, &before.signature, None);
    openssl_verifies(&ward, &after.document, &after.signature, None);
}

/// The value of `series` (`name{labels}`) on the ward's metrics page once it satisfies `ok`.
async fn metric_until(ward: &Ward, series: &str, ok: impl Fn(f64) -> bool) -> f64 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let mut last = None;
    loop {
        let page = super::fixture::http_get(&ward.metrics);
        last = page
            .lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse::<f64>().ok())
            .or(last);
        if let Some(v) = last.filter(|v| ok(*v)) {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{series} never satisfied the condition (last: {last:?})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// A certificate's subject alternative names, as openssl prints them.
fn alt_names(path: &std::path::Path) -> String {
    let out = Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-ext",
            "subjectAltName,extendedKeyUsage,keyUsage",
            "-in",
        ])
        .arg(path)
        .output()
        .expect("openssl x509");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[tokio::test]
async fn expiry_is_measured_and_pki_renew_renews_what_expires_soon() {
    let ward = Ward::start(&[]);
    const DAY: f64 = 86_400.0;
    let scheduler = r#"signq_certificate_expiry_seconds{certificate="scheduler",kind="service"}"#;
    let left = metric_until(&ward, scheduler, |s| s > 800.0 * DAY).await;
    assert!(left <= 825.0 * DAY, "{left}");
    metric_until(
        &ward,
        r#"signq_certificate_expiry_seconds{certificate="ca",kind="ca"}"#,
        |s| s > 800.0 * DAY,
    )
    .await;
    metric_until(
        &ward,
        r#"signq_certificate_expiry_seconds{certificate="cat-lai_deputy-1",kind="signer"}"#,
        |s| s > 300.0 * DAY,
    )
    .await;
    let crl = metric_until(&ward, "signq_crl_expiry_seconds", |s| s > 0.0).await;
    assert!(
        (6.0 * DAY..=7.01 * DAY).contains(&crl),
        "a fresh CRL has 7 days: {crl} s"
    );

    // Renewed for 20 days: the same grants, a new serial, and the metric follows.
    let cert = ward.path("pki/issued/scheduler.crt.pem");
    let granted = alt_names(&cert);
    let out = run(&ward, &["pki", "renew", "scheduler", "--days", "20"], None);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(
        alt_names(&cert),
        granted,
        "the renewal grants what the old one did"
    );
    metric_until(&ward, scheduler, |s| s < 20.01 * DAY).await;
    // The scheduler serves with it, from the next connection on.
    let mut client = intake(&ward).await;
    let _ = submit(&mut client, "CT-BS", "after-renewal").await;

    // What expires within 30 days is renewed, and nothing else.
    let out = run(
        &ward,
        &[
            "pki",
            "renew",
            "--expiring-within",
            "30",
            "--days",
            "400",
            "--crl",
        ],
        None,
    );
    assert!(out.status.success(), "{}", show(&out));
    let said = show(&out);
    assert!(said.contains("issued scheduler"), "{said}");
    assert!(!said.contains("issued mot-cua"), "{said}");
    assert!(said.contains("CRL re-signed"), "{said}");
    metric_until(&ward, scheduler, |s| s > 399.0 * DAY).await;

    // A signer's certificate goes with their PIN: renewed elsewhere, and said so.
    let out = run(&ward, &["pki", "renew", DEPUTY_1.0], None);
    assert!(!out.status.success());
    assert!(
        show(&out).contains("not renewed by `signq pki renew`: `signq pki signer`"),
        "{}",
        show(&out)
    );
}
