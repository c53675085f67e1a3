//! PAdES signatures made with [`signq_pades`] and [`CmsSigner::sign_cades_detached`], judged by
//! the validators a ward's partners use: pyHanko (`pyhanko sign validate`, from the virtualenv
//! the test command makes at `target/judges`), poppler's `pdfsig`, and `qpdf --check`.
//!
//! Why outside judges: a signed PDF must validate in any reader, not only in signq.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lopdf::{Document, Object, Stream, dictionary};
use signq_pades::{Image, Place, Signature, prepare};

use super::super::CmsSigner;
use super::{Ca, OFFICER, Officer, now, show};

/// pyHanko's command, from `PYHANKO` or the virtualenv `scripts/test` makes.
fn pyhanko() -> PathBuf {
    std::env::var_os("PYHANKO")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/judges/bin/pyhanko")
        })
}

fn run(program: &Path, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (scripts/test installs the validators)",
                program.display()
            )
        })
}

/// A one-page A4 PDF with a line of text.
fn one_page_pdf() -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
    });
    let content = doc.add_object(Stream::new(
        dictionary! {},
        b"BT /F1 14 Tf 72 770 Td (Giay khai sinh - ban sao) Tj ET".to_vec(),
    ));
    let page = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        "Contents" => content,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
    });
    doc.objects.insert(
        pages,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("fixture PDF");
    bytes
}

/// `pdf` signed by `signer` as the officer, at the default place.
fn sign(pdf: &[u8], signer: &CmsSigner) -> Vec<u8> {
    let prepared = prepare(
        pdf,
        &Signature {
            signing_time: now(),
            name: OFFICER.into(),
            reason: Some("Ký duyệt hồ sơ".into()),
            location: Some("Phường Bến Nghé".into()),
            place: Place::default(),
            lines: vec![
                "TM. ỦY BAN NHÂN DÂN".into(),
                "KT. CHỦ TỊCH".into(),
                "PHÓ CHỦ TỊCH".into(),
                OFFICER.into(),
            ],
            image: Some(Image::from_png(&handwriting()).expect("a PNG")),
        },
    )
    .expect("prepare");
    let cms = signer
        .sign_cades_detached(&prepared.signed_parts(), &[])
        .expect("sign");
    prepared.embed(&cms).expect("embed")
}

/// The officer's own signature as a PNG: a blue loop on a transparent background.
fn handwriting() -> Vec<u8> {
    let (width, height) = (160u32, 60u32);
    let mut pixels = Vec::with_capacity((4 * width * height) as usize);
    for y in 0..height {
        for x in 0..width {
            let (dx, dy) = (x as f32 - 80.0, (y as f32 - 30.0) * 2.5);
            let ring = ((dx * dx + dy * dy).sqrt() - 60.0).abs() < 4.0;
            let tail = y > 26 && y < 32 && x > 100;
            let ink = if ring || tail { 255 } else { 0 };
            pixels.extend_from_slice(&[25, 45, 190, ink]);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().expect("header");
    writer.write_image_data(&pixels).expect("pixels");
    writer.finish().expect("png");
    out
}

/// pyHanko's judgement of every signature in `file`, trusting only `ca.pem`.
fn pyhanko_validate(dir: &Path, file: &str) -> Output {
    run(
        &pyhanko(),
        &[
            "sign",
            "validate",
            "--trust",
            "ca.pem",
            "--trust-replace",
            "--pretty-print",
            file,
        ],
        dir,
    )
}

fn pdfsig(dir: &Path, file: &str) -> Output {
    run(Path::new("pdfsig"), &[file], dir)
}

/// `one_page_pdf` signed by pyHanko with `officer`'s key, in a field of its own (`intake`) at the
/// top of the page: someone else's signature, as a PDF may arrive with one.
fn signed_by_pyhanko(dir: &Path, officer: &Officer) -> Vec<u8> {
    fs::write(dir.join("plain.pdf"), one_page_pdf()).expect("write");
    fs::write(dir.join("key.pem"), &officer.key_pem).expect("write key");
    fs::write(dir.join("cert.pem"), &officer.cert_pem).expect("write cert");
    let out = run(
        &pyhanko(),
        &[
            "sign",
            "addsig",
            "--field",
            "1/72,700,272,760/intake",
            "--use-pades",
            "pemder",
            "--key",
            "key.pem",
            "--cert",
            "cert.pem",
            "--no-pass",
            "plain.pdf",
            "theirs.pdf",
        ],
        dir,
    );
    assert!(out.status.success(), "pyHanko addsig: {}", show(&out));
    fs::read(dir.join("theirs.pdf")).expect("read")
}

/// Asserts that pyHanko and pdfsig both find two valid signatures in `file`; pdfsig's report.
fn two_valid_signatures(dir: &Path, file: &str) -> String {
    let out = pyhanko_validate(dir, file);
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let valid = text.matches("The signature is judged VALID.").count();
    assert_eq!(valid, 2, "{text}");
    let out = pdfsig(dir, file);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let valid = text
        .matches("Signature Validation: Signature is Valid.")
        .count();
    assert_eq!(valid, 2, "{}", show(&out));
    text
}

/// A directory with the ward CA as `ca.pem`.
fn workdir(ca: &Ca) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("ca.pem"), &ca.pem).expect("write ca");
    dir
}

