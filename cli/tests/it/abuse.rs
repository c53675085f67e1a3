//! Every abuse found when the API was tried from outside, each refused with the right code and a
//! precise message, and nothing changed by it: no record, no audit entry, no lease.

use prost::Message as _;
use signq_proto::v1 as pb;
use signq_proto::v1::admin_client::AdminClient;
use signq_proto::v1::intake_client::IntakeClient;
use tonic::Code;
use tonic::transport::Channel;
use tonic_types::StatusExt;

use super::fixture::{
    BearerToken, DEPUTY_1, DIRECTOR, Ward, another_ward_and_desk, device_channel, intake,
    scheduler_channel, session_token, sign_in, submission,
};

/// A SubmitRequest whose title is raw bytes, to send what no well-behaved client can.
#[derive(Clone, PartialEq, prost::Message)]
struct RawSubmit {
    #[prost(string, tag = "1")]
    ward: String,
    #[prost(string, tag = "2")]
    procedure_code: String,
    #[prost(bytes = "vec", tag = "3")]
    title: Vec<u8>,
    #[prost(bytes = "vec", tag = "4")]
    document: Vec<u8>,
    #[prost(string, tag = "7")]
    idempotency_key: String,
}

/// What the store holds: records and audit entries. A refused call changes neither.
fn state(ward: &Ward) -> (i64, i64) {
    let db = rusqlite::Connection::open(ward.path("scheduler/signq.db")).expect("db");
    let records = db
        .query_row("SELECT COUNT(*) FROM records", [], |r| r.get(0))
        .expect("records");
    let audit = db
        .query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |r| r.get(0))
        .expect("audit");
    (records, audit)
}

