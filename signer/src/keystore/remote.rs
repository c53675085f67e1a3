//! A signer whose key is at a remote signing provider (CSC API v2): `<signer>.remote.json` says
//! which of the service's providers holds it and under which credential, and holds what checks
//! the signer's PIN, which the service still asks before it asks the person to confirm a batch
//! in their signing app (the PIN opens the tablet and approves; the app's confirmation is the
//! provider's own second factor).
//!
//! The PIN is never stored: the file keeps `HMAC-SHA256(KEK, "signq-remote-pin" ‖ 0 ‖ signer id
//! ‖ 0 ‖ Argon2id(PIN, salt))`, so checking a guess costs the Argon2id work and needs the KEK,
//! as for a key file.

use std::path::Path;

use rand::RngCore;
use serde::{Deserialize, Serialize};
use signq_kit::keyfile;
use signq_kit::secrets::Kek;

use super::{KeystoreError, SALT_BYTES};
use crate::pin::Stretch;

/// The format tag of a reference to a remote key.
const REMOTE_FORMAT: &str = "signq-remote-key/1";

/// Where a signer's remote key is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteKey {
    /// The name of the provider in the service's configuration (`--remote-provider NAME=…`).
    pub provider: String,
    /// The credential's id at the provider (`credentialID`).
    pub credential_id: String,
}

/// A reference to a remote key with its PIN check, as stored.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct RemoteRef {
    /// [`REMOTE_FORMAT`].
    format: String,
    /// The signer the key belongs to.
    signer_id: String,
    /// Where the key is.
    #[serde(flatten)]
    pub(super) key: RemoteKey,
    /// How the PIN is stretched.
    stretch: Stretch,
    /// The Argon2id salt, hex.
    salt: String,
    /// The PIN's check value, hex.
    check: String,
}

impl RemoteRef {
    /// The reference for `signer_id`'s `key`, checking `pin` from now on.
    pub(super) fn new(
        kek: &Kek,
        signer_id: &str,
        key: RemoteKey,
        pin: &str,
        stretch: Stretch,
    ) -> Result<RemoteRef, KeystoreError> {
        let mut salt = [0u8; SALT_BYTES];
        rand::rng().fill_bytes(&mut salt);
        let check = check_value(kek, signer_id, pin, stretch, &salt)?;
        Ok(RemoteRef {
            format: REMOTE_FORMAT.to_string(),
            signer_id: signer_id.to_string(),
            key,
            stretch,
            salt: hex::encode(salt),
            check: hex::encode(check),
        })
    }

    /// Writes it (owner-only).
    pub(super) fn write(&self, path: &Path) -> Result<(), KeystoreError> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| KeystoreError::Format {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        keyfile::write_private(path, &json)?;
        Ok(())
    }

    /// Reads `signer_id`'s reference at `path`; anything else is refused with what is wrong.
    pub(super) fn read(path: &Path, signer_id: &str) -> Result<RemoteRef, KeystoreError> {
        super::read_tagged(path, REMOTE_FORMAT, Some(signer_id), |r: &RemoteRef| {
            (&r.format, Some(&r.signer_id))
        })
    }

    /// Whether `pin` is the signer's.
    pub(super) fn pin_matches(&self, kek: &Kek, pin: &str) -> Result<bool, KeystoreError> {
        let (Ok(salt), Ok(expected)) = (hex::decode(&self.salt), hex::decode(&self.check)) else {
            return Err(KeystoreError::Format {
                path: self.signer_id.clone().into(),
                reason: "salt or check value is not hex".into(),
            });
        };
        let got = check_value(kek, &self.signer_id, pin, self.stretch, &salt)?;
        Ok(aws_lc_rs::constant_time::verify_slices_are_equal(got.as_ref(), &expected).is_ok())
    }
}

fn check_value(
    kek: &Kek,
    signer_id: &str,
    pin: &str,
    stretch: Stretch,
    salt: &[u8],
) -> Result<zeroize::Zeroizing<[u8; 32]>, KeystoreError> {
    let stretched = stretch
        .apply(pin, salt)
        .map_err(|source| KeystoreError::Stretch {
            signer: signer_id.to_string(),
            source,
        })?;
    Ok(kek.derive(
        "signq-remote-pin",
        &[signer_id.as_bytes(), stretched.as_ref()],
    ))
}
