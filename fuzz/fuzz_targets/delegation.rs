//! Outside bytes: a signed delegation, which a director's tablet or `signq delegation create`
//! sends to the scheduler and which a deputy's batch carries to the signer service (an attached
//! CMS SignedData over a JSON document), and that JSON document itself.
//!
//! Each input is verified as a whole signed delegation against the committed ward CA and CRL,
//! and parsed and validated directly as a delegation document (a mutated signature could never
//! bring a changed document past its ECDSA check). A document that parses must survive a JSON
//! round trip unchanged, since what a director signs is the document serialized. Nothing may
//! panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signq_fuzz::{SIGNED_AT, trust_store};
use signq_signer::delegation::{DelegationDoc, SignedDelegation};

fuzz_target!(|data: &[u8]| {
    if let Ok(signed) = SignedDelegation::verify(data, trust_store()) {
        let doc = &signed.doc;
        let _ = signed.authorizes(&doc.deputy_id, &doc.ward, "R-1", "CT-BS", SIGNED_AT);
    }

    let Ok(doc) = serde_json::from_slice::<DelegationDoc>(data) else {
        return;
    };
    let _ = doc.validate();
    let _ = doc.covers("CT-BS");
    let json = serde_json::to_vec(&doc).expect("a parsed delegation document serializes");
    let back: DelegationDoc =
        serde_json::from_slice(&json).expect("a serialized delegation document parses");
    assert_eq!(back, doc);
});
