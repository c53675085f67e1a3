//! The scheduler end to end: submit, lease to an eligible signer, approve with the PIN, the
//! signature verifies with openssl, watchers see every state.

use std::time::Duration;

use signq_proto::v1::stream_inbox_response::Event;
use signq_proto::v1::{
    ApproveRequest, GetDocumentRequest, GetProgressRequest, GetRecordRequest, RecordState,
    SetAwayRequest, StreamInboxRequest, StreamInboxResponse, WatchRecordsRequest,
};
use tonic::Code;

use super::fixture::{DEPUTY_1, DIRECTOR, Inbox, Ward, intake, sign_in, submission, submit};

/// The next inbox event, within a bound so a broken scheduler fails the test instead of hanging it.
pub async fn next(stream: &mut tonic::Streaming<StreamInboxResponse>) -> Event {
    tokio::time::timeout(Duration::from_secs(20), stream.message())
        .await
        .expect("an inbox event within 20 s")
        .expect("stream ok")
        .and_then(|e| e.event)
        .expect("an event")
}

/// Signs `signer` in and waits until `n` records are leased to them: their inbox and its stream.
pub async fn holding(
    ward: &Ward,
    signer: (&str, &str),
    n: usize,
) -> (Inbox, tonic::Streaming<StreamInboxResponse>) {
    let mut inbox = sign_in(ward, signer).await;
    let (mut stream, mut held) = open(&mut inbox).await;
    while held.len() < n {
        held.push(leased(&mut stream).await);
    }
    (inbox, stream)
}

/// Opens the inbox stream and returns it after its snapshot.
pub async fn open(
    inbox: &mut Inbox,
) -> (
    tonic::Streaming<StreamInboxResponse>,
    Vec<signq_proto::v1::Record>,
) {
    let mut stream = inbox
        .stream_inbox(StreamInboxRequest {})
        .await
        .expect("stream")
        .into_inner();
    match next(&mut stream).await {
        Event::Snapshot(s) => (stream, s.records),
        other => panic!("expected a snapshot first, got {other:?}"),
    }
}

/// Waits for the next lease of the stream.
pub async fn leased(stream: &mut tonic::Streaming<StreamInboxResponse>) -> signq_proto::v1::Record {
    loop {
        if let Event::Leased(r) = next(stream).await {
            return r;
        }
    }
}

/// Submits a CT-BS record under `key`, waits for its lease to the first deputy and approves it
/// with the PIN; returns its id.
pub async fn submit_and_approve(ward: &Ward, key: &str) -> String {
    let mut deputy = sign_in(ward, DEPUTY_1).await;
    let (mut stream, _) = open(&mut deputy).await;
    let mut intake = intake(ward).await;
    let id = submit(&mut intake, "CT-BS", key).await.id;
    leased(&mut stream).await;
    deputy
        .approve(ApproveRequest {
            record_ids: vec![id.clone()],
            pin: DEPUTY_1.1.into(),
        })
        .await
        .expect("approve");
    id
}

