//! What the running services receive from the CA, in the data directory's `pki/` folder: the CA
//! certificate, the current CRL, and each holder's certificate with its key file sealed under the
//! holder's own key-encryption key.
//!
//! | file | content |
//! |------|---------|
//! | `ca.crt.pem` | the CA certificate |
//! | `crl.pem` | the current CRL; the services reload it when it changes |
//! | `issued/<name>.crt.pem` | a service's, client's or device's certificate |
//! | `issued/<name>.key.pem` | its key, encrypted PKCS#8 under a password derived from the holder's KEK |
//!
//! Nothing here opens anything else: the CA key stays in the CA directory, and each key file opens
//! only with its holder's KEK, which lives outside the data directory.

use std::path::{Path, PathBuf};

use signq_kit::keyfile;
use signq_kit::secrets::Kek;

use super::error::PkiError;
use super::{IssuedCert, Pki, names, store};

/// The published `pki/` folder of a data directory.
#[derive(Debug, Clone)]
pub struct Published {
    dir: PathBuf,
}

impl Published {
    /// The folder `dir` (usually `<data dir>/pki`).
    pub fn new(dir: impl Into<PathBuf>) -> Published {
        Published { dir: dir.into() }
    }

    /// The CA certificate.
    pub fn ca_cert(&self) -> PathBuf {
        self.dir.join(store::CA_CERT_FILE)
    }

    /// The current CRL.
    pub fn crl(&self) -> PathBuf {
        self.dir.join(store::CRL_FILE)
    }

    /// The certificate of `name`.
    pub fn cert(&self, name: &str) -> PathBuf {
        self.issued(name, "crt.pem")
    }

    /// The key file of `name`.
    pub fn key(&self, name: &str) -> PathBuf {
        self.issued(name, "key.pem")
    }

    fn issued(&self, name: &str, suffix: &str) -> PathBuf {
        self.dir
            .join(store::ISSUED_DIR)
            .join(format!("{}.{suffix}", names::file_stem(name)))
    }

    /// Copies the CA certificate and the current CRL from the CA directory (each atomically, the
    /// CRL last so a service never sees a CRL its CA certificate does not verify).
    pub fn ca_and_crl(&self, pki: &Pki) -> Result<(), PkiError> {
        store::write_public(&self.ca_cert(), pki.ca_cert_pem().as_bytes())?;
        let crl = store::read_text(&pki.crl_path(), || {
            PkiError::Inventory(format!("{} is missing", pki.crl_path().display()))
        })?;
        store::write_public(&self.crl(), crl.as_bytes())
    }

    /// Publishes a holder's certificate and its key, sealed under a password derived from the
    /// holder's `kek`. Returns the certificate and key paths.
    pub fn identity(
        &self,
        issued: &IssuedCert,
        key_pkcs8: &[u8],
        kek: &Kek,
    ) -> Result<(PathBuf, PathBuf), PkiError> {
        let (cert, key) = (self.cert(&issued.name), self.key(&issued.name));
        let password = kek.tls_key_password(&issued.name);
        keyfile::write(&key, key_pkcs8, &password, keyfile::DEFAULT_ITERATIONS)?;
        store::write_public(&cert, issued.cert_pem.as_bytes())?;
        Ok((cert, key))
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}