/// Checks one refusal: its code, a phrase of its message, the BadRequest field if any, a message
/// small enough for any client, and that the store is as it was.
fn refused(
    ward: &Ward,
    case: &str,
    before: (i64, i64),
    status: tonic::Status,
    code: Code,
    phrase: &str,
    field: Option<&str>,
) {
    assert_eq!(status.code(), code, "{case}: {status:?}");
    assert!(
        status.message().contains(phrase),
        "{case}: {:?} lacks {phrase:?}",
        status.message()
    );
    assert!(status.message().len() < 600, "{case}: a long message");
    assert!(
        !status.message().contains("Error(") && !status.message().contains("Other("),
        "{case}: debug text in {:?}",
        status.message()
    );
    if let Some(field) = field {
        let fields: Vec<String> = status
            .get_details_bad_request()
            .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, vec![field.to_string()], "{case}: BadRequest");
    }
    assert_eq!(state(ward), before, "{case}: the store changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_abuse_is_refused_precisely_and_changes_nothing() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    // A land record: only the director may sign it.
    let land = intake
        .submit(submission("DD-BD", "land-1"))
        .await
        .expect("submit")
        .into_inner()
        .record
        .expect("record");
    // Another ward with its own desk, whose certificate names that ward only.
    another_ward_and_desk(
        &ward,
        "an-khanh",
        "Phường An Khánh",
        "an-khanh-desk",
        &["an-khanh"],
    )
    .await;
    let mut operator = AdminClient::new(scheduler_channel(&ward, Some("operator")).await);
    let mut stranger = IntakeClient::new(scheduler_channel(&ward, Some("an-khanh-desk")).await);
    let mut deputy = sign_in(&ward, DEPUTY_1).await;
    let mut director = AdminClient::with_interceptor(
        device_channel(&ward, DIRECTOR.0).await,
        BearerToken(session_token(&ward, DIRECTOR).await),
    );
    let before = state(&ward);
    let check = |case: &str, status, code, phrase: &str, field: Option<&str>| {
        refused(&ward, case, before, status, code, phrase, field)
    };

    // Intake certificates act for their own wards only.
    let mut other = submission("HT-KS", "abuse-other-ward");
    other.ward = "an-khanh".into();
    check(
        "submit for a ward the certificate does not name",
        intake.submit(other).await.expect_err("refused"),
        Code::PermissionDenied,
        "acts for ward(s) cat-lai",
        None,
    );
    check(
        "read another ward's record",
        stranger
            .get_record(pb::GetRecordRequest {
                id: land.id.clone(),
                include_document: true,
            })
            .await
            .expect_err("refused"),
        Code::NotFound,
        "no record",
        None,
    );
    check(
        "cancel another ward's record",
        stranger
            .cancel_record(pb::CancelRecordRequest {
                id: land.id.clone(),
                reason: "not mine".into(),
            })
            .await
            .expect_err("refused"),
        Code::NotFound,
        "no record",
        None,
    );
    check(
        "list another ward",
        stranger
            .list_records(pb::ListRecordsRequest {
                ward: "cat-lai".into(),
                ..Default::default()
            })
            .await
            .expect_err("refused"),
        Code::PermissionDenied,
        "an-khanh",
        None,
    );
    check(
        "watch another ward",
        stranger
            .watch_records(pb::WatchRecordsRequest {
                ward: "cat-lai".into(),
                after_cursor: 0,
            })
            .await
            .expect_err("refused"),
        Code::PermissionDenied,
        "an-khanh",
        None,
    );

    // Unknown wards are NOT_FOUND everywhere.
    for (case, status) in [
        (
            "list an unknown ward",
            operator_intake(&ward)
                .await
                .list_records(pb::ListRecordsRequest {
                    ward: "nowhere".into(),
                    ..Default::default()
                })
                .await
                .expect_err("refused"),
        ),
        (
            "signers of an unknown ward",
            operator
                .list_signers(pb::ListSignersRequest {
                    ward: "nowhere".into(),
                })
                .await
                .expect_err("refused"),
        ),
        (
            "delegations of an unknown ward",
            operator
                .list_delegations(pb::ListDelegationsRequest {
                    ward: "nowhere".into(),
                })
                .await
                .expect_err("refused"),
        ),
    ] {
        check(case, status, Code::NotFound, "no ward", None);
    }

    // Echoed values are cut short.
    check(
        "a 4,000-character id",
        intake
            .get_record(pb::GetRecordRequest {
                id: "R".repeat(4000),
                include_document: false,
            })
            .await
            .expect_err("refused"),
        Code::InvalidArgument,
        "(4000 characters)",
        Some("id"),
    );

    // Text that is not what it looks like.
    let mut bidi = submission("HT-KS", "abuse-bidi");
    bidi.title = "Khai sinh \u{202e}fdp.exe".into();
    check(
        "a title with a right-to-left override",
        intake.submit(bidi).await.expect_err("refused"),
        Code::InvalidArgument,
        "U+202E",
        Some("title"),
    );
    let raw = RawSubmit {
        ward: "cat-lai".into(),
        procedure_code: "HT-KS".into(),
        title: vec![b'K', 0xff, 0xfe, b'S'],
        document: b"raw".to_vec(),
        idempotency_key: "abuse-utf8".into(),
    };
    check(
        "a title that is not UTF-8",
        raw_submit(scheduler_channel(&ward, Some("mot-cua")).await, raw).await,
        Code::InvalidArgument,
        "title: is not valid UTF-8",
        Some("title"),
    );
    let mut nanos = submission("HT-KS", "abuse-nanos");
    nanos.deadline = Some(prost_types::Timestamp {
        seconds: 1_900_000_000,
        nanos: 1_000_000_000,
    });
    check(
        "a deadline with a nanosecond count past one second",
        intake.submit(nanos).await.expect_err("refused"),
        Code::InvalidArgument,
        "nanos",
        Some("deadline"),
    );

    // A message over the limit: the documented limit, not the transport's arithmetic.
    let mut huge = submission("HT-KS", "abuse-huge");
    huge.document = vec![b'x'; 9 * 1024 * 1024];
    check(
        "a document over 8 MiB",
        intake.submit(huge).await.expect_err("refused"),
        Code::ResourceExhausted,
        "at most 8388608 bytes of document",
        None,
    );

    // Signers sign what is theirs.
    check(
        "a deputy approves a land record",
        deputy
            .approve(pb::ApproveRequest {
                record_ids: vec![land.id.clone()],
                pin: DEPUTY_1.1.into(),
            })
            .await
            .expect_err("refused"),
        Code::PermissionDenied,
        "not yours to sign",
        None,
    );
    check(
        "reject a record that does not exist",
        deputy
            .reject(pb::RejectRequest {
                record_id: "R-missing".into(),
                reason: "no such record".into(),
            })
            .await
            .expect_err("refused"),
        Code::NotFound,
        "no record",
        None,
    );

    // Delegations: only what the catalogue knows, only for the future, fields as sent.
    let delegation = |codes: &[&str], until_secs: i64, pin: &str| pb::CreateDelegationRequest {
        deputy_id: DEPUTY_1.0.into(),
        procedure_codes: codes.iter().map(|c| c.to_string()).collect(),
        not_before: None,
        not_after: Some(prost_types::Timestamp {
            seconds: time::OffsetDateTime::now_utc().unix_timestamp() + until_secs,
            nanos: 0,
        }),
        daily_cap: 10,
        pin: pin.into(),
        notation: Default::default(),
    };
    check(
        "a delegation of a procedure outside the catalogue",
        director
            .create_delegation(delegation(&["XX-99"], 86_400, DIRECTOR.1))
            .await
            .expect_err("refused"),
        Code::InvalidArgument,
        "not in the catalogue",
        Some("procedure_codes[0]"),
    );
    check(
        "a delegation that ended yesterday",
        director
            .create_delegation(delegation(&["HT-KS"], -86_400, DIRECTOR.1))
            .await
            .expect_err("refused"),
        Code::InvalidArgument,
        "in the past",
        Some("not_after"),
    );
    let status = director
        .create_delegation(delegation(&["HT-KS"], 86_400, "000000"))
        .await
        .expect_err("refused");
    check(
        "a delegation signed with a wrong PIN",
        status,
        Code::Unauthenticated,
        "wrong PIN",
        None,
    );
}