#[tokio::test]
async fn submit_lease_approve_verify_and_watch() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    let mut watch = intake
        .watch_records(WatchRecordsRequest {
            ward: "cat-lai".into(),
            after_cursor: 0,
        })
        .await
        .expect("watch")
        .into_inner();

    let mut deputy = sign_in(&ward, DEPUTY_1).await;
    let (mut stream, snapshot) = open(&mut deputy).await;
    assert!(snapshot.is_empty());
    let record = submit(&mut intake, "CT-BS", "k-1").await;
    assert_eq!(record.state, RecordState::Queued as i32);
    let lease = leased(&mut stream).await;
    assert_eq!(lease.id, record.id);
    assert_eq!(lease.signer_id, DEPUTY_1.0);

    let approved = deputy
        .approve(ApproveRequest {
            record_ids: vec![record.id.clone()],
            pin: DEPUTY_1.1.into(),
        })
        .await
        .expect("approve")
        .into_inner();
    assert_eq!(approved.records[0].state, RecordState::Signed as i32);
    assert_eq!(approved.records[0].delegation_id, "cat-lai/deputy-1/dev");

    let got = intake
        .get_record(GetRecordRequest {
            id: record.id.clone(),
            include_document: true,
        })
        .await
        .expect("get")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(got.certificate_chain.len(), 2);
    super::fixture::openssl_verifies(&ward, &got.document, &got.signature, None);

    // The watcher saw queued, leased and signed, in order.
    let mut states = Vec::new();
    while states.last() != Some(&(RecordState::Signed as i32)) {
        let event = tokio::time::timeout(Duration::from_secs(20), watch.message())
            .await
            .expect("event")
            .expect("ok")
            .expect("some");
        states.push(event.record.expect("record").state);
    }
    assert_eq!(
        states,
        vec![
            RecordState::Queued as i32,
            RecordState::Leased as i32,
            RecordState::Signed as i32
        ]
    );

    // The ward's statistics count it: signed on time, by a deputy.
    let mut admin = signq_proto::v1::admin_client::AdminClient::new(
        super::fixture::scheduler_channel(&ward, Some("operator")).await,
    );
    let stats = admin
        .get_statistics(signq_proto::v1::GetStatisticsRequest {
            ward: "cat-lai".into(),
        })
        .await
        .expect("statistics")
        .into_inner()
        .statistics
        .expect("statistics");
    assert_eq!((stats.signed, stats.queued, stats.leased), (1, 0, 0));
    assert_eq!((stats.on_time_ratio, stats.director_share), (1.0, 0.0));
    assert!(stats.wait_p50.is_some());

    // The deputy finds it among what they signed today, and fetches it again to check its
    // signature; nobody else may fetch it from their inbox.
    let progress = deputy
        .get_progress(GetProgressRequest {})
        .await
        .expect("progress")
        .into_inner();
    let today: Vec<&str> = progress
        .signed_today
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(today, [record.id.as_str()]);
    assert_eq!(progress.signed_today[0].signature, got.signature);
    let mine = deputy
        .get_document(GetDocumentRequest {
            record_id: record.id.clone(),
        })
        .await
        .expect("the signer's own signed record")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(mine.certificate_chain.len(), 2);
    super::fixture::openssl_verifies(&ward, &mine.document, &mine.signature, None);
    let mut director = sign_in(&ward, DIRECTOR).await;
    let refused = director
        .get_document(GetDocumentRequest {
            record_id: record.id.clone(),
        })
        .await
        .expect_err("another signer's record");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert_eq!(
        refused.message(),
        format!(
            "record_id: {} is neither in your inbox nor signed by you",
            record.id
        )
    );
    let theirs = director
        .get_progress(GetProgressRequest {})
        .await
        .expect("the director's progress")
        .into_inner();
    assert!(theirs.signed_today.is_empty());

    // A retried approve returns the stored signature; it never signs again.
    let again = deputy
        .approve(ApproveRequest {
            record_ids: vec![record.id.clone()],
            pin: DEPUTY_1.1.into(),
        })
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(again.records[0].signature, got.signature);
}

#[tokio::test]
async fn watch_resumes_from_a_cursor() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    for i in 0..3 {
        intake
            .submit(submission("DD-BD", &format!("w-{i}")))
            .await
            .expect("submit");
    }
    let mut watch = intake
        .watch_records(WatchRecordsRequest {
            ward: "cat-lai".into(),
            after_cursor: 0,
        })
        .await
        .expect("watch")
        .into_inner();
    let first = watch.message().await.expect("ok").expect("event");
    drop(watch);
    let mut resumed = intake
        .watch_records(WatchRecordsRequest {
            ward: "cat-lai".into(),
            after_cursor: first.cursor,
        })
        .await
        .expect("watch")
        .into_inner();
    let mut ids = vec![first.record.expect("record").id];
    for _ in 0..2 {
        let e = tokio::time::timeout(Duration::from_secs(20), resumed.message())
            .await
            .expect("event")
            .expect("ok")
            .expect("some");
        assert!(e.cursor > first.cursor);
        ids.push(e.record.expect("record").id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 3, "each record once, none missed: {ids:?}");
}

