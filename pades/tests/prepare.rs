//! Preparing a PDF: the update comes after the untouched original; what cannot be signed is
//! refused with an error that names what is wrong, before any byte of an update exists.

use std::process::Command;

use lopdf::{Document, Object, Stream, dictionary};
use signq_pades::{PdfError, Place, Rect, Signature, prepare};

fn one_page_pdf() -> Vec<u8> {
    let mut doc = Document::with_version("1.5");
    let pages = doc.new_object_id();
    let content = doc.add_object(Stream::new(dictionary! {}, b"0 0 m 10 10 l S".to_vec()));
    let page = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages,
        "Contents" => content,
    });
    doc.objects.insert(
        pages,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("fixture PDF");
    bytes
}

fn signature(place: Place) -> Signature {
    Signature {
        signing_time: time::OffsetDateTime::now_utc(),
        name: "Trần Văn Hùng".into(),
        reason: None,
        location: None,
        place,
        lines: vec![
            "KT. CHỦ TỊCH".into(),
            "PHÓ CHỦ TỊCH".into(),
            "Trần Văn Hùng".into(),
        ],
        image: None,
    }
}

#[test]
fn a_pdf_gets_an_update_with_the_page_box_inherited_from_the_page_tree() {
    let pdf = one_page_pdf();
    let prepared = prepare(&pdf, &signature(Place::default())).expect("prepare");
    let [before, after] = prepared.signed_parts();
    assert!(
        before.starts_with(&pdf),
        "the original comes first, untouched"
    );
    assert!(after.ends_with(b"%%EOF"), "the update ends the file");
    let text = String::from_utf8_lossy(before);
    assert!(text.contains("/ETSI.CAdES.detached"), "{text}");
    assert!(
        text.contains("/Version/1.7") || text.contains("/Version /1.7"),
        "{text}"
    );
    let signed = prepared
        .embed(&[0x30, 0x03, 0x02, 0x01, 0x01])
        .expect("embed");
    assert!(signed.windows(11).any(|w| w == b"<3003020101"));
}

#[test]
fn what_is_not_a_pdf_or_does_not_parse_is_refused() {
    let sig = signature(Place::default());
    assert_eq!(prepare(b"hello", &sig).expect_err("text"), PdfError::NotPdf);
    let err = prepare(b"%PDF-1.7\n1 0 obj << /Type /Catalog", &sig).expect_err("cut short");
    assert!(matches!(err, PdfError::Malformed(_)), "{err}");
    assert!(err.to_string().starts_with("malformed PDF: "), "{err}");
}

#[test]
fn a_page_or_place_that_does_not_exist_is_refused() {
    let pdf = one_page_pdf();
    let page_two = Place {
        page: Some(2),
        rect: None,
        field: None,
    };
    assert_eq!(
        prepare(&pdf, &signature(page_two)).expect_err("page 2"),
        PdfError::NoSuchPage { page: 2, pages: 1 }
    );
    let off = Place {
        page: Some(1),
        rect: Some(Rect {
            x: -10.0,
            y: 10.0,
            width: 100.0,
            height: 50.0,
        }),
        field: None,
    };
    let err = prepare(&pdf, &signature(off)).expect_err("off the page");
    assert!(matches!(err, PdfError::OffPage { page: 1, .. }), "{err}");
}

#[test]
fn a_signature_larger_than_its_room_is_refused() {
    let prepared = prepare(&one_page_pdf(), &signature(Place::default())).expect("prepare");
    let err = prepared.embed(&vec![0x30; 20_000]).expect_err("too large");
    assert_eq!(
        err,
        PdfError::SignatureTooLarge {
            needed: 20_000,
            room: 8_192
        }
    );
}

#[test]
fn an_encrypted_pdf_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("plain.pdf"), one_page_pdf()).expect("write");
    let out = Command::new("qpdf")
        .args([
            "--encrypt",
            "",
            "owner",
            "256",
            "--",
            "plain.pdf",
            "locked.pdf",
        ])
        .current_dir(dir.path())
        .output()
        .expect("qpdf (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let locked = std::fs::read(dir.path().join("locked.pdf")).expect("read");
    assert_eq!(
        prepare(&locked, &signature(Place::default())).expect_err("encrypted"),
        PdfError::Encrypted
    );
}

/// The DER objects in the array `key` of the catalog's `/DSS`.
fn store(pdf: &[u8], key: &[u8]) -> Vec<Vec<u8>> {
    let doc = Document::load_mem(pdf).expect("reads");
    let catalog = doc.catalog().expect("catalog");
    let dss = match catalog.get(b"DSS").expect("a /DSS") {
        Object::Reference(id) => doc.get_dictionary(*id).expect("a dictionary"),
        other => panic!("/DSS is {other:?}"),
    };
    dss.get(key)
        .and_then(Object::as_array)
        .expect("an array")
        .iter()
        .map(|item| {
            let id = item.as_reference().expect("a reference");
            doc.get_object(id)
                .and_then(Object::as_stream)
                .expect("a stream")
                .content
                .clone()
        })
        .collect()
}

