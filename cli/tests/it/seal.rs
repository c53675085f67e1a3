//! The ward's seal as the queue's second stage: a PDF its director or deputy signed goes to the
//! clerk's inbox (or is sealed at once, when the ward seals automatically) and is done only once
//! sealed; each stage is its own event and audit entry; the result carries both signatures and
//! passes pyHanko, pdfsig, qpdf and `signq verify`.

use std::time::Duration;

use signq_proto::v1::{
    ApproveRequest, GetProgressRequest, RecordStage, RecordState, SetSignatureImageRequest,
    WatchRecordsRequest,
};

use super::fixture::{
    DEPUTY_1, DIRECTOR, Ward, intake, run, scheduler_channel, sign_in, submit_request,
};
use super::flow::{leased, open};
use super::pdf::{
    director_signs, pdf_submission, red_pixels, red_seal, show, valid_signatures, with_documents,
};

/// The demo ward's clerk and PIN (see `signq dev`).
const CLERK: (&str, &str) = ("cat-lai/clerk", "864200");

/// Sets the clerk's image, the ward's red seal.
async fn seal_image(ward: &Ward) {
    signq_proto::v1::admin_client::AdminClient::new(
        scheduler_channel(ward, Some("operator")).await,
    )
    .set_signature_image(SetSignatureImageRequest {
        signer_id: CLERK.0.into(),
        png: red_seal(),
    })
    .await
    .expect("the seal's image");
}

/// Writes record `id`'s signed PDF to the ward's `name` directory and judges it: two valid
/// signatures, the seal drawn, and `signq verify` naming the seal after the person.
async fn judge_sealed(
    ward: &Ward,
    intake: &mut signq_proto::v1::intake_client::IntakeClient<tonic::transport::Channel>,
    id: &str,
) {
    let got = with_documents(intake, id).await;
    let dir = ward.path("sealed");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let file = dir.join(format!("{id}.pdf"));
    std::fs::write(&file, &got.signed_document).expect("write");
    let report = valid_signatures(ward, &file, 2);
    assert!(
        report.contains("Ủy ban nhân dân Phường Cát Lái"),
        "{report}"
    );
    assert!(red_pixels(&file) > 200, "the seal is drawn on the page");
    let out = run(ward, &["verify", file.to_str().expect("utf8")], None);
    let text = show(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("capacity:   Đóng dấu của cơ quan"), "{text}");
}

