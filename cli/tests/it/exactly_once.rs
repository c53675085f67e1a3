//! Exactly one signature per record: racing approvals, retried rejections, and the audit chain;
//! `signq audit verify` names the first edited entry. Also: the scheduler answers gRPC-web.

use std::io::{Read, Write};
use std::sync::Arc;

use signq_proto::v1::{
    ApproveRequest, GetRecordRequest, PullNextRequest, RecordState, RejectRequest,
};
use tonic::Code;

use super::fixture::{DEPUTY_1, DEPUTY_2, Ward, intake, run, sign_in, submission, submit};

#[tokio::test]
async fn a_retried_reject_returns_the_rejected_record_and_changes_nothing() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    let record = submit(&mut intake, "HT-KT", "reject-retry").await;
    let mut deputy = sign_in(&ward, DEPUTY_2).await;
    deputy
        .pull_next(PullNextRequest { max: 0 })
        .await
        .expect("pull");
    let request = |reason: &str| RejectRequest {
        record_id: record.id.clone(),
        reason: reason.into(),
    };
    let first = deputy
        .reject(request("the seal is unreadable"))
        .await
        .expect("reject")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(first.state, RecordState::Rejected as i32);
    // The answer was lost and the tablet sends it again: the stored rejection comes back.
    let again = deputy
        .reject(request("the seal is unreadable"))
        .await
        .expect("retried reject")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(again.state, RecordState::Rejected as i32);
    assert_eq!(again.reason, "the seal is unreadable");
    assert_eq!(again.finished_at, first.finished_at);
    // Someone else cannot: the record is not theirs.
    let mut other = sign_in(&ward, DEPUTY_1).await;
    let refused = other
        .reject(request("not mine"))
        .await
        .expect_err("another signer");
    assert_eq!(refused.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn racing_approvals_store_one_signature() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    let record = submit(&mut intake, "HT-KT", "race-1").await;
    let mut a = sign_in(&ward, DEPUTY_2).await;
    let mut b = sign_in(&ward, DEPUTY_2).await;
    a.pull_next(PullNextRequest { max: 0 }).await.expect("pull");
    let request = || ApproveRequest {
        record_ids: vec![record.id.clone()],
        pin: DEPUTY_2.1.into(),
    };
    let (ra, rb) = tokio::join!(a.approve(request()), b.approve(request()));
    let outcomes = [ra, rb];
    assert!(
        outcomes.iter().any(|r| r.is_ok()),
        "one approval wins: {outcomes:?}"
    );
    for r in &outcomes {
        if let Err(status) = r {
            assert_eq!(
                status.code(),
                Code::Aborted,
                "the loser is told to retry: {status:?}"
            );
        }
    }
    let stored = intake
        .get_record(GetRecordRequest {
            id: record.id.clone(),
            include_document: false,
        })
        .await
        .expect("get")
        .into_inner()
        .record
        .expect("record");
    for r in outcomes.iter().flatten() {
        assert_eq!(
            r.get_ref().records[0].signature,
            stored.signature,
            "every reply carries the one stored signature"
        );
    }
    // A retry after the fact returns the same signature, signing nothing.
    let retry = a.approve(request()).await.expect("retry").into_inner();
    assert_eq!(retry.records[0].signature, stored.signature);
    drop(ward);
}

#[tokio::test]
async fn audit_verify_names_the_first_edited_entry() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    for i in 0..3 {
        intake
            .submit(submission("HT-KS", &format!("audit-{i}")))
            .await
            .expect("submit");
    }
    let ok = run(&ward, &["audit", "verify"], None);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let db = rusqlite::Connection::open(ward.path("scheduler/signq.db")).expect("db");
    let seq: i64 = db
        .query_row("SELECT MAX(seq) - 1 FROM audit", [], |r| r.get(0))
        .expect("seq");
    db.execute(
        "UPDATE audit SET actor = 'intake:someone-else' WHERE seq = ?1",
        [seq],
    )
    .expect("edit");
    let broken = run(&ward, &["audit", "verify"], None);
    assert!(!broken.status.success());
    let text = String::from_utf8_lossy(&broken.stderr);
    assert!(text.contains(&seq.to_string()), "names entry {seq}: {text}");
}

#[test]
fn browsers_reach_the_api_through_grpc_web() {
    let ward = Ward::start(&[]);
    let roots = {
        let mut store = rustls::RootCertStore::empty();
        let pem = std::fs::read(ward.path("pki/ca.crt.pem")).expect("ca");
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            store.add(cert.expect("cert")).expect("add");
        }
        store
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).expect("tls");
    let mut tcp = std::net::TcpStream::connect(&ward.scheduler).expect("connect");
    let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
    let body = [0u8, 0, 0, 0, 0]; // one uncompressed, empty ListProceduresRequest
    let head = format!(
        "POST /signq.v1.Admin/ListProcedures HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(head.as_bytes()).expect("write");
    tls.write_all(&body).expect("write");
    let mut reply = Vec::new();
    let _ = tls.read_to_end(&mut reply);
    let text = String::from_utf8_lossy(&reply);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("application/grpc-web"), "{text}");
    assert!(
        text.contains("grpc-status:0"),
        "trailers in the body say OK: {text}"
    );
    assert!(
        text.contains("Đăng ký khai sinh"),
        "the catalogue came back: {text}"
    );
}
