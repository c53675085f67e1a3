//! Signed PDFs end to end: records whose documents are PDFs come back from the queue signed as
//! PAdES, with the block of the deputy's capacity, judged by pyHanko (from the virtualenv the
//! test command makes at `target/judges`) and poppler's `pdfsig`; Submit refuses a PDF that
//! cannot be signed; `signq verify` checks every signature inside a PDF.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use signq_kit::identity::Role;
use signq_pades::{Place, Signature, prepare};
use signq_proto::v1::{ApproveRequest, GetRecordRequest, SignaturePlace, SubmitRequest};
use signq_signer::cms::CmsSigner;
use signq_signer::pki::{SignerSpec, Validity, WardInfo};
use time::{Duration, OffsetDateTime};
use tonic::Code;

use super::fixture::{
    DEPUTY_1, DIRECTOR, Ward, http_post, intake, run, scheduler_channel, sign_in, submission,
    submit_request,
};
use super::flow::{leased, open};

/// pyHanko's command, from `PYHANKO` or the virtualenv `scripts/test` makes.
pub(super) fn pyhanko() -> PathBuf {
    std::env::var_os("PYHANKO")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/judges/bin/pyhanko")
        })
}

/// Runs a judge in `dir`.
pub(super) fn judge(program: &Path, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e} (scripts/test installs it)", program.display()))
}

