//! Signers whose certificate comes from an outside CA (the government's): such a certificate
//! names the person but none of signq's identity (signer id, role, ward), so the registration
//! gives it, in `<signer>.identity.json` beside the certificate, with the CA chain the
//! signatures carry. A certificate of the ward CA needs no registration: it names all of it.

use std::path::Path;

use serde::{Deserialize, Serialize};
use signq_kit::identity::Role;
use signq_kit::keyfile;

use super::KeystoreError;

/// The format tag of a registration file.
const REGISTRATION_FORMAT: &str = "signq-signer-registration/1";

/// Who an outside certificate's holder is in signq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The signer id (e.g. `cat-lai/director`).
    pub signer_id: String,
    /// The person's name, as the tablet and the signature block show it.
    pub display_name: String,
    /// The ward they sign for.
    pub ward: String,
    /// Director, deputy or clerk.
    pub role: Role,
    /// The certificates between theirs and the outside CA (the issuing CA first), DER: carried
    /// in every signature so that a validator can build the path.
    pub chain: Vec<Vec<u8>>,
}

/// A registration as stored.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    format: String,
    signer_id: String,
    display_name: String,
    ward: String,
    role: String,
    /// PEM.
    chain: Vec<String>,
}

impl Registration {
    /// Writes it (owner-only).
    pub(super) fn write(&self, path: &Path) -> Result<(), KeystoreError> {
        let stored = Stored {
            format: REGISTRATION_FORMAT.to_string(),
            signer_id: self.signer_id.clone(),
            display_name: self.display_name.clone(),
            ward: self.ward.clone(),
            role: self.role.as_str().to_string(),
            chain: self.chain.iter().map(|c| super::pem_cert(c)).collect(),
        };
        let json = serde_json::to_vec_pretty(&stored).map_err(|e| KeystoreError::Format {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        keyfile::write_private(path, &json)?;
        Ok(())
    }

    /// Reads the registration at `path`; anything else is refused with what is wrong.
    pub(super) fn read(path: &Path) -> Result<Registration, KeystoreError> {
        let bad = |reason: String| KeystoreError::Format {
            path: path.to_path_buf(),
            reason,
        };
        let stored: Stored = super::read_tagged(path, REGISTRATION_FORMAT, None, |s: &Stored| {
            (&s.format, None)
        })?;
        let role: Role = stored.role.parse().map_err(|e| bad(format!("role: {e}")))?;
        let chain = stored
            .chain
            .iter()
            .map(|pem| {
                super::pem_to_cert(pem.as_bytes())
                    .ok_or_else(|| bad("chain: not a PEM certificate".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Registration {
            signer_id: stored.signer_id,
            display_name: stored.display_name,
            ward: stored.ward,
            role,
            chain,
        })
    }
}
