//! The scheduler's answers to bad input (INVALID_ARGUMENT naming the field, for every request
//! field), to callers without the right credentials, and to callers over a rate limit
//! (RESOURCE_EXHAUSTED with RetryInfo); the metrics page passes `promtool check metrics`.

use std::io::Write;

use signq_proto::v1 as pb;
use signq_proto::v1::admin_client::AdminClient;
use tonic::Code;
use tonic_types::StatusExt;

use super::fixture::{
    DEPUTY_1, Ward, another_ward_and_desk, http_get as get, intake, scheduler_channel, sign_in,
    submission,
};

fn invalid(status: &tonic::Status, field: &str, case: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{case}: {status:?}");
    assert!(
        status.message().starts_with(field),
        "{case}: {:?} should name {field:?}",
        status.message()
    );
    let bad = status
        .get_details_bad_request()
        .unwrap_or_else(|| panic!("{case}: BadRequest details"));
    assert_eq!(bad.field_violations[0].field, field, "{case}");
    // And for programs that word their own message: the reason code, naming the field too.
    let details = status.get_error_details();
    let info = details
        .error_info()
        .unwrap_or_else(|| panic!("{case}: ErrorInfo details"));
    assert_eq!(
        (info.reason.as_str(), info.domain.as_str()),
        ("INVALID_FIELD", signq_kit::reason::SCHEDULER),
        "{case}"
    );
    assert_eq!(
        info.metadata.get("field").map(String::as_str),
        Some(field),
        "{case}"
    );
}