pub(super) fn show(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts that pyHanko (trusting only the ward's CA) and pdfsig find `n` valid signatures in
/// `file`, the last timestamped by an authority pyHanko trusts, covering the whole file with the
/// validation data in it, and still validating ten years from now offline from that data
/// (`scripts/judges/pades-lt.py`); pdfsig's report.
pub(super) fn valid_signatures(ward: &Ward, file: &Path, n: usize) -> String {
    let dir = file.parent().expect("a directory");
    let name = file.file_name().and_then(|n| n.to_str()).expect("a name");
    let ca = ward.path("pki/ca.crt.pem");
    let ca = ca.to_str().expect("utf8");
    let out = judge(
        &pyhanko(),
        &[
            "sign",
            "validate",
            "--trust",
            ca,
            "--trust-replace",
            "--pretty-print",
            name,
        ],
        dir,
    );
    assert!(out.status.success(), "pyHanko: {}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("The signature is judged VALID.").count(),
        n,
        "{text}"
    );
    for line in [
        "This timestamp is backed by a time stamping authority.",
        "The timestamp token is cryptographically sound.",
        "The TSA certificate is trusted.",
        // The validation data is in the signature's own update: it covers the file.
        "The signature covers the entire file.",
    ] {
        assert!(
            text.contains(line),
            "pyHanko: {line:?} missing from\n{text}"
        );
    }
    let python = pyhanko().with_file_name("python");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/judges/pades-lt.py");
    let out = judge(
        &python,
        &[script.to_str().expect("utf8"), ca, name, "10"],
        dir,
    );
    assert!(out.status.success(), "pades-lt: {}", show(&out));
    let verdicts = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(verdicts.lines().count(), n, "{verdicts}");
    assert!(
        verdicts
            .lines()
            .last()
            .is_some_and(|l| l.ends_with(" AdESPassed.OK")),
        "ten years from now, offline: {verdicts}"
    );
    let out = judge(Path::new("pdfsig"), &[name], dir);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        text.matches("Signature Validation: Signature is Valid.")
            .count(),
        n,
        "pdfsig: {}",
        show(&out)
    );
    let out = judge(Path::new("qpdf"), &["--check", name], dir);
    assert!(out.status.success(), "qpdf --check: {}", show(&out));
    text
}

/// Record `id` as Intake gives it with its document and signed document.
pub(super) async fn with_documents(
    intake: &mut signq_proto::v1::intake_client::IntakeClient<tonic::transport::Channel>,
    id: &str,
) -> signq_proto::v1::Record {
    intake
        .get_record(GetRecordRequest {
            id: id.into(),
            include_document: true,
        })
        .await
        .expect("get")
        .into_inner()
        .record
        .expect("record")
}

/// The director signs in and signs record `id` (a land record, theirs alone) once it is leased.
pub(super) async fn director_signs(ward: &Ward, id: &str) {
    let mut director = sign_in(ward, DIRECTOR).await;
    let (mut stream, held) = open(&mut director).await;
    if held.is_empty() {
        leased(&mut stream).await;
    }
    director
        .approve(ApproveRequest {
            record_ids: vec![id.to_string()],
            pin: DIRECTOR.1.into(),
        })
        .await
        .expect("approve");
}

/// A PDF record of the demo ward.
pub(super) fn pdf_submission(procedure: &str, key: &str, pdf: Vec<u8>) -> SubmitRequest {
    SubmitRequest {
        document: pdf,
        ..submission(procedure, key)
    }
}

/// Land records (which only a director signs), submitted as an intake desk does: two one-page
/// PDFs and a text, keyed `<key>-1` to `<key>-3`; their ids.
pub(super) async fn land_records(
    intake: &mut signq_proto::v1::intake_client::IntakeClient<tonic::transport::Channel>,
    key: &str,
) -> [String; 3] {
    let page = signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF");
    let first = pdf_submission("DD-BD", &format!("{key}-1"), page.clone());
    let second = pdf_submission("DD-BD", &format!("{key}-2"), page);
    let text = submission("DD-BD", &format!("{key}-3"));
    [
        submit_request(intake, first).await.id,
        submit_request(intake, second).await.id,
        submit_request(intake, text).await.id,
    ]
}

#[tokio::test]
async fn pdf_records_come_back_signed_as_pades_with_the_deputys_block() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    let page = signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF");
    let arrived_signed = signed_elsewhere(&ward, &page, None);

    // Submit refuses what could not be signed, naming the field.
    let refusals = [
        (
            pdf_submission("CT-BS", "broken", b"%PDF-1.7\nnot really a PDF".to_vec()),
            "document: malformed PDF",
        ),
        (
            SubmitRequest {
                signature_place: Some(SignaturePlace {
                    page: 5,
                    ..Default::default()
                }),
                ..pdf_submission("CT-BS", "page-5", page.clone())
            },
            "signature_place: page 5 does not exist: the PDF has 1 page(s)",
        ),
        (
            SubmitRequest {
                signature_place: Some(SignaturePlace {
                    page: 1,
                    x: 500.0,
                    y: 10.0,
                    width: 200.0,
                    height: 60.0,
                    ..Default::default()
                }),
                ..pdf_submission("CT-BS", "off-page", page.clone())
            },
            "is not inside page 1",
        ),
        (
            SubmitRequest {
                signature_place: Some(SignaturePlace {
                    page: 1,
                    ..Default::default()
                }),
                ..submission("CT-BS", "text-with-place")
            },
            "signature_place: only a PDF has a signature place",
        ),
    ];
    for (request, message) in refusals {
        let status = intake.submit(request).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(message), "{status:?}");
    }

    // Three PDFs: at the default place, at a place intake chose, and one that arrived signed.
    let mut deputy = sign_in(&ward, DEPUTY_1).await;
    let (mut stream, _) = open(&mut deputy).await;
    let placed = SubmitRequest {
        signature_place: Some(SignaturePlace {
            page: 1,
            x: 72.0,
            y: 72.0,
            width: 240.0,
            height: 110.0,
            ..Default::default()
        }),
        ..pdf_submission("CT-BS", "placed", page.clone())
    };
    let mut ids = Vec::new();
    for request in [
        pdf_submission("CT-BS", "default", page.clone()),
        placed,
        pdf_submission("CT-BS", "arrived-signed", arrived_signed.clone()),
    ] {
        let record = intake.submit(request).await.expect("submit").into_inner();
        ids.push(record.record.expect("record").id);
    }
    let mut held = Vec::new();
    while held.len() < ids.len() {
        held.push(leased(&mut stream).await.id);
    }
    held.sort();
    let mut wanted = ids.clone();
    wanted.sort();
    assert_eq!(held, wanted);

    // The ward's titles: its one-stop centre's director signs for the centre.
    signq_proto::v1::admin_client::AdminClient::new(
        scheduler_channel(&ward, Some("operator")).await,
    )
    .create_ward(signq_proto::v1::CreateWardRequest {
        ward: Some(signq_proto::v1::Ward {
            id: "cat-lai".into(),
            name: "Phường Cát Lái".into(),
            office_hours: String::new(),
            signature_titles: Some(signq_proto::v1::SignatureTitles {
                body: String::new(),
                head: "GIÁM ĐỐC".into(),
                deputy: "PHÓ GIÁM ĐỐC".into(),
            }),
            seal: 0,
        }),
    })
    .await
    .expect("titles");

    // The deputy's own signature, blue on a transparent background; what is not a PNG is refused.
    let mut admin = signq_proto::v1::admin_client::AdminClient::new(
        scheduler_channel(&ward, Some("operator")).await,
    );
    let status = admin
        .set_signature_image(signq_proto::v1::SetSignatureImageRequest {
            signer_id: DEPUTY_1.0.into(),
            png: b"GIF89a".to_vec(),
        })
        .await
        .expect_err("not a PNG");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status
            .message()
            .contains("png: the signature image: not a readable PNG"),
        "{status:?}"
    );
    let set = admin
        .set_signature_image(signq_proto::v1::SetSignatureImageRequest {
            signer_id: DEPUTY_1.0.into(),
            png: blue_signature(),
        })
        .await
        .expect("a signature image")
        .into_inner();
    assert!(set.signer.expect("signer").has_signature_image);

    // One PIN, one batch.
    let approved = deputy
        .approve(ApproveRequest {
            record_ids: ids.clone(),
            pin: DEPUTY_1.1.into(),
        })
        .await
        .expect("approve")
        .into_inner();
    assert_eq!(approved.records.len(), 3);

    let dir = ward.path("signed");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for (id, (original, signatures)) in
        ids.iter()
            .zip([(&page, 1), (&page, 1), (&arrived_signed, 2)])
    {
        let got = with_documents(&mut intake, id).await;
        assert_eq!(&got.document, original);
        assert!(
            got.signed_document.starts_with(original),
            "the original bytes are untouched"
        );
        let file = dir.join(format!("{id}.pdf"));
        std::fs::write(&file, &got.signed_document).expect("write");
        let report = valid_signatures(&ward, &file, signatures);
        assert!(
            blue_pixels(&file) > 100,
            "the signature image is drawn on the page"
        );
        assert!(report.contains("ETSI.CAdES.detached"), "{report}");
        // The CMS inside is the signature the record holds.
        let inside = signq_pades::signatures(&got.signed_document).expect("signatures");
        let last = inside
            .last()
            .expect("a signature")
            .signature
            .as_ref()
            .expect("readable");
        assert_eq!(last.cms, got.signature);
        assert_eq!(last.reason.as_deref(), Some("KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC"));
    }

    // `signq get --out-dir` writes the signed PDF beside the document; `signq verify` reads it.
    let out_dir = ward.path("got");
    let out = run(
        &ward,
        &[
            "get",
            "--addr",
            &ward.scheduler,
            "--out-dir",
            out_dir.to_str().expect("utf8"),
            &ids[1],
        ],
        None,
    );
    assert!(out.status.success(), "{}", show(&out));
    let file = out_dir.join(format!("{}.pdf", ids[1]));
    assert!(
        show(&out).contains(file.to_str().expect("utf8")),
        "{}",
        show(&out)
    );
    let out = run(&ward, &["verify", file.to_str().expect("utf8")], None);
    let text = show(&out);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("signer id:  cat-lai/deputy-1"), "{text}");
    assert!(
        text.contains("capacity:   KT. GIÁM ĐỐC / PHÓ GIÁM ĐỐC\n"),
        "{text}"
    );
    // Timestamped by the ward's own authority (PAdES B-T).
    assert!(
        text.contains("by Phường Cát Lái signq timestamping (token "),
        "{text}"
    );
}

