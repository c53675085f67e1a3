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
