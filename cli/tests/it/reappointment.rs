//! A new appointment date for a record that will be late: asked once, with a reason, before the
//! deadline (a second request is refused with FAILED_PRECONDITION, a bad one names its field);
//! the ward's director approves it, signing the apology (checked by `openssl cms -verify`) and
//! moving the deadline, or refuses it with a reason.

use signq_proto::v1::{
    DecideReappointmentRequest, ListReappointmentsRequest, ReappointmentState,
    RequestReappointmentRequest,
};
use time::{Duration, OffsetDateTime};
use tonic::Code;

use super::fixture::{
    DEPUTY_1, DIRECTOR, Ward, get_record, intake, openssl_verifies, run, sign_in, submit_due_in,
};

fn ts(t: OffsetDateTime) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: t.unix_timestamp(),
        nanos: 0,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_is_reappointed_at_most_once() {
    let ward = Ward::start(&[]);
    let mut desk = intake(&ward).await;
    let now = OffsetDateTime::now_utc();
    let record = submit_due_in(&ward, "reappoint-1", 2).await;
    let ask = |new_deadline: Option<prost_types::Timestamp>| RequestReappointmentRequest {
        id: record.id.clone(),
        reason: "Chờ xác minh thông tin từ Công an phường".into(),
        new_deadline,
    };

    // Bad requests name what is wrong, and store nothing.
    for (request, code, phrase) in [
        (ask(None), Code::InvalidArgument, "new_deadline"),
        (
            ask(ts(now + Duration::days(200))),
            Code::InvalidArgument,
            "90 days",
        ),
        (
            ask(ts(now + Duration::hours(1))),
            Code::FailedPrecondition,
            "not after the deadline",
        ),
        (
            RequestReappointmentRequest {
                id: "R000000000000000000000000".into(),
                ..ask(ts(now + Duration::days(3)))
            },
            Code::NotFound,
            "R000000000000000000000000",
        ),
    ] {
        let status = desk.request_reappointment(request).await.expect_err(phrase);
        assert_eq!(status.code(), code, "{status:?}");
        assert!(status.message().contains(phrase), "{status:?}");
    }

    let asked = desk
        .request_reappointment(ask(ts(now + Duration::days(3))))
        .await
        .expect("the first request")
        .into_inner()
        .reappointment
        .expect("reappointment");
    assert_eq!(asked.state, ReappointmentState::Pending as i32);
    assert_eq!(asked.original_deadline, record.deadline);
    let again = desk
        .request_reappointment(ask(ts(now + Duration::days(4))))
        .await
        .expect_err("a second request");
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
    assert!(again.message().contains("at most once"), "{again:?}");

    let stored = get_record(&ward, &record.id).await;
    let kept = stored.reappointment.expect("the request is on the record");
    assert_eq!(kept.new_deadline, ts(now + Duration::days(3)));
    assert_eq!(kept.reason, "Chờ xác minh thông tin từ Công an phường");
    assert_eq!(
        stored.deadline, record.deadline,
        "pending: the deadline stays"
    );

    // Only the ward's director decides.
    let mut deputy = sign_in(&ward, DEPUTY_1).await;
    let refused = deputy
        .list_reappointments(ListReappointmentsRequest {})
        .await
        .expect_err("a deputy");
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let mut director = sign_in(&ward, DIRECTOR).await;
    let waiting = director
        .list_reappointments(ListReappointmentsRequest {})
        .await
        .expect("list")
        .into_inner()
        .records;
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].id, record.id);

    // A wrong PIN decides nothing.
    let decide = |pin: &str| DecideReappointmentRequest {
        record_id: record.id.clone(),
        approve: true,
        pin: pin.into(),
        refusal: String::new(),
    };
    director
        .decide_reappointment(decide("000000"))
        .await
        .expect_err("a wrong PIN");
    // Approved: the apology is signed with the director's key, the deadline is the new date, the
    // request keeps the original.
    let decided = director
        .decide_reappointment(decide(DIRECTOR.1))
        .await
        .expect("approve")
        .into_inner()
        .record
        .expect("record");
    let approved = decided.reappointment.expect("reappointment");
    assert_eq!(approved.state, ReappointmentState::Approved as i32);
    assert_eq!(approved.decided_by, DIRECTOR.0);
    assert_eq!(decided.deadline, ts(now + Duration::days(3)));
    assert_eq!(approved.original_deadline, record.deadline);
    let apology = String::from_utf8(approved.apology.clone()).expect("UTF-8");
    for part in [
        "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        record.id.as_str(),
        "Chờ xác minh thông tin từ Công an phường",
        "Phường Cát Lái",
    ] {
        assert!(apology.contains(part), "{part:?} in {apology}");
    }
    openssl_verifies(&ward, &approved.apology, &approved.apology_signature, None);
    let again = director
        .decide_reappointment(decide(DIRECTOR.1))
        .await
        .expect_err("decided already");
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");

    // Every step is in the audit chain, which still verifies.
    let out = run(&ward, &["audit", "verify"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_keeps_the_deadline() {
    let ward = Ward::start(&[]);
    let mut desk = intake(&ward).await;
    let now = OffsetDateTime::now_utc();
    let record = submit_due_in(&ward, "reappoint-refused", 5).await;
    desk.request_reappointment(RequestReappointmentRequest {
        id: record.id.clone(),
        reason: "Thiếu giấy tờ".into(),
        new_deadline: ts(now + Duration::days(2)),
    })
    .await
    .expect("request");
    let mut director = sign_in(&ward, DIRECTOR).await;
    let refusal = |text: &str| DecideReappointmentRequest {
        record_id: record.id.clone(),
        approve: false,
        pin: String::new(),
        refusal: text.into(),
    };
    let empty = director
        .decide_reappointment(refusal(""))
        .await
        .expect_err("a refusal without a reason");
    assert_eq!(empty.code(), Code::InvalidArgument, "{empty:?}");
    assert!(empty.message().contains("refusal"), "{empty:?}");
    let decided = director
        .decide_reappointment(refusal("Hồ sơ sẽ được giải quyết đúng hạn"))
        .await
        .expect("refuse")
        .into_inner()
        .record
        .expect("record");
    let refused = decided.reappointment.expect("reappointment");
    assert_eq!(refused.state, ReappointmentState::Refused as i32);
    assert_eq!(refused.refusal, "Hồ sơ sẽ được giải quyết đúng hạn");
    assert!(refused.apology.is_empty());
    assert_eq!(decided.deadline, record.deadline, "the deadline stays");
}