#[test]
fn validators_accept_a_signed_pdf_and_catch_one_changed_byte() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let original = one_page_pdf();
    let signed = sign(&original, &signer);
    assert!(
        signed.starts_with(&original),
        "the original bytes are untouched"
    );

    let dir = workdir(&ca);
    fs::write(dir.path().join("signed.pdf"), &signed).expect("write");
    let out = pyhanko_validate(dir.path(), "signed.pdf");
    assert!(out.status.success(), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "The signer's certificate is trusted.",
        "The signature is cryptographically sound.",
        "The signature covers the entire file.",
        "The signature is judged VALID.",
    ] {
        assert!(
            text.contains(line),
            "pyHanko: {line:?} missing from\n{text}"
        );
    }

    let out = pdfsig(dir.path(), "signed.pdf");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Signature Validation: Signature is Valid."),
        "{}",
        show(&out)
    );
    assert!(text.contains(OFFICER), "pdfsig names the signer: {text}");
    assert!(text.contains("ETSI.CAdES.detached"), "{text}");

    let out = run(Path::new("qpdf"), &["--check", "signed.pdf"], dir.path());
    assert!(out.status.success(), "qpdf --check: {}", show(&out));

    // One byte of the page's text, inside the signed range.
    let at = signed
        .windows(12)
        .position(|w| w == b"Giay khai si")
        .expect("the page's text");
    let mut tampered = signed.clone();
    tampered[at] = b'X';
    fs::write(dir.path().join("tampered.pdf"), &tampered).expect("write");
    let out = pyhanko_validate(dir.path(), "tampered.pdf");
    assert!(
        !out.status.success(),
        "pyHanko accepted a changed byte: {}",
        show(&out)
    );
    let out = pdfsig(dir.path(), "tampered.pdf");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("Signature is Valid."),
        "pdfsig: {}",
        show(&out)
    );
}

#[test]
fn a_second_signature_keeps_the_first_valid_also_over_cross_reference_streams() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let dir = workdir(&ca);
    // The same page with object streams and a cross-reference stream, as newer writers make.
    fs::write(dir.path().join("plain.pdf"), one_page_pdf()).expect("write");
    let out = run(
        Path::new("qpdf"),
        &["--object-streams=generate", "plain.pdf", "streams.pdf"],
        dir.path(),
    );
    assert!(out.status.success(), "qpdf: {}", show(&out));
    let streams = fs::read(dir.path().join("streams.pdf")).expect("read");

    let twice = sign(&sign(&streams, &signer), &signer);
    fs::write(dir.path().join("twice.pdf"), &twice).expect("write");
    let text = two_valid_signatures(dir.path(), "twice.pdf");
    assert!(text.contains("Signature #2"), "{text}");
    let out = run(Path::new("qpdf"), &["--check", "twice.pdf"], dir.path());
    assert!(out.status.success(), "qpdf --check: {}", show(&out));
}

