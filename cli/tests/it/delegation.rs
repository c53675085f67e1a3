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

/// A batch of the scheduler's: records `ids` at lease attempt `attempt`.
fn leased(
    ids: &[&str],
    attempt: u32,
    content: &str,
    delegation: Vec<u8>,
) -> signq_proto::v1::SignRequest {
    let mut request = batch(DEPUTY_1, "CT-BS", ids.len(), delegation);
    for (doc, id) in request.documents.iter_mut().zip(ids) {
        doc.record_id = (*id).to_string();
        doc.attempt = attempt;
        doc.content = format!("{content} {id}").into_bytes();
    }
    request
}

/// The scheduler can die between the signing service's reply and its own commit; the tablet
/// then approves again, with the same lease attempt. The retry gets the signature already made,
/// and the daily cap counts each record once.
#[tokio::test]
async fn a_retried_lease_attempt_gets_the_same_signature_and_counts_once() {
    let ward = Ward::start(&[]);
    let capped = create(
        &ward,
        "capped",
        &[
            "--procedures",
            "CT-BS",
            "--daily-cap",
            "2",
            "--id",
            "cat-lai/capped-twice",
        ],
    );
    let mut client = ward.scheduler().await;
    let first = client
        .sign(leased(&["R-A", "R-B"], 1, "record", capped.clone()))
        .await
        .expect("within the cap")
        .into_inner();
    // The same request again (the reply was lost): the same signatures, though the cap of two
    // is used up.
    let again = client
        .sign(leased(&["R-A", "R-B"], 1, "record", capped.clone()))
        .await
        .expect("a retry is answered, not counted")
        .into_inner();
    assert_eq!(first.signatures, again.signatures);
    // A later lease of a record signed today signs anew (the first signature never reached a
    // record) without counting it again.
    let later = client
        .sign(leased(&["R-A"], 2, "record", capped.clone()))
        .await
        .expect("the same record, counted once")
        .into_inner();
    assert_eq!(later.signatures.len(), 1);
    // A third record is over the cap.
    let status = client
        .sign(leased(&["R-C"], 1, "record", capped.clone()))
        .await
        .expect_err("over the cap");
    denied(&status, "allows 2 signatures a day; 2 used today");
    // The same lease attempt over other bytes contradicts what was signed: refused.
    let status = client
        .sign(leased(&["R-B"], 1, "altered", capped))
        .await
        .expect_err("other bytes");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains("R-B") && status.message().contains("another document"),
        "{status:?}"
    );
}
