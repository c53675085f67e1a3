//! Outside bytes: a `.p7s` file that anyone hands to `signq verify` (a DER CMS SignedData,
//! detached or attached), and the signed attributes by which such a signature names its record
//! and its delegation.
//!
//! Each input is verified as a detached signature of the corpus document and as an attached
//! signature, against the committed ward CA and CRL; what `signq verify` then reads out of a
//! signature that verified is read too. The claims reader also gets the input directly as the
//! value of a content-hint and of a signer-attributes attribute, which a mutated signature could
//! never reach past its ECDSA check. Nothing may panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signq_fuzz::{DOCUMENT, trust_store};
use signq_kit::identity::PeerIdentity;
use signq_signer::cms::{self, SignedAttribute};
use signq_signer::delegation::attributes::{ID_AA_CONTENT_HINT, ID_AA_SIGNER_ATTR, read_claims};

fuzz_target!(|data: &[u8]| {
    let trust = trust_store();
    for content in [Some(DOCUMENT), None] {
        if let Ok(verified) = cms::verify(data, content, trust) {
            assert_eq!(verified.content.is_some(), content.is_none());
            let _ = PeerIdentity::from_der(&verified.signer_cert);
            let _ = read_claims(&verified.extra);
        }
    }
    for oid in [ID_AA_CONTENT_HINT, ID_AA_SIGNER_ATTR] {
        let _ = read_claims(&[SignedAttribute {
            oid,
            value_der: data.to_vec(),
        }]);
    }
});
