//! The link against signing services that hang, refuse, vanish mid-call or were never there.

use std::time::Duration;

use signq_kit::limit::retry_after;
use signq_proto::v1 as pb;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tonic::{Code, Status};

use super::*;
use crate::engine::testing::FakeSigner;

fn settings() -> LinkSettings {
    LinkSettings::default()
}

fn sign_request() -> pb::SignRequest {
    pb::SignRequest {
        signer_id: "w/director".into(),
        pin: "246810".into(),
        delegation: Vec::new(),
        documents: vec![pb::Document {
            record_id: "r1".into(),
            procedure_code: "HT-KS".into(),
            content: b"x".to_vec(),
            attempt: 1,
            place: None,
        }],
        titles: None,
        confirmation_id: String::new(),
        signature_image: Vec::new(),
    }
}

/// The status a caller of the scheduler would get.
fn status(error: SchedError) -> Status {
    error.into()
}

#[tokio::test(start_paused = true)]
async fn a_hung_service_costs_each_call_its_deadline_then_none_while_the_circuit_is_open() {
    let link = FakeSigner::HUNG.link(settings());
    for _ in 0..3 {
        let started = Instant::now();
        let error = status(link.sign(sign_request()).await.expect_err("hung"));
        assert_eq!(
            started.elapsed(),
            settings().sign,
            "the call waited its deadline"
        );
        assert_eq!(error.code(), Code::Unavailable, "{error:?}");
        assert!(
            error.message().contains("did not answer within 15000 ms"),
            "{error:?}"
        );
        assert!(retry_after(&error).is_some(), "RetryInfo: {error:?}");
    }
    assert!(
        link.is_open(),
        "three calls without an answer open the circuit"
    );
    // Now calls fail at once, PIN checks included, and say when to retry.
    let started = Instant::now();
    let error = status(
        link.verify_pin(pb::VerifyPinRequest {
            signer_id: "w/director".into(),
            pin: "246810".into(),
        })
        .await
        .expect_err("open"),
    );
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_eq!(error.code(), Code::Unavailable);
    assert!(error.message().contains("has not answered"), "{error:?}");
    let wait = retry_after(&error).expect("RetryInfo");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(3),
        "{wait:?}"
    );
    // After the wait one trial goes out (and, the service still hung, waits its deadline).
    tokio::time::advance(wait).await;
    let started = Instant::now();
    link.verify_pin(pb::VerifyPinRequest {
        signer_id: "w/director".into(),
        pin: "246810".into(),
    })
    .await
    .expect_err("still hung");
    assert_eq!(started.elapsed(), settings().other);
}

#[tokio::test(start_paused = true)]
async fn a_refusal_is_an_answer_passed_through_and_keeps_the_circuit_closed() {
    let link =
        FakeSigner::signing(|_| Err(Status::permission_denied("wrong PIN; 4 attempts left")))
            .link(settings());
    for _ in 0..5 {
        let error = status(link.sign(sign_request()).await.expect_err("refused"));
        assert_eq!(error.code(), Code::PermissionDenied);
        assert!(error.message().contains("wrong PIN"), "{error:?}");
    }
    assert!(!link.is_open());
}

#[tokio::test]
async fn a_service_that_is_not_there_is_unavailable() {
    // A port that was just free: nothing listens there.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind")
        .local_addr()
        .expect("addr");
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_lazy();
    let link = SignerLink::over_channel(channel, settings(), 1 << 20, 1 << 20);
    let error = status(link.sign(sign_request()).await.expect_err("nothing there"));
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    assert!(retry_after(&error).is_some(), "{error:?}");
}

/// A signing service that takes calls over a real connection and never answers: whichever timer
/// fires first, the link's or the channel's own for the deadline the request carries, the caller
/// hears UNAVAILABLE with a time to retry, never CANCELLED.
#[tokio::test]
async fn a_hung_service_over_a_connection_is_unavailable_not_cancelled() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(signq_proto::v1::signer_server::SignerServer::new(
                FakeSigner::HUNG,
            ))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_lazy();
    let short = LinkSettings {
        other: Duration::from_millis(200),
        ..settings()
    };
    let link = SignerLink::over_channel(channel, short, 1 << 20, 1 << 20);
    for _ in 0..short.breaker.failures_to_open {
        let request = pb::VerifyPinRequest {
            signer_id: "w/director".into(),
            pin: "246810".into(),
        };
        let error = status(link.verify_pin(request).await.expect_err("hung"));
        assert_eq!(error.code(), Code::Unavailable, "{error:?}");
        assert!(error.message().contains("did not answer"), "{error:?}");
        assert!(retry_after(&error).is_some(), "{error:?}");
    }
    assert!(link.is_open(), "three unanswered calls open the circuit");
}

/// A signing service that takes a Sign call and then dies with it (its connection cut) — like a
/// `kill -9` mid-call.
#[tokio::test]
async fn a_service_killed_mid_call_is_unavailable_not_unknown() {
    // The service, behind a proxy that the test cuts once the call has arrived.
    let upstream = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let upstream_addr = upstream.local_addr().expect("addr");
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(signq_proto::v1::signer_server::SignerServer::new(
                FakeSigner::HUNG,
            ))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(upstream)),
    );
    let front = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let front_addr = front.local_addr().expect("addr");
    let (arrived, mut arrival) = tokio::sync::mpsc::channel::<()>(1);
    let proxy = tokio::spawn(async move {
        let (mut client, _) = front.accept().await.expect("accept");
        let mut server = TcpStream::connect(upstream_addr).await.expect("connect");
        let (mut cr, mut cw) = client.split();
        let (mut sr, mut sw) = server.split();
        let up = async {
            // The request's first bytes reaching the service mean the call is under way.
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = tokio::io::AsyncReadExt::read(&mut cr, &mut buf)
                    .await
                    .unwrap_or(0);
                if n == 0 {
                    return;
                }
                if tokio::io::AsyncWriteExt::write_all(&mut sw, &buf[..n])
                    .await
                    .is_err()
                {
                    return;
                }
                let _ = arrived.try_send(());
            }
        };
        let down = tokio::io::copy(&mut sr, &mut cw);
        let _ = tokio::join!(up, down);
    });
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{front_addr}"))
        .expect("endpoint")
        .connect_lazy();
    let link = SignerLink::over_channel(channel, settings(), 1 << 20, 1 << 20);
    let call = tokio::spawn(async move { link.sign(sign_request()).await });
    arrival.recv().await.expect("the call reached the service");
    // Give the whole request time to pass, then cut both sockets.
    while arrival.try_recv().is_ok() {}
    proxy.abort();
    let error = status(
        tokio::time::timeout(Duration::from_secs(60), call)
            .await
            .expect("the call ended when its connection broke")
            .expect("task")
            .expect_err("cut"),
    );
    assert_eq!(error.code(), Code::Unavailable, "{error:?}");
    assert!(retry_after(&error).is_some(), "{error:?}");
}

/// A request still queued on a connection that closes ends CANCELLED with the transport's error
/// as its source: the service never answered it.
#[test]
fn a_request_cancelled_by_its_closing_connection_went_unanswered() {
    let mut status = Status::cancelled("operation was canceled");
    status.set_source(std::sync::Arc::new(std::io::Error::other(
        "connection closed",
    )));
    assert_eq!(unanswered(&status), Some(Outcome::Unreachable));
    assert_eq!(unanswered(&Status::cancelled("sent by the service")), None);
}