#[tokio::test]
async fn every_bad_field_is_named() {
    let ward = Ward::start(&["--max-submit-bytes", "4096"]);
    let mut intake = intake(&ward).await;
    let good = || submission("HT-KS", "good");
    let with = |f: &dyn Fn(&mut pb::SubmitRequest)| {
        let mut r = good();
        f(&mut r);
        r
    };
    let past = prost_types::Timestamp {
        seconds: 1_000_000_000,
        nanos: 0,
    };
    let cases: Vec<(&str, pb::SubmitRequest, &str)> = vec![
        ("empty ward", with(&|r| r.ward.clear()), "ward"),
        (
            "ward not an id",
            with(&|r| r.ward = "Cát Lái".into()),
            "ward",
        ),
        (
            "empty procedure",
            with(&|r| r.procedure_code.clear()),
            "procedure_code",
        ),
        (
            "malformed procedure",
            with(&|r| r.procedure_code = "ht ks".into()),
            "procedure_code",
        ),
        (
            "unknown procedure",
            with(&|r| r.procedure_code = "XX-YY".into()),
            "procedure_code",
        ),
        ("empty title", with(&|r| r.title = "  ".into()), "title"),
        ("long title", with(&|r| r.title = "a".repeat(201)), "title"),
        (
            "control characters in title",
            with(&|r| r.title = "a\u{7}b".into()),
            "title",
        ),
        ("empty document", with(&|r| r.document.clear()), "document"),
        (
            "oversized document",
            with(&|r| r.document = vec![1; 4097]),
            "document",
        ),
        (
            "empty key",
            with(&|r| r.idempotency_key.clear()),
            "idempotency_key",
        ),
        (
            "long key",
            with(&|r| r.idempotency_key = "k".repeat(129)),
            "idempotency_key",
        ),
        ("unknown priority", with(&|r| r.priority = 42), "priority"),
        (
            "past deadline",
            with(&|r| r.deadline = Some(past)),
            "deadline",
        ),
        (
            "far deadline",
            with(&|r| {
                r.deadline = Some(prost_types::Timestamp {
                    seconds: 4_000_000_000,
                    nanos: 0,
                })
            }),
            "deadline",
        ),
    ];
    for (case, request, field) in cases {
        let status = intake.submit(request).await.expect_err(case);
        invalid(&status, field, case);
    }
    // An intake certificate acts for the wards it names only.
    let status = intake
        .submit(with(&|r| r.ward = "nowhere".into()))
        .await
        .expect_err("a ward the certificate does not name");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("cat-lai"), "{}", status.message());
    assert_eq!(
        signq_kit::reason::reason_of(&status).as_deref(),
        Some("NOT_PERMITTED")
    );

    let status = intake
        .get_record(pb::GetRecordRequest {
            id: String::new(),
            include_document: false,
        })
        .await
        .expect_err("get");
    invalid(&status, "id", "empty id");
    let status = intake
        .get_record(pb::GetRecordRequest {
            id: "Rnope".into(),
            include_document: false,
        })
        .await
        .expect_err("get");
    assert_eq!(status.code(), Code::NotFound);
    let list = |f: &dyn Fn(&mut pb::ListRecordsRequest)| {
        let mut r = pb::ListRecordsRequest {
            ward: "cat-lai".into(),
            state: 0,
            page_size: 10,
            page_token: String::new(),
        };
        f(&mut r);
        r
    };
    for (case, request, field) in [
        ("list without ward", list(&|r| r.ward.clear()), "ward"),
        ("negative page", list(&|r| r.page_size = -1), "page_size"),
        ("huge page", list(&|r| r.page_size = 501), "page_size"),
        ("unknown state", list(&|r| r.state = 99), "state"),
        (
            "foreign token",
            list(&|r| r.page_token = "Rnotarecord".into()),
            "page_token",
        ),
    ] {
        invalid(
            &intake.list_records(request).await.expect_err(case),
            field,
            case,
        );
    }
    let status = intake
        .cancel_record(pb::CancelRecordRequest {
            id: "R1".into(),
            reason: String::new(),
        })
        .await
        .expect_err("cancel");
    invalid(&status, "reason", "cancel without reason");
    let status = intake
        .watch_records(pb::WatchRecordsRequest {
            ward: String::new(),
            after_cursor: 0,
        })
        .await
        .expect_err("watch");
    invalid(&status, "ward", "watch without ward");

    let mut deputy = sign_in(&ward, DEPUTY_1).await;
    let status = deputy
        .approve(pb::ApproveRequest {
            record_ids: vec![],
            pin: DEPUTY_1.1.into(),
        })
        .await
        .expect_err("approve");
    invalid(&status, "record_ids", "approve nothing");
    let status = deputy
        .approve(pb::ApproveRequest {
            record_ids: vec!["R1".into(), "R1".into()],
            pin: DEPUTY_1.1.into(),
        })
        .await
        .expect_err("approve twice");
    invalid(&status, "record_ids[1]", "duplicate id");
    let status = deputy
        .approve(pb::ApproveRequest {
            record_ids: vec!["R1".into()],
            pin: String::new(),
        })
        .await
        .expect_err("no pin");
    invalid(&status, "pin", "approve without PIN");
    let status = deputy
        .reject(pb::RejectRequest {
            record_id: "R1".into(),
            reason: String::new(),
        })
        .await
        .expect_err("reject");
    invalid(&status, "reason", "reject without reason");
    let status = deputy
        .pull_next(pb::PullNextRequest { max: -1 })
        .await
        .expect_err("pull");
    invalid(&status, "max", "negative max");

    let mut admin = AdminClient::new(scheduler_channel(&ward, Some("operator")).await);
    let status = admin
        .create_ward(pb::CreateWardRequest { ward: None })
        .await
        .expect_err("ward");
    invalid(&status, "ward", "missing ward");
    let procedure = |limit: Option<pb::working_time_limit::Kind>,
                     cut_off: Option<pb::cut_off::Kind>| {
        pb::PutProcedureRequest {
            procedure: Some(pb::Procedure {
                code: "HT-KS".into(),
                name: "x".into(),
                limit: limit.map(|kind| pb::WorkingTimeLimit { kind: Some(kind) }),
                cut_off: cut_off.map(|kind| pb::CutOff { kind: Some(kind) }),
            }),
        }
    };
    use pb::cut_off::Kind as CutOff;
    use pb::working_time_limit::Kind as Limit;
    for (request, field, what) in [
        (procedure(None, None), "procedure.limit", "no time limit"),
        (
            procedure(Some(Limit::WorkingDays(0)), None),
            "procedure.limit",
            "zero working days",
        ),
        (
            procedure(Some(Limit::WorkingHours(100_000)), None),
            "procedure.limit",
            "too many hours",
        ),
        (
            procedure(Some(Limit::SameDay(false)), None),
            "procedure.limit.same_day",
            "same_day false",
        ),
        (
            procedure(
                Some(Limit::SameDay(true)),
                Some(CutOff::After("3pm".into())),
            ),
            "procedure.cut_off.after",
            "a cut-off that is not HH:MM",
        ),
    ] {
        let status = admin.put_procedure(request).await.expect_err(what);
        invalid(&status, field, what);
    }
    // A good one is stored as sent.
    let stored = admin
        .put_procedure(procedure(
            Some(Limit::WorkingDays(3)),
            Some(CutOff::After("15:00".into())),
        ))
        .await
        .expect("a good procedure")
        .into_inner()
        .procedure
        .expect("procedure");
    assert_eq!(
        stored.limit.and_then(|l| l.kind),
        Some(Limit::WorkingDays(3))
    );
    assert_eq!(
        stored.cut_off.and_then(|c| c.kind),
        Some(CutOff::After("15:00".into()))
    );
    let status = admin
        .enroll_signer(pb::EnrollSignerRequest {
            certificate: b"not DER".to_vec(),
            registration: None,
        })
        .await
        .expect_err("enroll");
    invalid(&status, "certificate", "garbage certificate");
    let status = admin
        .register_delegation(pb::RegisterDelegationRequest {
            signed_delegation: b"garbage".to_vec(),
        })
        .await
        .expect_err("delegation");
    invalid(&status, "signed_delegation", "garbage delegation");
    // Still serving after all of that.
    intake
        .submit(good())
        .await
        .expect("a good submit after the bad ones");
}

