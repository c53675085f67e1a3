//! The file back end: a PKCS#8 key, decrypted from its key file for one batch (see
//! [`crate::keystore`]) and held in AWS-LC, whose allocator wipes memory when it is freed, so
//! the private scalar is gone as soon as the batch's signer is dropped. AWS-LC signs P-256 as
//! fast as openssl.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

use super::{KeyError, SigningKey};

/// A decrypted key file.
pub struct FileKey {
    pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey")
    }
}

impl FileKey {
    /// A fresh key (for measuring the back end on its own).
    pub fn generate() -> Result<FileKey, KeyError> {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING)
            .map_err(|e| KeyError::Failed(format!("generating a key: {e}")))?;
        Ok(FileKey {
            pair,
            rng: SystemRandom::new(),
        })
    }

    /// The key from its PKCS#8 DER.
    pub fn from_pkcs8(pkcs8: &[u8]) -> Result<FileKey, KeyError> {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8)
            .map_err(|e| KeyError::Failed(format!("not an ECDSA P-256 PKCS#8 key: {e}")))?;
        Ok(FileKey {
            pair,
            rng: SystemRandom::new(),
        })
    }
}

impl SigningKey for FileKey {
    fn public_point(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.pair
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| KeyError::Failed("the ECDSA signing operation failed".into()))
    }
}
