//! Writes the fuzz targets' trust (`data/`) and seed corpora (`corpus/<target>/`) from a fresh
//! ward PKI, with the workspace's own code: the CA and CRL as `signq pki` makes them, CMS
//! signatures as the signer service makes them, delegations as a director signs them, and the
//! certificates clients present.
//!
//! Run from the fuzz folder: `cargo run --locked --bin seed`. Keys are random, so every run
//! writes different files; `data/` and `corpus/` must always be committed together.

use std::fs;
use std::path::Path;

use signq_fuzz::{DOCUMENT, SIGNED_AT, ca_path, crl_path, data_dir};
use signq_kit::identity::Role;
use signq_signer::cms::{CmsSigner, SignedAttribute};
use signq_signer::delegation::attributes::{acting_under, content_hint, record_description};
use signq_signer::delegation::{DelegationDoc, KIND, Notation, signed};
use signq_signer::pki::{IssuedCert, Pki, RevocationReason, SignerSpec, Validity, WardInfo};
use time::OffsetDateTime;
use time::macros::datetime;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Fixed validity, so that the corpus keeps verifying at [`SIGNED_AT`] and TLS judges the
/// certificates valid for decades.
const VALIDITY: Validity = Validity {
    not_before: datetime!(2025-01-01 0:00 UTC),
    not_after: datetime!(2075-01-01 0:00 UTC),
};

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("corpus");
    for dir in ["cms_reader", "delegation", "client_certificate", "pdf_prepare"] {
        let dir = corpus.join(dir);
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
    }
    fs::create_dir_all(data_dir())?;

    let work = tempfile::tempdir()?;
    let ward = WardInfo {
        id: "cat-lai".into(),
        name: "Phường Cát Lái".into(),
    };
    let pki = Pki::init(&work.path().join("pki"), &ward, b"fuzz seed", VALIDITY)?;
    let ca = pki.ca_cert_der().to_vec();
    let signer = |id: &str, name: &str, role: Role| -> Result<(IssuedCert, CmsSigner)> {
        let spec = SignerSpec {
            signer_id: format!("cat-lai/{id}"),
            display_name: name.into(),
            role,
            ward: ward.clone(),
        };
        let (cert, key) = pki.issue_signer(&spec, VALIDITY)?;
        let cms = CmsSigner::new(&key, cert.cert_der.clone(), vec![ca.clone()])?;
        Ok((cert, cms))
    };
    let (director_cert, director) = signer("director", "Trần Văn Minh", Role::Director)?;
    let (deputy_cert, deputy) = signer("deputy-1", "Nguyễn Thị Lan", Role::Deputy)?;
    let (revoked_cert, revoked) = signer("deputy-2", "Lê Hoàng Nam", Role::Deputy)?;
    pki.revoke("cat-lai/deputy-2", RevocationReason::KeyCompromise)?;
    let (intake, _) = pki.issue_client(
        "intake",
        Role::Intake,
        std::slice::from_ref(&ward.id),
        VALIDITY,
    )?;
    let (operator, _) = pki.issue_client("operator", Role::Operator, &[], VALIDITY)?;
    let (scheduler, _) = pki.issue_server("scheduler", Role::Scheduler, &[], &[], VALIDITY)?;
    let (tablet, _) = pki.issue_device("tablet-1", "cat-lai/deputy-1", &ward.id, VALIDITY)?;

    // A CA the trust store does not know, with a director of its own.
    let other_ward = WardInfo {
        id: "an-khanh".into(),
        name: "Phường An Khánh".into(),
    };
    let foreign_dir = work.path().join("foreign");
    let foreign = Pki::init(&foreign_dir, &other_ward, b"fuzz seed", VALIDITY)?;
    let (foreign_cert, foreign_key) = foreign.issue_signer(
        &SignerSpec {
            signer_id: "an-khanh/director".into(),
            display_name: "Phạm Thu Hà".into(),
            role: Role::Director,
            ward: other_ward,
        },
        VALIDITY,
    )?;
    let foreign_director = CmsSigner::new(
        &foreign_key,
        foreign_cert.cert_der.clone(),
        vec![foreign.ca_cert_der().to_vec()],
    )?;

    fs::write(ca_path(), pki.ca_cert_pem())?;
    fs::copy(pki.crl_path(), crl_path())?;

    // cms_reader: record signatures as the signer service makes them, and a few that fail late.
    let claims = vec![
        content_hint(record_description("R-17", "CT-BS", "cat-lai"))?,
        acting_under("cat-lai/d-1", "cat-lai/director")?,
    ];
    let later = datetime!(2050-06-01 9:30 UTC); // GeneralizedTime signing time
    let detached = |s: &CmsSigner, at: OffsetDateTime, extra: &[SignedAttribute]| {
        s.sign_detached(DOCUMENT, at, extra)
    };
    let data = signq_signer::cms::oids::ID_DATA;
    write_all(
        &corpus.join("cms_reader"),
        [
            (
                "detached-director.p7s",
                detached(&director, SIGNED_AT, &[])?,
            ),
            (
                "detached-deputy-delegated.p7s",
                detached(&deputy, SIGNED_AT, &claims)?,
            ),
            (
                "detached-generalized-time.p7s",
                detached(&director, later, &claims[..1])?,
            ),
            ("detached-revoked.p7s", detached(&revoked, SIGNED_AT, &[])?),
            (
                "detached-foreign-ca.p7s",
                detached(&foreign_director, SIGNED_AT, &[])?,
            ),
            (
                "attached-director.p7s",
                director.sign_attached(data, b"Ban sao hop dong", SIGNED_AT, &claims[..1])?,
            ),
            (
                "attached-empty.p7s",
                deputy.sign_attached(data, b"", SIGNED_AT, &[])?,
            ),
            (
                "regression-content-type-arc-too-big.p7s",
                arc_too_big(detached(&director, SIGNED_AT, &[])?),
            ),
        ],
    )?;

    // delegation: signed delegations and their documents.
    let doc = DelegationDoc {
        kind: KIND.into(),
        id: "cat-lai/d-1".into(),
        ward: "cat-lai".into(),
        director_id: "cat-lai/director".into(),
        deputy_id: "cat-lai/deputy-1".into(),
        procedure_codes: vec!["CT-BS".into(), "HT-KS".into()],
        not_before: datetime!(2026-03-01 0:00 +07:00),
        not_after: datetime!(2026-04-01 0:00 +07:00),
        daily_cap: 60,
        notation: Notation::ForHead,
    };
    let signed_doc = signed::sign(&doc, &director, &doc.director_id, SIGNED_AT)?;
    let mut by_deputy = doc.clone();
    by_deputy.director_id = "cat-lai/deputy-1".into();
    by_deputy.deputy_id = "cat-lai/deputy-2".into();
    let by_deputy = signed::sign(&by_deputy, &deputy, "cat-lai/deputy-1", SIGNED_AT)?;
    let mut foreign_doc = doc.clone();
    foreign_doc.director_id = "an-khanh/director".into();
    let foreign_id = foreign_doc.director_id.clone();
    let foreign_doc = signed::sign(&foreign_doc, &foreign_director, &foreign_id, SIGNED_AT)?;
    let mut utc = doc.clone();
    utc.id = "cat-lai/d-2".into();
    utc.procedure_codes = vec!["HT-KH".into()];
    utc.not_before = datetime!(2026-03-01 0:00:00.5 UTC);
    utc.daily_cap = 0;
    utc.notation = Notation::Authorised;
    write_all(
        &corpus.join("delegation"),
        [
            ("signed.p7s", signed_doc),
            ("signed-by-a-deputy.p7s", by_deputy),
            ("signed-foreign-ca.p7s", foreign_doc),
            ("document.json", serde_json::to_vec_pretty(&doc)?),
            ("document-compact.json", serde_json::to_vec(&utc)?),
        ],
    )?;

    // client_certificate: every kind of certificate the ward CA issues, and a foreign one.
    write_all(
        &corpus.join("client_certificate"),
        [
            ("intake.der", intake.cert_der),
            ("operator.der", operator.cert_der),
            ("scheduler.der", scheduler.cert_der),
            ("tablet.der", tablet.cert_der),
            ("director.der", director_cert.cert_der),
            ("deputy.der", deputy_cert.cert_der),
            ("deputy-revoked.der", revoked_cert.cert_der),
            ("ca.der", ca),
            ("foreign-director.der", foreign_cert.cert_der),
        ],
    )?;

    // pdf_prepare: PDFs as intake systems send them, and one this ward already signed.
    let plain = pdf(false)?;
    let signed_once = {
        let prepared = signq_pades::prepare(
            &plain,
            &signq_pades::Signature {
                signing_time: SIGNED_AT,
                name: "Trần Văn Minh".into(),
                reason: None,
                location: Some("Phường Cát Lái".into()),
                place: signq_pades::Place::default(),
                lines: vec!["CHỦ TỊCH".into(), "Trần Văn Minh".into()],
                image: None,
            },
        )?;
        let cms = director.sign_cades_detached(&prepared.signed_parts(), &[])?;
        prepared.embed(&cms)?
    };
    // With its validation data, as the signing service returns it: a store to extend.
    let with_store = signq_pades::add_validation_data(
        &signed_once,
        &signq_pades::ValidationData {
            certs: vec![director.certificate().to_vec()],
            crls: vec![pki.crl_der()?],
        },
    )?;
    let truncated = plain.get(..plain.len() / 2).unwrap_or_default().to_vec();
    write_all(
        &corpus.join("pdf_prepare"),
        [
            ("one-page.pdf", plain),
            ("one-page-xref-stream.pdf", pdf(true)?),
            ("signed-once.pdf", signed_once),
            ("signed-with-store.pdf", with_store),
            ("truncated.pdf", truncated),
        ],
    )?;

    println!("wrote {} and {}", data_dir().display(), corpus.display());
    Ok(())
}