/// A signature image: a thick blue stroke on a transparent background, 120 x 40 pixels.
fn blue_signature() -> Vec<u8> {
    let (width, height) = (120u32, 40u32);
    let mut pixels = Vec::new();
    for y in 0..height {
        for x in 0..width {
            let on_stroke = (x / 3).abs_diff(y) < 4;
            pixels.extend_from_slice(if on_stroke {
                &[20, 40, 200, 255]
            } else {
                &[0, 0, 0, 0]
            });
        }
    }
    rgba_png(width, height, &pixels)
}

/// The blue pixels of `pdf`'s last page as poppler's `pdftoppm` renders it at 72 dpi (the page
/// itself is black on white).
fn blue_pixels(pdf: &Path) -> usize {
    rendered(pdf)
        .chunks_exact(3)
        .filter(|p| p[2] > 120 && p[0] < 100 && p[1] < 120)
        .count()
}

/// The RGB samples of `pdf`'s last page as poppler's `pdftoppm` renders it at 72 dpi.
fn rendered(pdf: &Path) -> Vec<u8> {
    let dir = pdf.parent().expect("a directory");
    let name = pdf.file_name().and_then(|n| n.to_str()).expect("a name");
    let out = judge(
        Path::new("pdftoppm"),
        &["-r", "72", "-singlefile", name, "page"],
        dir,
    );
    assert!(out.status.success(), "pdftoppm: {}", show(&out));
    let ppm = std::fs::read(dir.join("page.ppm")).expect("the rendered page");
    // P6 <width> <height> <max>\n, then RGB.
    let mut fields = 0;
    let start = ppm
        .iter()
        .position(|&b| {
            if b.is_ascii_whitespace() {
                fields += 1;
            }
            fields == 4
        })
        .expect("a PPM header")
        + 1;
    ppm[start..].to_vec()
}

