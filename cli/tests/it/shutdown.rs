//! Graceful shutdown: SIGTERM ends `signq dev` even while a tablet holds its inbox stream open
//! (streams never end by themselves), and the stream's holder sees it end.

use signq_proto::v1::StreamInboxRequest;

use super::fixture::{DEPUTY_1, Ward, sign_in};

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_ends_the_process_while_inbox_streams_are_open() {
    let mut ward = Ward::start(&[]);
    let mut inbox = sign_in(&ward, DEPUTY_1).await;
    let mut stream = inbox
        .stream_inbox(StreamInboxRequest {})
        .await
        .expect("stream")
        .into_inner();
    let first = stream.message().await.expect("snapshot").expect("an event");
    assert!(matches!(
        first.event,
        Some(signq_proto::v1::stream_inbox_response::Event::Snapshot(_))
    ));

    let status = tokio::task::spawn_blocking(move || ward.terminate())
        .await
        .expect("join");
    assert!(status.success(), "{status}");
    // The stream ended with the process: an error or the end, never another event.
    assert!(!matches!(stream.message().await, Ok(Some(_))));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_ends_open_streams_at_once_and_says_where_to_resume() {
    let mut ward = Ward::start(&[]);
    let mut intake = super::fixture::intake(&ward).await;
    super::fixture::submit(&mut intake, "HT-KS", "before-restart").await;
    let mut watch = intake
        .watch_records(signq_proto::v1::WatchRecordsRequest {
            ward: "cat-lai".into(),
            after_cursor: 0,
        })
        .await
        .expect("watch")
        .into_inner();
    let seen = watch.message().await.expect("event").expect("one event");
    let mut inbox = sign_in(&ward, DEPUTY_1).await;
    let mut stream = inbox
        .stream_inbox(StreamInboxRequest {})
        .await
        .expect("stream")
        .into_inner();
    stream.message().await.expect("snapshot").expect("an event");

    let terminated = tokio::task::spawn_blocking(move || ward.terminate());
    // The watcher is told the scheduler is going and from where to resume, rather than having
    // its connection cut; the inbox stream simply ends, and the tablet reconnects.
    let mut last = seen.cursor;
    let status = loop {
        match watch.message().await {
            Ok(Some(event)) => last = event.cursor,
            Ok(None) => panic!("the watch ended without saying why"),
            Err(status) => break status,
        }
    };
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(
        status.message().contains("shutting down")
            && status.message().contains(&format!("after cursor {last}")),
        "{}",
        status.message()
    );
    assert!(
        matches!(stream.message().await, Ok(None)),
        "the inbox stream ends cleanly"
    );
    let status = terminated.await.expect("join");
    assert!(status.success(), "{status}");
}