/// Writes each `(file name, bytes)` into `dir`.
fn write_all<const N: usize>(dir: &Path, files: [(&str, Vec<u8>); N]) -> Result<()> {
    for (name, bytes) in files {
        fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

/// `cms` with its contentType id-signedData replaced, in place, by 1.2.840.1861144302.103: the
/// reader once panicked naming that type in its error (const-oid cannot print the five-octet arc).
fn arc_too_big(mut cms: Vec<u8>) -> Vec<u8> {
    const SIGNED_DATA: [u8; 11] = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
    ];
    const TOO_BIG: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0xbb, 0x9d, 0x6e, 0x67];
    if let Some(at) = cms
        .windows(SIGNED_DATA.len())
        .position(|w| w == SIGNED_DATA)
    {
        cms[at + 2..at + SIGNED_DATA.len()].copy_from_slice(&TOO_BIG);
    }
    cms
}

/// A one-page A4 PDF whose page inherits its box from the page tree, with a form that has no
/// fields yet; with object and cross-reference streams when `streams`.
fn pdf(streams: bool) -> Result<Vec<u8>> {
    use lopdf::{Document, Object, SaveOptions, Stream, dictionary};
    let mut doc = Document::with_version("1.7");
    let pages = doc.new_object_id();
    let content = doc.add_object(Stream::new(
        dictionary! {},
        b"BT /F1 12 Tf 72 770 Td (Ban sao trich luc khai sinh) Tj ET".to_vec(),
    ));
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Times-Roman",
    });
    let page = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages,
        "Contents" => content,
        "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
    });
    doc.objects.insert(
        pages,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! {
        "Type" => "Catalog", "Pages" => pages,
        "AcroForm" => dictionary! { "Fields" => Vec::<Object>::new() },
    });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    let options = SaveOptions::builder()
        .use_object_streams(streams)
        .use_xref_streams(streams)
        .build();
    doc.save_with_options(&mut bytes, options)?;
    Ok(bytes)
}