/// `pdf` signed by a deputy of the ward's CA outside signq's queue (as a PDF may arrive), its
/// block's capacity stated as `reason`.
fn signed_elsewhere(ward: &Ward, pdf: &[u8], reason: Option<&str>) -> Vec<u8> {
    let pki = ward.pki();
    let now = OffsetDateTime::now_utc();
    let spec = SignerSpec {
        signer_id: "cat-lai/deputy-9".into(),
        display_name: "Lê Thị Hoa".into(),
        role: Role::Deputy,
        ward: WardInfo {
            id: "cat-lai".into(),
            name: "Phường Cát Lái".into(),
        },
    };
    let validity = Validity {
        not_before: now - Duration::days(1),
        not_after: now + Duration::days(365),
    };
    let (cert, key) = pki.issue_signer(&spec, validity).expect("issue");
    let signer = CmsSigner::new(
        &key,
        cert.cert_der.clone(),
        vec![pki.ca_cert_der().to_vec()],
    )
    .expect("signer");
    let prepared = prepare(
        pdf,
        &Signature {
            signing_time: now,
            name: "Lê Thị Hoa".into(),
            reason: reason.map(str::to_string),
            location: None,
            place: Place::default(),
            lines: vec![
                "KT. CHỦ TỊCH".into(),
                "PHÓ CHỦ TỊCH".into(),
                "Lê Thị Hoa".into(),
            ],
            image: None,
        },
    )
    .expect("prepare");
    let cms = signer
        .sign_cades_detached(&prepared.signed_parts(), &[])
        .expect("sign");
    prepared.embed(&cms).expect("embed")
}

