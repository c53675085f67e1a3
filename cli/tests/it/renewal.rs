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
