//! Signing a batch with a key that is at a remote provider, in two passes of the ordinary
//! signing code, so that the CMS and PAdES code never knows the key was remote:
//!
//! 1. [`RecordingKey`]: the batch is signed at a fixed signing time with a key that only notes
//!    the SHA-256 of every message it is asked to sign (the DER signed attributes of each
//!    signature) and answers with a placeholder signature of the largest size. Those hashes are
//!    what the person authorises in their signing app and what the provider signs.
//! 2. [`PresignedKey`]: once the provider has signed them, the batch is signed again at the same
//!    signing time with a key that answers each message with the provider's signature of its
//!    hash, and refuses any message whose hash was not authorised.
//!
//! Both passes build the same signed attributes from the same documents and signing time (the
//! signing code is deterministic; only the signature values differ), so the hashes of the second
//! pass are the ones authorised. If anything changed in between (a document, a renewed CRL in a
//! PDF's validation data), the second pass asks for a hash that was never authorised and the
//! batch fails without a signature.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use super::{KeyError, SigningKey};

/// A DER ECDSA P-256 signature of the largest size: `SEQUENCE { INTEGER, INTEGER }`, each
/// integer 33 bytes (a leading zero before a high bit), so a PDF's reserved room always fits.
const PLACEHOLDER: [u8; 72] = {
    let mut der = [0u8; 72];
    der[0] = 0x30;
    der[1] = 70;
    let mut at = 2;
    while at < 72 {
        der[at] = 0x02;
        der[at + 1] = 33;
        der[at + 3] = 0x80;
        at += 35;
    }
    der
};

/// The SHA-256 of a message to sign.
pub type Hash = [u8; 32];

/// Notes the hash of every message it signs (pass 1).
#[derive(Debug, Clone)]
pub struct RecordingKey {
    point: Vec<u8>,
    hashes: Arc<Mutex<Vec<Hash>>>,
}

impl RecordingKey {
    /// A recording key standing for the key whose public point is `point`.
    pub fn new(point: Vec<u8>) -> RecordingKey {
        RecordingKey {
            point,
            hashes: Arc::default(),
        }
    }

    /// The hashes noted so far, in the order they were signed.
    pub fn hashes(&self) -> Vec<Hash> {
        self.hashes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl SigningKey for RecordingKey {
    fn public_point(&self) -> &[u8] {
        &self.point
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.hashes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Sha256::digest(message).into());
        Ok(PLACEHOLDER.to_vec())
    }
}

/// Answers each message with the provider's signature of its hash (pass 2).
#[derive(Debug)]
pub struct PresignedKey {
    point: Vec<u8>,
    signatures: HashMap<Hash, Vec<u8>>,
}

impl PresignedKey {
    /// A key that signs exactly the messages whose hashes are in `signed` (hash, signature).
    pub fn new(point: Vec<u8>, signed: impl IntoIterator<Item = (Hash, Vec<u8>)>) -> PresignedKey {
        PresignedKey {
            point,
            signatures: signed.into_iter().collect(),
        }
    }
}

impl SigningKey for PresignedKey {
    fn public_point(&self) -> &[u8] {
        &self.point
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let hash: Hash = Sha256::digest(message).into();
        self.signatures.get(&hash).cloned().ok_or_else(|| {
            KeyError::Failed(
                "the batch changed since its person confirmed it (a signature was asked for \
                 that they did not authorise); approve it again"
                    .into(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_is_a_well_formed_signature_of_the_largest_size() {
        use der::Decode;
        let parsed = der::asn1::SequenceOf::<der::asn1::UintRef<'_>, 2>::from_der(&PLACEHOLDER)
            .expect("SEQUENCE of two minimal INTEGERs");
        assert!(parsed.iter().all(|n| n.as_bytes().len() == 32));
    }

    #[test]
    fn a_presigned_key_signs_what_was_recorded_and_nothing_else() {
        let recording = RecordingKey::new(vec![4; 65]);
        recording.sign(b"first").expect("noted");
        recording.sign(b"second").expect("noted");
        let hashes = recording.hashes();
        assert_eq!(hashes.len(), 2);
        let presigned =
            PresignedKey::new(vec![4; 65], hashes.iter().map(|h| (*h, h[..4].to_vec())));
        assert_eq!(
            presigned.sign(b"second").expect("authorised"),
            hashes[1][..4]
        );
        let refused = presigned.sign(b"third").expect_err("not authorised");
        assert!(refused.to_string().contains("changed"), "{refused}");
    }
}