#[tokio::test]
async fn callers_without_the_right_credentials_are_refused() {
    let ward = Ward::start(&[]);
    // No certificate: Intake refuses.
    let mut anonymous =
        signq_proto::v1::intake_client::IntakeClient::new(scheduler_channel(&ward, None).await);
    assert_eq!(
        anonymous
            .submit(submission("HT-KS", "a"))
            .await
            .expect_err("anon")
            .code(),
        Code::Unauthenticated
    );
    // The operator's certificate may read but not submit.
    let mut operator = signq_proto::v1::intake_client::IntakeClient::new(
        scheduler_channel(&ward, Some("operator")).await,
    );
    assert_eq!(
        operator
            .submit(submission("HT-KS", "b"))
            .await
            .expect_err("operator")
            .code(),
        Code::PermissionDenied
    );
    // The intake certificate may not administer.
    let mut admin = AdminClient::new(scheduler_channel(&ward, Some("mot-cua")).await);
    let status = admin
        .list_wards(pb::ListWardsRequest {})
        .await
        .expect_err("intake as admin");
    assert_eq!(status.code(), Code::PermissionDenied);
    // Inbox calls need a session; a wrong PIN opens none.
    let mut inbox =
        signq_proto::v1::inbox_client::InboxClient::new(scheduler_channel(&ward, None).await);
    assert_eq!(
        inbox
            .pull_next(pb::PullNextRequest { max: 0 })
            .await
            .expect_err("no session")
            .code(),
        Code::Unauthenticated
    );
    let status = inbox
        .open_session(pb::OpenSessionRequest {
            signer_id: DEPUTY_1.0.into(),
            pin: "000000".into(),
        })
        .await
        .expect_err("no device");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("device enrolled"),
        "{}",
        status.message()
    );
    let mut inbox = signq_proto::v1::inbox_client::InboxClient::new(
        super::fixture::device_channel(&ward, DEPUTY_1.0).await,
    );
    let status = inbox
        .open_session(pb::OpenSessionRequest {
            signer_id: DEPUTY_1.0.into(),
            pin: "000000".into(),
        })
        .await
        .expect_err("wrong PIN");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status.message().contains("wrong PIN"),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn rate_limits_answer_resource_exhausted_with_a_retry_delay() {
    let ward = Ward::start(&["--submit-per-client", "2", "--sessions-per-signer", "2"]);
    let mut intake = intake(&ward).await;
    let mut refused = None;
    for i in 0..10 {
        if let Err(status) = intake.submit(submission("HT-KS", &format!("rl-{i}"))).await {
            refused = Some(status);
            break;
        }
    }
    let status = refused.expect("a submit over the limit");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(signq_kit::limit::retry_after(&status).is_some_and(|d| !d.is_zero()));

    let mut inbox = signq_proto::v1::inbox_client::InboxClient::new(
        super::fixture::device_channel(&ward, DEPUTY_1.0).await,
    );
    let mut last = None;
    for _ in 0..3 {
        last = inbox
            .open_session(pb::OpenSessionRequest {
                signer_id: DEPUTY_1.0.into(),
                pin: "000000".into(),
            })
            .await
            .err();
    }
    let status = last.expect("refused");
    assert_eq!(
        status.code(),
        Code::ResourceExhausted,
        "credential guessing is slowed: {status:?}"
    );
}