#[test]
fn the_block_shows_its_vietnamese_lines() {
    let ca = Ca::new("Phường Bến Nghé");
    let signer = ca.issue_current().signer(&ca);
    let dir = workdir(&ca);
    fs::write(
        dir.path().join("signed.pdf"),
        sign(&one_page_pdf(), &signer),
    )
    .expect("write");
    // The block is the widget's appearance: flattened into the page, its text reads back.
    let out = run(
        Path::new("qpdf"),
        &["--flatten-annotations=all", "signed.pdf", "flat.pdf"],
        dir.path(),
    );
    assert!(out.status.success(), "qpdf: {}", show(&out));
    let out = run(Path::new("pdftotext"), &["flat.pdf", "-"], dir.path());
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "TM. ỦY BAN NHÂN DÂN",
        "KT. CHỦ TỊCH",
        "PHÓ CHỦ TỊCH",
        OFFICER,
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    let out = run(
        Path::new("pdftoppm"),
        &["-png", "-r", "72", "-singlefile", "signed.pdf", "page"],
        dir.path(),
    );
    assert!(out.status.success(), "pdftoppm: {}", show(&out));
    let png = fs::read(dir.path().join("page.png")).expect("rendered page");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    if let Some(keep) = std::env::var_os("SIGNQ_KEEP_RENDER") {
        fs::write(keep, &png).expect("keep the rendered page");
    }
}

#[test]
fn a_pdf_that_arrives_signed_by_pyhanko_keeps_that_signature_valid() {
    let ca = Ca::new("Phường Bến Nghé");
    let officer = ca.issue_current();
    let dir = workdir(&ca);
    let theirs = signed_by_pyhanko(dir.path(), &officer);

    let both = sign(&theirs, &officer.signer(&ca));
    assert!(both.starts_with(&theirs), "their bytes are untouched");
    fs::write(dir.path().join("both.pdf"), &both).expect("write");
    two_valid_signatures(dir.path(), "both.pdf");
}

/// Every signature of `pdf` verified against `ca`: the field and the signer's certificate, or
/// what is wrong.
fn verify_all(pdf: &[u8], ca: &Ca) -> Vec<(String, Result<Vec<u8>, String>)> {
    signq_pades::signatures(pdf)
        .expect("a PDF")
        .into_iter()
        .map(|found| {
            let verdict = found.signature.map_err(|e| e.to_string()).and_then(|sig| {
                let claimed = sig.claimed.ok_or("no /M")?;
                super::super::verify_pades(&sig.cms, &sig.signed_parts(pdf), claimed, &ca.trust())
                    .map(|v| v.signer_cert)
                    .map_err(|e| e.to_string())
            });
            (found.field, verdict)
        })
        .collect()
}

#[test]
fn signq_verifies_its_own_signatures_and_pyhankos() {
    let ca = Ca::new("Phường Bến Nghé");
    let officer = ca.issue_current();
    let dir = workdir(&ca);
    let theirs = signed_by_pyhanko(dir.path(), &officer);
    let both = sign(&theirs, &officer.signer(&ca));

    let verdicts = verify_all(&both, &ca);
    let names: Vec<&str> = verdicts.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(names, ["intake", "signq-1"]);
    for (field, verdict) in &verdicts {
        assert_eq!(verdict.as_ref(), Ok(&officer.cert_der), "{field}");
    }

    // One byte of the page changed: both signatures cover it.
    let at = both
        .windows(12)
        .position(|w| w == b"Giay khai si")
        .expect("the page's text");
    let mut tampered = both.clone();
    tampered[at] = b'X';
    for (field, verdict) in verify_all(&tampered, &ca) {
        let err = verdict.expect_err("a changed byte");
        assert!(err.contains("digest"), "{field}: {err}");
    }
}

#[test]
fn a_byte_range_that_leaves_out_more_than_the_signature_is_not_trusted() {
    let ca = Ca::new("Phường Bến Nghé");
    let signed = sign(&one_page_pdf(), &ca.issue_current().signer(&ca));
    let found = signq_pades::signatures(&signed).expect("a PDF");
    let [a, b, c, d] = found[0].signature.as_ref().expect("ours").byte_range;
    // The same numbers, each width kept, with the first range cut short by 5 bytes: the five
    // bytes before /Contents would be left out of what the signature covers.
    let old = format!("/ByteRange[{a} {b} {c} {d}");
    let new = format!("/ByteRange[{a} {} {c} {d} ", b - 5);
    let at = signed
        .windows(old.len())
        .position(|w| w == old.as_bytes())
        .expect("the byte range as written");
    let mut forged = signed.clone();
    forged[at..at + new.len()].copy_from_slice(new.as_bytes());
    let found = signq_pades::signatures(&forged).expect("still a PDF");
    let err = found[0].signature.clone().expect_err("refused");
    assert!(err.to_string().contains("not one hex string"), "{err}");
}