/// An operator's Intake client (operators read every ward).
async fn operator_intake(ward: &Ward) -> IntakeClient<Channel> {
    IntakeClient::new(scheduler_channel(ward, Some("operator")).await)
}

/// Sends a hand-made Submit and returns the refusal.
async fn raw_submit(channel: Channel, raw: RawSubmit) -> tonic::Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let codec: tonic_prost::ProstCodec<RawSubmit, pb::SubmitResponse> = Default::default();
    assert!(!raw.encode_to_vec().is_empty());
    grpc.unary(
        tonic::Request::new(raw),
        tonic::codegen::http::uri::PathAndQuery::from_static("/signq.v1.Intake/Submit"),
        codec,
    )
    .await
    .expect_err("refused")
}

#[tokio::test]
async fn reflection_lists_only_what_each_port_serves() {
    let ward = Ward::start(&[]);
    let scheduler = services(scheduler_channel(&ward, Some("operator")).await).await;
    assert_eq!(
        scheduler,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "signq.v1.Admin",
            "signq.v1.Inbox",
            "signq.v1.Intake"
        ]
    );
    let signer_channel = signq_kit::tls::connect(
        &ward.addr,
        &signq_kit::tls::ClientTls::new(&ward.tls_files("scheduler")).expect("tls"),
    )
    .await
    .expect("connect");
    assert_eq!(
        services(signer_channel).await,
        [
            "grpc.health.v1.Health",
            "grpc.reflection.v1.ServerReflection",
            "signq.v1.Signer"
        ]
    );
}

/// The services a port's reflection lists, sorted.
async fn services(channel: Channel) -> Vec<String> {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut replies = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection")
        .into_inner();
    let reply = replies.message().await.expect("reply").expect("one reply");
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("not a service list: {reply:?}");
    };
    let mut names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_ca_certificate_presented_as_a_client_is_refused_in_a_sentence() {
    let ward = Ward::start(&[]);
    // The ward CA's own certificate and key, presented as if it were a client's.
    let pass = std::fs::read_to_string(ward.secrets().join("ca-passphrase")).expect("pass");
    let key = signq_kit::keyfile::read(&ward.ca_dir().join("ca.key.pem"), pass.trim().as_bytes())
        .expect("CA key");
    let cert = signq_kit::tls::material::read_certs(&ward.path("pki/ca.crt.pem")).expect("CA");
    let identity = (
        cert,
        rustls_pki_types::PrivateKeyDer::Pkcs8(key.to_vec().into()),
    );
    let status = ward
        .client_with(Some(identity))
        .await
        .sign(super::fixture::batch(DIRECTOR, "DD-BD", 1, Vec::new()))
        .await
        .expect_err("refused");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    assert!(
        status
            .message()
            .contains("is a CA certificate, not a client certificate"),
        "{}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_documents_are_approved_in_requests_the_signing_service_accepts() {
    // The signing service takes at most 1 MiB per request; eight documents of 400 KiB each are
    // far more than one request can carry, so the scheduler splits the approval.
    let ward = Ward::start(&["--max-request-bytes", "1048576"]);
    let mut intake = intake(&ward).await;
    let mut deputy = sign_in(&ward, super::fixture::DEPUTY_2).await;
    for i in 0..8 {
        let mut s = submission("HT-KS", &format!("big-{i}"));
        s.document = vec![b'a' + i as u8; 400 * 1024];
        intake.submit(s).await.expect("submit");
    }
    let mut ids = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while ids.len() < 8 {
        assert!(
            std::time::Instant::now() < deadline,
            "records were not leased"
        );
        ids.extend(
            deputy
                .pull_next(pb::PullNextRequest { max: 0 })
                .await
                .expect("pull")
                .into_inner()
                .records
                .into_iter()
                .map(|r| r.id),
        );
    }
    let signed = deputy
        .approve(pb::ApproveRequest {
            record_ids: ids.clone(),
            pin: super::fixture::DEPUTY_2.1.into(),
        })
        .await
        .expect("approved in several requests")
        .into_inner()
        .records;
    assert_eq!(signed.len(), 8);
    assert!(
        signed
            .iter()
            .all(|r| r.state == pb::RecordState::Signed as i32 && !r.signature.is_empty())
    );
}