#[test]
fn verify_checks_every_signature_inside_a_pdf() {
    let ward = Ward::start(&[]);
    let page = signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF");
    let twice = signed_elsewhere(&ward, &signed_elsewhere(&ward, &page, None), None);
    let path = ward.path("twice.pdf");
    std::fs::write(&path, &twice).expect("write");

    let out = run(&ward, &["verify", path.to_str().expect("utf8")], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("signq-1: signature OK (ETSI.CAdES.detached)"),
        "{text}"
    );
    assert!(
        text.contains("signq-2: signature OK (ETSI.CAdES.detached)"),
        "{text}"
    );
    assert!(text.contains("signed by:  Lê Thị Hoa (deputy)"), "{text}");
    assert!(text.contains("covers:     the whole file"), "{text}");
    assert!(text.contains("bytes of later updates follow"), "{text}");

    let at = twice
        .windows(18)
        .position(|w| w == b"trich luc khai sin")
        .expect("the page's text");
    let mut tampered = twice.clone();
    tampered[at] = b'X';
    std::fs::write(&path, &tampered).expect("write");
    let out = run(&ward, &["verify", path.to_str().expect("utf8")], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a changed byte passed: {text}");
    assert_eq!(text.matches("signature INVALID").count(), 2, "{text}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2 of 2 signature(s) INVALID"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let note = ward.path("note.txt");
    std::fs::write(&note, "không phải PDF").expect("write");
    let out = run(&ward, &["verify", note.to_str().expect("utf8")], None);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a PDF: give its detached signature with --signature"),
        "{err}"
    );

    // A deputy's signature whose block claims the head's own capacity is not accepted.
    let posing = signed_elsewhere(&ward, &page, Some("TM. ỦY BAN NHÂN DÂN / CHỦ TỊCH"));
    std::fs::write(&path, &posing).expect("write");
    let out = run(&ward, &["verify", path.to_str().expect("utf8")], None);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(
        show(&out).contains("but a deputy signs KT. or TUQ. for the head"),
        "{}",
        show(&out)
    );
}

#[test]
fn a_deputy_authorised_in_writing_signs_tuq_and_signq_sign_writes_the_signed_pdf() {
    let ward = Ward::start(&[]);
    let delegation = ward.path("tuq.p7s");
    let delegation = delegation.to_str().expect("utf8");
    let out = run(
        &ward,
        &[
            "delegation",
            "create",
            "--director",
            DIRECTOR.0,
            "--deputy",
            DEPUTY_1.0,
            "--procedures",
            "CT-BS",
            "--notation",
            "tuq",
            "--out",
            delegation,
        ],
        Some(DIRECTOR.1),
    );
    assert!(out.status.success(), "{}", show(&out));
    let pdf = ward.path("ban-sao.pdf");
    std::fs::write(
        &pdf,
        signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF"),
    )
    .expect("write");
    let out = run(
        &ward,
        &[
            "sign",
            "--addr",
            &ward.addr,
            "--signer",
            DEPUTY_1.0,
            "--procedure",
            "CT-BS",
            "--delegation",
            delegation,
            pdf.to_str().expect("utf8"),
        ],
        Some(DEPUTY_1.1),
    );
    assert!(out.status.success(), "{}", show(&out));
    let signed = ward.path("ban-sao.signed.pdf");
    assert!(
        show(&out).contains(signed.to_str().expect("utf8")),
        "{}",
        show(&out)
    );
    valid_signatures(&ward, &signed, 1);
    let out = run(&ward, &["verify", signed.to_str().expect("utf8")], None);
    assert!(out.status.success(), "{}", show(&out));
    // Authorised in writing, the deputy signs for the head, not for the committee.
    assert!(
        show(&out).contains("capacity:   TUQ. CHỦ TỊCH / PHÓ CHỦ TỊCH\n"),
        "{}",
        show(&out)
    );
}

#[test]
fn the_timestamp_authority_answers_openssl_over_http() {
    let ward = Ward::start(&["--tsa-listen", "127.0.0.1:0"]);
    assert!(ward.tsa.starts_with("http://127.0.0.1:"), "{}", ward.tsa);
    let dir = ward.path("tsa");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("record.txt"), "Giấy khai sinh số 0123/2025").expect("write");
    let out = judge(
        Path::new("openssl"),
        &[
            "ts",
            "-query",
            "-data",
            "record.txt",
            "-sha256",
            "-cert",
            "-out",
            "q.tsq",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", show(&out));
    let query = std::fs::read(dir.join("q.tsq")).expect("query");
    let (status, reply) = http_post(&ward.tsa, "application/timestamp-query", &query);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    std::fs::write(dir.join("r.tsr"), reply).expect("write");
    let ca = ward.path("pki/ca.crt.pem");
    let ca = ca.to_str().expect("utf8");
    let out = judge(
        Path::new("openssl"),
        &[
            "ts",
            "-verify",
            "-in",
            "r.tsr",
            "-queryfile",
            "q.tsq",
            "-CAfile",
            ca,
        ],
        &dir,
    );
    assert!(
        out.status.success() && show(&out).contains("Verification: OK"),
        "{}",
        show(&out)
    );
    // Anything but a timestamp query is refused, saying what to send.
    let (status, reply) = http_post(&ward.tsa, "text/plain", b"hello");
    assert_eq!(status, 415);
    assert!(String::from_utf8_lossy(&reply).contains("application/timestamp-query"));
}

#[tokio::test]
async fn a_hundred_pdfs_are_signed_with_one_pin_in_one_request_to_the_signing_service() {
    let ward = Ward::start(&["--lease-size", "100"]);
    let mut intake = intake(&ward).await;
    let page = signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF");
    // Land records: only the director signs them.
    let mut director = sign_in(&ward, DIRECTOR).await;
    let (mut stream, _) = open(&mut director).await;
    let mut ids = Vec::new();
    for n in 0..100 {
        let request = pdf_submission("DD-BD", &format!("land-{n}"), page.clone());
        let record = intake.submit(request).await.expect("submit").into_inner();
        ids.push(record.record.expect("record").id);
    }
    let mut held = 0;
    while held < ids.len() {
        leased(&mut stream).await;
        held += 1;
    }
    let batches = |text: &str, suffix: &str| -> f64 {
        let name = format!("{}_{suffix} ", signq_signer::service::metrics::BATCH_SIZE);
        text.lines()
            .find_map(|l| l.strip_prefix(name.as_str()))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let before = super::fixture::http_get(&ward.metrics);
    let approved = director
        .approve(ApproveRequest {
            record_ids: ids.clone(),
            pin: DIRECTOR.1.into(),
        })
        .await
        .expect("approve")
        .into_inner();
    assert_eq!(approved.records.len(), 100);
    let after = super::fixture::http_get(&ward.metrics);
    assert_eq!(
        batches(&after, "count") - batches(&before, "count"),
        1.0,
        "one request to the signing service"
    );
    assert_eq!(batches(&after, "sum") - batches(&before, "sum"), 100.0);

    // Every one is a signed PDF whose signature is the record's; one is judged from outside.
    let dir = ward.path("signed");
    std::fs::create_dir_all(&dir).expect("mkdir");
    for id in &ids {
        let got = with_documents(&mut intake, id).await;
        let inside = signq_pades::signatures(&got.signed_document).expect("signatures");
        let ours = inside
            .last()
            .expect("one")
            .signature
            .as_ref()
            .expect("readable");
        assert_eq!(ours.cms, got.signature, "{id}");
        if id == &ids[99] {
            let file = dir.join(format!("{id}.pdf"));
            std::fs::write(&file, &got.signed_document).expect("write");
            valid_signatures(&ward, &file, 1);
        }
    }
}

/// A ward's seal: a red ring and a red star on a transparent background, 240 x 240 pixels.
pub(super) fn red_seal() -> Vec<u8> {
    let side = 240u32;
    let mut pixels = Vec::new();
    for y in 0..side {
        for x in 0..side {
            let (dx, dy) = (x as f32 - 120.0, y as f32 - 120.0);
            let r = (dx * dx + dy * dy).sqrt();
            let ink = (r > 100.0 && r < 116.0) || (r < 30.0 && (dx.abs() < 6.0 || dy.abs() < 6.0));
            pixels.extend_from_slice(if ink {
                &[200, 20, 30, 255]
            } else {
                &[0, 0, 0, 0]
            });
        }
    }
    rgba_png(side, side, &pixels)
}

/// A PNG of `width` x `height` RGBA pixels.
fn rgba_png(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(pixels).expect("pixels");
    writer.finish().expect("png");
    out
}

/// The red pixels of the last rendered page (see [`blue_pixels`]).
pub(super) fn red_pixels(pdf: &Path) -> usize {
    rendered(pdf)
        .chunks_exact(3)
        .filter(|p| p[0] > 150 && p[1] < 90 && p[2] < 90)
        .count()
}

#[test]
fn the_clerk_seals_a_pdf_a_deputy_signed_and_nothing_else() {
    let ward = Ward::start(&[]);
    let dir = ward.path("seal");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let page = signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF");
    std::fs::write(dir.join("ban-sao.pdf"), &page).expect("write");
    std::fs::write(dir.join("seal.png"), red_seal()).expect("write");
    let at = |name: &str| dir.join(name).to_str().expect("utf8").to_string();
    let delegation = ward.path("dev/cat-lai_deputy-1.delegation.p7s");
    let sign = |who: (&str, &str), extra: &[&str], file: &str, out_dir: &str| {
        let mut args = vec![
            "sign",
            "--addr",
            &ward.addr,
            "--signer",
            who.0,
            "--procedure",
            "CT-BS",
            "--out-dir",
        ];
        args.push(out_dir);
        args.extend_from_slice(extra);
        args.push(file);
        run(&ward, &args, Some(who.1))
    };
    const CLERK: (&str, &str) = ("cat-lai/clerk", "864200");
    let seal = ["--image", &at("seal.png")];

    // A PDF nobody signed yet gets no seal.
    std::fs::create_dir_all(dir.join("refused")).expect("mkdir");
    let out = sign(CLERK, &seal, &at("ban-sao.pdf"), &at("refused"));
    assert!(!out.status.success(), "{}", show(&out));
    assert!(
        show(&out).contains(
            "the seal is refused: the PDF carries no signature of a director or deputy of cat-lai"
        ),
        "{}",
        show(&out)
    );

    // The deputy signs, then the clerk seals over the deputy's block.
    std::fs::create_dir_all(dir.join("signed")).expect("mkdir");
    let out = sign(
        DEPUTY_1,
        &["--delegation", delegation.to_str().expect("utf8")],
        &at("ban-sao.pdf"),
        &at("signed"),
    );
    assert!(out.status.success(), "{}", show(&out));
    std::fs::create_dir_all(dir.join("sealed")).expect("mkdir");
    let out = sign(
        CLERK,
        &seal,
        &at("signed/ban-sao.signed.pdf"),
        &at("sealed"),
    );
    assert!(out.status.success(), "{}", show(&out));
    let sealed = dir.join("sealed/ban-sao.signed.signed.pdf");
    let report = valid_signatures(&ward, &sealed, 2);
    assert!(
        report.contains("Ủy ban nhân dân Phường Cát Lái"),
        "{report}"
    );
    assert!(red_pixels(&sealed) > 200, "the seal is drawn on the page");
    let out = run(&ward, &["verify", sealed.to_str().expect("utf8")], None);
    let text = show(&out);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("signed by:  Ủy ban nhân dân Phường Cát Lái (clerk)"),
        "{text}"
    );
    assert!(text.contains("capacity:   Đóng dấu của cơ quan"), "{text}");
}

#[test]
fn an_outside_timestamp_authority_stamps_instead_and_a_silent_one_stops_the_batch() {
    // The authority of another ward's service, over HTTP.
    let authority = Ward::start(&["--tsa-listen", "127.0.0.1:0"]);
    let authority_ca = authority.path("pki/ca.crt.pem");
    let authority_ca = authority_ca.to_str().expect("utf8");
    let ward = Ward::start(&["--tsa-url", &authority.tsa, "--tsa-ca", authority_ca]);
    let dir = ward.path("outside");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let pdf = dir.join("dat-dai.pdf");
    std::fs::write(
        &pdf,
        signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF"),
    )
    .expect("write");
    let sign = |ward: &Ward| {
        run(
            ward,
            &[
                "sign",
                "--addr",
                &ward.addr,
                "--signer",
                DIRECTOR.0,
                "--procedure",
                "DD-BD",
                pdf.to_str().expect("utf8"),
            ],
            Some(DIRECTOR.1),
        )
    };
    let out = sign(&ward);
    assert!(out.status.success(), "{}", show(&out));
    let signed = dir.join("dat-dai.signed.pdf");

    // Against the ward's CA alone, the token's authority is unknown.
    let out = run(&ward, &["verify", signed.to_str().expect("utf8")], None);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(show(&out).contains("signature timestamp"), "{}", show(&out));
    // pyHanko, trusting both CAs, finds the token made by the outside authority's certificate.
    let both = dir.join("both-cas.pem");
    let mut pems = std::fs::read(ward.path("pki/ca.crt.pem")).expect("ward CA");
    pems.extend(std::fs::read(authority_ca).expect("authority CA"));
    std::fs::write(&both, pems).expect("write");
    let both = both.to_str().expect("utf8");
    let out = judge(
        &pyhanko(),
        &[
            "sign",
            "validate",
            "--trust",
            both,
            "--trust-replace",
            "--pretty-print",
            signed.to_str().expect("utf8"),
        ],
        &dir,
    );
    assert!(out.status.success(), "pyHanko: {}", show(&out));
    assert!(
        show(&out).contains("The TSA certificate is trusted."),
        "{}",
        show(&out)
    );
    let tsa_pem = std::fs::read(authority.path("pki/issued/timestamping.crt.pem")).expect("cert");
    let tsa_der = rustls_pemfile::certs(&mut tsa_pem.as_slice())
        .next()
        .expect("a certificate")
        .expect("PEM");
    let fingerprint = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&tsa_der));
    assert!(
        show(&out).contains(&format!(
            "TSA certificate SHA256 fingerprint: {fingerprint}"
        )),
        "{}",
        show(&out)
    );

    // An authority that does not answer: nothing is signed, and the caller may retry.
    let silent = Ward::start(&["--tsa-url", "http://127.0.0.1:9/", "--tsa-ca", authority_ca]);
    let out = sign(&silent);
    assert!(!out.status.success(), "{}", show(&out));
    assert!(
        show(&out).contains("unavailable") && show(&out).contains("no signature timestamp"),
        "{}",
        show(&out)
    );
}

