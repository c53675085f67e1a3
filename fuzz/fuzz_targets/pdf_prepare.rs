//! Outside bytes: a document an intake system submits. When it is a PDF, the signing service
//! reads it and appends a PAdES signature as an incremental update (`signq_pades::prepare`, over
//! lopdf's reader).
//!
//! Each input is prepared with a fixed signature block, at the default place and into a form's
//! signature field named "Signature1" (as intake may name one); when that succeeds, the original
//! must come first and untouched, a CMS must embed into the placeholder, and validation data must
//! append after it (merged with a store the input may carry). The signatures the input carries
//! are read as `signq verify` reads them, byte ranges checked. Nothing may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signq_fuzz::SIGNED_AT;
use signq_pades::{Place, Signature, ValidationData, add_validation_data, prepare, signatures};

fuzz_target!(|data: &[u8]| {
    if let Ok(found) = signatures(data) {
        for sig in found.iter().filter_map(|f| f.signature.as_ref().ok()) {
            let [before, after] = sig.signed_parts(data);
            assert!(before.len() + after.len() <= data.len());
        }
    }
    let signature = Signature {
        signing_time: SIGNED_AT,
        name: "Trần Văn Minh".into(),
        reason: Some("Ký duyệt hồ sơ".into()),
        location: None,
        place: Place::default(),
        lines: vec!["KT. CHỦ TỊCH".into(), "PHÓ CHỦ TỊCH".into(), "Trần Văn Minh".into()],
        image: None,
    };
    let into_field = Signature {
        place: Place::field("Signature1").expect("a field name"),
        ..signature.clone()
    };
    if let Ok(prepared) = prepare(data, &into_field) {
        assert!(prepared.signed_parts()[0].starts_with(data), "the original comes first");
        assert!(prepared.embed(&[0x30, 0x00]).is_ok(), "a small CMS fits");
    }
    if let Ok(prepared) = prepare(data, &signature) {
        let [before, after] = prepared.signed_parts();
        assert!(before.starts_with(data), "the original comes first");
        let covered = before.len() + after.len();
        let signed = prepared.embed(&[0x30, 0x00]).expect("a small CMS fits");
        assert!(signed.starts_with(data));
        assert!(signed.len() > covered, "the placeholder lies between the parts");
        let data = ValidationData {
            certs: vec![b"certificate".to_vec()],
            crls: vec![b"revocation list".to_vec()],
        };
        if let Ok(stored) = add_validation_data(&signed, &data) {
            assert!(stored.starts_with(&signed), "the signed file comes first");
        }
    }
});