#[tokio::test]
async fn submit_is_idempotent() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    let a = submit(&mut intake, "HT-KS", "same-key").await;
    let b = intake
        .submit(submission("HT-KS", "same-key"))
        .await
        .expect("resubmit")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(a.id, b.id);
    let mut other = submission("HT-KS", "same-key");
    other.document = b"another document".to_vec();
    let status = intake
        .submit(other)
        .await
        .expect_err("same key, other document");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
}

#[tokio::test]
async fn records_outside_every_delegation_reach_only_the_director() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    let mut deputy = sign_in(&ward, DEPUTY_1).await;
    let (mut deputy_stream, _) = open(&mut deputy).await;
    let mut director = sign_in(&ward, DIRECTOR).await;
    let (mut director_stream, _) = open(&mut director).await;

    let land = submit(&mut intake, "DD-BD", "land-1").await;
    let copy = submit(&mut intake, "CT-BS", "copy-1").await;
    // The director gets the land record; the deputy gets the certified copy, not the land record.
    assert_eq!(leased(&mut director_stream).await.id, land.id);
    assert_eq!(leased(&mut deputy_stream).await.id, copy.id);
    let more = tokio::time::timeout(Duration::from_millis(500), leased(&mut director_stream)).await;
    assert!(
        more.is_err(),
        "director-last: the director must not get the deputy's record"
    );
}

#[tokio::test]
async fn an_expired_lease_returns_and_is_reassigned() {
    let ward = Ward::start(&["--lease-timeout-secs", "2"]);
    let mut intake = intake(&ward).await;
    let mut deputy = sign_in(&ward, DEPUTY_1).await;
    let (mut stream, _) = open(&mut deputy).await;
    let record = submit(&mut intake, "CT-CK", "expire-1").await;
    assert_eq!(leased(&mut stream).await.id, record.id);
    // Not acted on: the lease ends, the record goes back to the pool and out again.
    match next(&mut stream).await {
        Event::Ended(e) => assert_eq!(
            (e.record_id.as_str(), e.reason.as_str()),
            (record.id.as_str(), "expired")
        ),
        other => panic!("unexpected {other:?}"),
    }
    let again = leased(&mut stream).await;
    assert_eq!(again.id, record.id);
    let now = intake
        .get_record(GetRecordRequest {
            id: record.id,
            include_document: false,
        })
        .await
        .expect("get")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(now.state, RecordState::Leased as i32);
}

#[tokio::test]
async fn going_away_returns_leases_and_the_deadline_guard_escalates_to_the_director() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    let mut deputy = sign_in(&ward, DEPUTY_1).await;
    let (mut stream, _) = open(&mut deputy).await;
    let mut req = submission("CT-BS", "urgent-copy");
    // 30 minutes of slack: below the 2-hour guard.
    let deadline = std::time::SystemTime::now() + Duration::from_secs(1800);
    req.deadline = Some(prost_types::Timestamp::from(deadline));
    let record = intake
        .submit(req)
        .await
        .expect("submit")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(leased(&mut stream).await.id, record.id);

    deputy
        .set_away(SetAwayRequest { away: true })
        .await
        .expect("away");
    match next(&mut stream).await {
        Event::Ended(e) => assert_eq!(e.reason, "away"),
        other => panic!("unexpected {other:?}"),
    }
    // No deputy can take it before the guard: the director gets it, escalated.
    let mut director = sign_in(&ward, DIRECTOR).await;
    let (mut director_stream, snapshot) = open(&mut director).await;
    let got = match snapshot.into_iter().find(|r| r.id == record.id) {
        Some(r) => r,
        None => leased(&mut director_stream).await,
    };
    assert_eq!(got.id, record.id);
    assert!(got.escalated, "escalated by the deadline guard");
}