#[tokio::test]
async fn a_pdf_form_is_signed_into_the_empty_field_intake_names() {
    let ward = Ward::start(&[]);
    let mut intake = intake(&ward).await;
    let dir = ward.path("form");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let page = signq_load_tests::pades_bench::sample_pdf(0).expect("a one-page PDF");
    std::fs::write(dir.join("page.pdf"), &page).expect("write");
    // The form's empty signature field, made by pyHanko.
    let out = judge(
        &pyhanko(),
        &[
            "sign",
            "addfields",
            "--field",
            "1/300,100,500,180/Giám đốc ký",
            "page.pdf",
            "form.pdf",
        ],
        &dir,
    );
    assert!(out.status.success(), "{}", show(&out));
    let form = std::fs::read(dir.join("form.pdf")).expect("the form");
    let in_field = |name: &str, page: u32| SubmitRequest {
        signature_place: Some(SignaturePlace {
            page,
            field: name.into(),
            ..Default::default()
        }),
        ..pdf_submission("DD-BD", name, form.clone())
    };
    for (request, message) in [
        (
            in_field("Chủ tịch ký", 0),
            "signature_place.field: signature field \"Chủ tịch ký\" does not exist in the PDF",
        ),
        (
            in_field("Giám đốc ký", 1),
            "signature_place.field: names a signature field, which has its own page",
        ),
    ] {
        let status = intake.submit(request).await.expect_err("refused");
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains(message), "{status:?}");
    }
    let id = submit_request(&mut intake, in_field("Giám đốc ký", 0))
        .await
        .id;
    director_signs(&ward, &id).await;
    let got = with_documents(&mut intake, &id).await;
    assert_eq!(got.signature_place.expect("as asked").field, "Giám đốc ký");
    let inside = signq_pades::signatures(&got.signed_document).expect("signatures");
    assert_eq!(inside.len(), 1);
    assert_eq!(inside[0].field, "Giám đốc ký");
    let widget = inside[0].widget.expect("on the page");
    assert_eq!((widget.rect.x, widget.rect.y), (300.0, 100.0));
    let file = dir.join(format!("{id}.pdf"));
    std::fs::write(&file, &got.signed_document).expect("write");
    valid_signatures(&ward, &file, 1);
}
