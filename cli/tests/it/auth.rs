//! Only certificates from the ward CA that are valid, not revoked and carry the scheduler role may
//! call the signer service.

use signq_kit::identity::Role;
use signq_signer::pki::{Pki, Validity};
use tonic::Code;

use super::fixture::{DIRECTOR, Ward, batch, run};

async fn refusal(
    mut client: signq_proto::v1::signer_client::SignerClient<tonic::transport::Channel>,
) -> tonic::Status {
    client
        .sign(batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect_err("call must be refused")
}

fn identity(
    files: &signq_kit::tls::TlsFiles,
) -> (
    Vec<rustls_pki_types::CertificateDer<'static>>,
    rustls_pki_types::PrivateKeyDer<'static>,
) {
    files.identity().expect("identity")
}

#[tokio::test]
async fn the_scheduler_role_is_admitted() {
    let ward = Ward::start(&[]);
    let reply = ward
        .scheduler()
        .await
        .sign(batch(DIRECTOR, "DD-BD", 2, Vec::new()))
        .await
        .expect("sign");
    assert_eq!(reply.into_inner().signatures.len(), 2);
}

#[tokio::test]
async fn no_certificate_is_unauthenticated() {
    let ward = Ward::start(&[]);
    let status = refusal(ward.client_with(None).await).await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("no client certificate"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_unauthenticated() {
    let ward = Ward::start(&[]);
    let other = tempfile::tempdir().expect("tempdir");
    let ward_info = signq_signer::pki::WardInfo {
        id: "hac-thanh".into(),
        name: "Phường Hạc Thành".into(),
    };
    let pki = Pki::init(
        other.path(),
        &ward_info,
        b"other-passphrase",
        Validity::days_from_now(30),
    )
    .expect("init");
    let (issued, key) = pki
        .issue_client(
            "scheduler",
            Role::Scheduler,
            &[],
            Validity::days_from_now(30),
        )
        .expect("issue");
    let foreign = (
        vec![rustls_pki_types::CertificateDer::from(issued.cert_der)],
        rustls_pki_types::PrivateKeyDer::Pkcs8(key.to_vec().into()),
    );
    let status = refusal(ward.client_with(Some(foreign)).await).await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("not issued by this ward's CA"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn an_expired_certificate_is_unauthenticated() {
    let ward = Ward::start(&[]);
    let now = time::OffsetDateTime::now_utc();
    let past = Validity {
        not_before: now - time::Duration::days(30),
        not_after: now - time::Duration::days(1),
    };
    let (issued, key) = ward
        .pki()
        .issue_client("old-scheduler", Role::Scheduler, &[], past)
        .expect("issue");
    ward.publish(&issued, &key);
    let status = refusal(
        ward.client_with(Some(identity(&ward.tls_files("old-scheduler"))))
            .await,
    )
    .await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("expired"), "{}", status.message());
}

#[tokio::test]
async fn a_revoked_certificate_is_unauthenticated_without_a_restart() {
    let ward = Ward::start(&[]);
    let issued = run(
        &ward,
        &[
            "pki",
            "client",
            "--name",
            "spare-scheduler",
            "--role",
            "scheduler",
        ],
        None,
    );
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    ward.client_as("spare-scheduler")
        .await
        .sign(batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect("valid before revocation");
    let revoked = run(
        &ward,
        &[
            "pki",
            "revoke",
            "spare-scheduler",
            "--reason",
            "key-compromise",
        ],
        None,
    );
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let status = refusal(ward.client_as("spare-scheduler").await).await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(status.message().contains("revoked"), "{}", status.message());
}

#[tokio::test]
async fn a_certificate_without_the_scheduler_role_is_permission_denied() {
    let ward = Ward::start(&[]);
    let issued = run(
        &ward,
        &["pki", "client", "--name", "mot-cua", "--role", "intake"],
        None,
    );
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    let status = refusal(ward.client_as("mot-cua").await).await;
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains("needs [scheduler]"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_revoked_signing_certificate_signs_no_more_and_its_signatures_fail_verification() {
    let ward = Ward::start(&[]);
    let doc = ward.path("record.txt");
    std::fs::write(&doc, "Giay xac nhan tinh trang hon nhan").expect("write");
    let signed = run(
        &ward,
        &[
            "sign",
            "--addr",
            &ward.addr,
            "--signer",
            DIRECTOR.0,
            "--procedure",
            "HT-XNHN",
            doc.to_str().expect("utf8"),
        ],
        Some(DIRECTOR.1),
    );
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let p7s = format!("{}.p7s", doc.display());
    assert!(
        run(
            &ward,
            &["verify", "--signature", &p7s, doc.to_str().expect("utf8")],
            None
        )
        .status
        .success()
    );

    let revoked = run(
        &ward,
        &["pki", "revoke", DIRECTOR.0, "--reason", "key-compromise"],
        None,
    );
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let status = ward
        .scheduler()
        .await
        .sign(batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect_err("revoked key");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("revoked"), "{}", status.message());
    let verdict = run(
        &ward,
        &["verify", "--signature", &p7s, doc.to_str().expect("utf8")],
        None,
    );
    assert!(!verdict.status.success());
    assert!(String::from_utf8_lossy(&verdict.stderr).contains("revoked"));
}