#[test]
fn validation_data_is_appended_after_the_signature_and_held_once() {
    let pdf = one_page_pdf();
    // Any DER fills the placeholder: what is checked here is the store, not the signature.
    let signed = prepare(&pdf, &signature(Place::default()))
        .expect("prepare")
        .embed(&[0x30, 0x03, 0x02, 0x01, 0x01])
        .expect("embed");
    let first = signq_pades::ValidationData {
        certs: vec![b"cert A".to_vec(), b"CA".to_vec()],
        crls: vec![b"CRL 1".to_vec()],
    };
    let once = signq_pades::add_validation_data(&signed, &first).expect("a store");
    assert!(once.starts_with(&signed), "the signed file is untouched");
    assert_eq!(store(&once, b"Certs"), first.certs);
    assert_eq!(store(&once, b"CRLs"), first.crls);

    // A second signer's data extends the store; what it already holds is not repeated.
    let second = signq_pades::ValidationData {
        certs: vec![b"cert B".to_vec(), b"CA".to_vec()],
        crls: vec![b"CRL 1".to_vec(), b"CRL 2".to_vec()],
    };
    let twice = signq_pades::add_validation_data(&once, &second).expect("extended");
    assert!(twice.starts_with(&once));
    assert_eq!(
        store(&twice, b"Certs"),
        [b"cert A".to_vec(), b"CA".to_vec(), b"cert B".to_vec()]
    );
    assert_eq!(
        store(&twice, b"CRLs"),
        [b"CRL 1".to_vec(), b"CRL 2".to_vec()]
    );
    // The signature's byte range still ends where the signed file did.
    let found = signq_pades::signatures(&twice).expect("signatures");
    let embedded = found[0].signature.as_ref().expect("readable");
    assert_eq!(embedded.bytes_after(&twice), twice.len() - signed.len());
}

/// A one-page form with an empty signature field "Giám đốc ký" (its widget merged, at 300,100,
/// 200 x 80) and a text field "Họ tên".
fn form_pdf() -> Vec<u8> {
    let mut doc = Document::load_mem(&one_page_pdf()).expect("fixture");
    let page = *doc.get_pages().get(&1).expect("page 1");
    let sig = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Widget", "FT" => "Sig",
        "T" => lopdf::text_string("Giám đốc ký"),
        "Rect" => vec![300.into(), 100.into(), 500.into(), 180.into()],
        "P" => page, "F" => 4,
    });
    let text = doc.add_object(dictionary! {
        "Type" => "Annot", "Subtype" => "Widget", "FT" => "Tx",
        "T" => lopdf::text_string("Họ tên"),
        "Rect" => vec![50.into(), 700.into(), 300.into(), 720.into()],
        "P" => page,
    });
    doc.get_object_mut(page)
        .and_then(Object::as_dict_mut)
        .expect("page")
        .set("Annots", vec![sig.into(), text.into()]);
    let root = doc
        .trailer
        .get(b"Root")
        .and_then(Object::as_reference)
        .expect("root");
    doc.get_object_mut(root)
        .and_then(Object::as_dict_mut)
        .expect("catalog")
        .set(
            "AcroForm",
            dictionary! { "Fields" => vec![sig.into(), text.into()] },
        );
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).expect("form PDF");
    bytes
}

#[test]
fn a_signature_fills_the_empty_field_intake_named_where_the_form_put_it() {
    let form = form_pdf();
    let place = Place::field("Giám đốc ký").expect("a name");
    signq_pades::check(&form, &place).expect("the field is there and empty");
    let signed = prepare(&form, &signature(place.clone()))
        .expect("prepare")
        .embed(&[0x30, 0x03, 0x02, 0x01, 0x01])
        .expect("embed");
    let found = signq_pades::signatures(&signed).expect("signatures");
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].field, "Giám đốc ký",
        "the form's own field is signed"
    );
    let widget = found[0].widget.expect("a widget");
    assert_eq!(widget.page, 1);
    assert_eq!(
        (
            widget.rect.x,
            widget.rect.y,
            widget.rect.width,
            widget.rect.height
        ),
        (300.0, 100.0, 200.0, 80.0)
    );
    // No field was added: the form still has its two.
    let doc = Document::load_mem(&signed).expect("reads");
    let fields = doc
        .catalog()
        .and_then(|c| c.get(b"AcroForm"))
        .and_then(|f| doc.dereference(f))
        .and_then(|(_, f)| f.as_dict())
        .and_then(|f| f.get(b"Fields"))
        .and_then(Object::as_array)
        .expect("the form's fields");
    assert_eq!(fields.len(), 2);

    // Now it is signed: a second signature into it is refused, and so is a field that does not
    // exist or is not a signature field; each names the field.
    let refused = |pdf: &[u8], name: &str| {
        prepare(pdf, &signature(Place::field(name).expect("a name")))
            .expect_err("refused")
            .to_string()
    };
    assert_eq!(
        refused(&signed, "Giám đốc ký"),
        "signature field \"Giám đốc ký\" is already signed"
    );
    assert_eq!(
        refused(&form, "Chủ tịch ký"),
        "signature field \"Chủ tịch ký\" does not exist in the PDF"
    );
    assert_eq!(
        refused(&form, "Họ tên"),
        "signature field \"Họ tên\" is not a signature field"
    );
}