#[tokio::test]
async fn promtool_accepts_the_metrics_page() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    intake
        .submit(submission("HT-KS", "m-1"))
        .await
        .expect("submit");
    let mut deputy = sign_in(&ward, super::fixture::DEPUTY_2).await;
    let pulled = deputy
        .pull_next(pb::PullNextRequest { max: 0 })
        .await
        .expect("pull")
        .into_inner()
        .records;
    let ids = pulled.into_iter().map(|r| r.id).collect();
    deputy
        .approve(pb::ApproveRequest {
            record_ids: ids,
            pin: super::fixture::DEPUTY_2.1.into(),
        })
        .await
        .expect("approve");
    let page = get(&ward.metrics);
    for name in [
        "signq_scheduler_records_submitted_total",
        "signq_scheduler_pool_depth",
        "signq_scheduler_oldest_queued_age_seconds",
        "signq_scheduler_submit_to_lease_seconds_bucket",
        "signq_scheduler_submit_to_signed_seconds_bucket",
        "signq_scheduler_records_signed_total",
        "signq_scheduler_signed_by_role_total",
        "signq_scheduler_grpc_calls_total",
        "signq_signer_signatures_total",
    ] {
        assert!(page.contains(name), "missing {name}");
    }
    let mut promtool = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (the test command installs Debian's prometheus package)");
    promtool
        .stdin
        .take()
        .expect("stdin")
        .write_all(page.as_bytes())
        .expect("write");
    let out = promtool.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn one_wards_burst_does_not_hold_back_another_ward() {
    let ward = Ward::start(&["--submit-per-ward", "5", "--submit-per-client", "1000"]);
    // A provincial desk whose certificate names both wards.
    another_ward_and_desk(
        &ward,
        "an-khanh",
        "Phường An Khánh",
        "province-desk",
        &["cat-lai", "an-khanh"],
    )
    .await;
    let mut intake = signq_proto::v1::intake_client::IntakeClient::new(
        scheduler_channel(&ward, Some("province-desk")).await,
    );
    // Cát Lái floods the shared scheduler: past its own quota it is refused...
    let mut refused = 0;
    for i in 0..20 {
        if let Err(status) = intake
            .submit(submission("HT-KS", &format!("flood-{i}")))
            .await
        {
            assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
            assert!(status.message().contains("cat-lai"), "{}", status.message());
            refused += 1;
        }
    }
    assert!(refused > 0, "the flood met its ward's limit");
    // ...while An Khánh's records still go through at once.
    let mut other = submission("HT-KS", "an-khanh-1");
    other.ward = "an-khanh".into();
    let record = intake
        .submit(other)
        .await
        .expect("the other ward is not held back")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(record.ward, "an-khanh");
}
