//! A deputy signs only under a valid delegation that covers the record; every refusal is
//! PERMISSION_DENIED with a message naming the reason.

use signq_proto::v1::RevokeDelegationRequest;
use tonic::Code;

use super::fixture::{DEPUTY_1, DEPUTY_2, DIRECTOR, Ward, batch, run};

fn denied(status: &tonic::Status, needle: &str) {
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(
        status.message().contains(needle),
        "expected {needle:?} in {:?}",
        status.message()
    );
}

fn create(ward: &Ward, name: &str, args: &[&str]) -> Vec<u8> {
    let out = ward.path(&format!("{name}.p7s"));
    let mut all = vec![
        "delegation",
        "create",
        "--director",
        DIRECTOR.0,
        "--deputy",
        DEPUTY_1.0,
        "--out",
        out.to_str().expect("utf8"),
    ];
    all.extend_from_slice(args);
    let done = run(ward, &all, Some(DIRECTOR.1));
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    std::fs::read(out).expect("delegation file")
}

#[tokio::test]
async fn in_scope_records_are_signed() {
    let ward = Ward::start(&[]);
    let reply = ward
        .scheduler()
        .await
        .sign(batch(DEPUTY_1, "CT-BS", 3, ward.delegation(DEPUTY_1.0)))
        .await
        .expect("sign");
    assert_eq!(reply.into_inner().signatures.len(), 3);
}

#[tokio::test]
async fn a_procedure_outside_the_scope_is_refused() {
    let ward = Ward::start(&[]);
    let status = ward
        .scheduler()
        .await
        .sign(batch(DEPUTY_1, "HT-KS", 1, ward.delegation(DEPUTY_1.0)))
        .await
        .expect_err("out of scope");
    denied(&status, "does not cover procedure HT-KS");
}

#[tokio::test]
async fn an_expired_delegation_is_refused() {
    let ward = Ward::start(&[]);
    let expired = create(
        &ward,
        "expired",
        &[
            "--procedures",
            "CT-BS",
            "--from",
            "2026-01-01T00:00:00Z",
            "--until",
            "2026-02-01T00:00:00Z",
            "--id",
            "old",
        ],
    );
    let status = ward
        .scheduler()
        .await
        .sign(batch(DEPUTY_1, "CT-BS", 1, expired))
        .await
        .expect_err("expired");
    denied(&status, "delegation old expired at 2026-02-01T00:00:00Z");
}

#[tokio::test]
async fn a_revoked_delegation_is_refused() {
    let ward = Ward::start(&[]);
    let delegation = create(
        &ward,
        "to-revoke",
        &["--procedures", "CT-BS", "--id", "cat-lai/revocable"],
    );
    let mut client = ward.scheduler().await;
    client
        .sign(batch(DEPUTY_1, "CT-BS", 1, delegation.clone()))
        .await
        .expect("valid before revocation");
    client
        .revoke_delegation(RevokeDelegationRequest {
            delegation_id: "cat-lai/revocable".into(),
            reason: "deputy transferred".into(),
        })
        .await
        .expect("revoke");
    let status = client
        .sign(batch(DEPUTY_1, "CT-BS", 1, delegation))
        .await
        .expect_err("revoked");
    denied(&status, "delegation cat-lai/revocable was revoked");
    assert!(status.message().contains("deputy transferred"));
}

#[tokio::test]
async fn another_deputys_delegation_and_none_at_all_are_refused() {
    let ward = Ward::start(&[]);
    let mut client = ward.scheduler().await;
    let status = client
        .sign(batch(DEPUTY_1, "HT-KS", 1, ward.delegation(DEPUTY_2.0)))
        .await
        .expect_err("not theirs");
    denied(
        &status,
        "is granted to cat-lai/deputy-2, not to cat-lai/deputy-1",
    );
    let status = client
        .sign(batch(DEPUTY_1, "CT-BS", 1, Vec::new()))
        .await
        .expect_err("no delegation");
    denied(&status, "signs only under a delegation");
}

#[tokio::test]
async fn the_daily_cap_holds() {
    let ward = Ward::start(&[]);
    let capped = create(
        &ward,
        "capped",
        &[
            "--procedures",
            "CT-BS",
            "--daily-cap",
            "3",
            "--id",
            "cat-lai/capped",
        ],
    );
    let mut client = ward.scheduler().await;
    client
        .sign(batch(DEPUTY_1, "CT-BS", 2, capped.clone()))
        .await
        .expect("within the cap");
    let status = client
        .sign(batch(DEPUTY_1, "CT-BS", 2, capped))
        .await
        .expect_err("over the cap");
    denied(&status, "allows 3 signatures a day; 2 used today");
}