#[tokio::test]
async fn a_pdf_the_deputy_signed_waits_for_the_clerks_seal_and_is_done_once_sealed() {
    let ward = Ward::start(&["--seal", "clerk"]);
    seal_image(&ward).await;
    let mut intake = intake(&ward).await;
    let mut watch = intake
        .watch_records(WatchRecordsRequest {
            ward: "cat-lai".into(),
            after_cursor: 0,
        })
        .await
        .expect("watch")
        .into_inner();
    let page = signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF");
    let mut ids = Vec::new();
    for n in 0..3 {
        let request = pdf_submission("CT-BS", &format!("copy-{n}"), page.clone());
        ids.push(submit_request(&mut intake, request).await.id);
    }
    // Not a PDF: nothing to seal, done with the deputy's signature.
    let text = submit_request(&mut intake, super::fixture::submission("CT-BS", "text"))
        .await
        .id;

    let mut deputy = sign_in(&ward, DEPUTY_1).await;
    let (mut stream, mut held) = open(&mut deputy).await;
    while held.len() < 4 {
        held.push(leased(&mut stream).await);
    }
    let all: Vec<String> = ids.iter().chain([&text]).cloned().collect();
    let approve = ApproveRequest {
        record_ids: all.clone(),
        pin: DEPUTY_1.1.into(),
    };
    let signed = deputy
        .approve(approve.clone())
        .await
        .expect("approve")
        .into_inner()
        .records;
    let stages: Vec<(i32, i32)> = signed.iter().map(|r| (r.state, r.stage)).collect();
    let waiting = (RecordState::Queued as i32, RecordStage::Seal as i32);
    let done = (RecordState::Signed as i32, RecordStage::Person as i32);
    assert_eq!(stages, [waiting, waiting, waiting, done]);
    assert!(signed.iter().all(|r| r.signer_id == DEPUTY_1.0));
    // A retry of the deputy's approval signs nothing again and answers the same.
    let again = deputy.approve(approve).await.expect("retry").into_inner();
    assert_eq!(again.records.len(), 4);
    assert!(again.records.iter().all(|r| r.signer_id == DEPUTY_1.0));
    // The deputy's signature alone is already a signed PDF, one signature in it.
    let half = with_documents(&mut intake, &ids[0]).await;
    assert_eq!(
        signq_pades::signatures(&half.signed_document)
            .expect("signatures")
            .len(),
        1
    );

    // The clerk's inbox has the three PDFs; the deputy's PIN does not seal them.
    let mut clerk = sign_in(&ward, CLERK).await;
    let (mut stream, mut held) = open(&mut clerk).await;
    while held.len() < 3 {
        held.push(leased(&mut stream).await);
    }
    let mut got: Vec<String> = held.iter().map(|r| r.id.clone()).collect();
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
    assert!(
        held.iter()
            .all(|r| r.clerk_id == CLERK.0 && r.signer_id == DEPUTY_1.0)
    );
    let status = clerk
        .approve(ApproveRequest {
            record_ids: ids.clone(),
            pin: DEPUTY_1.1.into(),
        })
        .await
        .expect_err("another's PIN");
    assert!(status.message().contains("wrong PIN"), "{status:?}");
    let sealed = clerk
        .approve(ApproveRequest {
            record_ids: ids.clone(),
            pin: CLERK.1.into(),
        })
        .await
        .expect("seal")
        .into_inner()
        .records;
    for r in &sealed {
        assert_eq!(
            (r.state, r.stage),
            (RecordState::Signed as i32, RecordStage::Seal as i32)
        );
        assert_eq!(
            (r.signer_id.as_str(), r.clerk_id.as_str()),
            (DEPUTY_1.0, CLERK.0)
        );
        assert!(r.finished_at.is_some() && r.signed_at.is_some());
    }
    judge_sealed(&ward, &mut intake, &ids[0]).await;
    // Today's work: the deputy signed four (a PDF counts from its own signature, not the seal),
    // the clerk sealed three.
    for (tablet, want) in [(&mut deputy, all.clone()), (&mut clerk, ids.clone())] {
        let mut today: Vec<String> = tablet
            .get_progress(GetProgressRequest {})
            .await
            .expect("progress")
            .into_inner()
            .signed_today
            .into_iter()
            .map(|r| r.id)
            .collect();
        today.sort();
        let mut want = want;
        want.sort();
        assert_eq!(today, want);
    }

    // The watcher saw each stage of the first record as its own change.
    let mut seen = Vec::new();
    while seen.last() != Some(&(RecordState::Signed as i32, RecordStage::Seal as i32)) {
        let event = tokio::time::timeout(Duration::from_secs(60), watch.message())
            .await
            .expect("event")
            .expect("ok")
            .expect("some");
        let record = event.record.expect("record");
        if record.id == ids[0] {
            seen.push((record.state, record.stage));
        }
    }
    let person = RecordStage::Person as i32;
    let seal = RecordStage::Seal as i32;
    assert_eq!(
        seen,
        [
            (RecordState::Queued as i32, person),
            (RecordState::Leased as i32, person),
            (RecordState::Queued as i32, seal),
            (RecordState::Leased as i32, seal),
            (RecordState::Signed as i32, seal),
        ]
    );
    let verified = run(&ward, &["audit", "verify"], None);
    assert!(verified.status.success(), "{}", show(&verified));
}

#[tokio::test]
async fn a_ward_that_seals_automatically_seals_what_its_director_signed() {
    let ward = Ward::start(&["--seal", "automatic"]);
    seal_image(&ward).await;
    let mut intake = intake(&ward).await;
    let page = signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF");
    // A land record: only the director signs it.
    let id = submit_request(&mut intake, pdf_submission("DD-BD", "land", page))
        .await
        .id;
    director_signs(&ward, &id).await;
    // No clerk signs in: the scheduler seals with the key the signing service holds.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let record = loop {
        let record = super::fixture::get_record(&ward, &id).await;
        if record.state == RecordState::Signed as i32 {
            break record;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not sealed: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(record.stage, RecordStage::Seal as i32);
    assert_eq!(
        (record.signer_id.as_str(), record.clerk_id.as_str()),
        (DIRECTOR.0, CLERK.0)
    );
    judge_sealed(&ward, &mut intake, &id).await;
}
