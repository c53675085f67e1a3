//! A device's certificate and key as one PKCS#12 file, the form tablets and browsers import.
//!
//! The file is protected with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) and an HMAC-SHA256 MAC,
//! which OpenSSL 3, NSS (Chromium, Firefox), Android and iOS all read; it carries the ward CA
//! certificate too, so the device learns whom to trust with the same import.

use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};

use super::error::PkiError;

/// A PKCS#12 file holding `key_pkcs8` with its certificate `cert_der` and the CA certificate,
/// under `password`; `name` is the friendly name a browser shows.
pub fn pkcs12(
    name: &str,
    cert_der: &[u8],
    key_pkcs8: &[u8],
    ca_der: &[u8],
    password: &str,
) -> Result<Vec<u8>, PkiError> {
    let bad = |what: &str, e: p12_keystore::error::Error| {
        PkiError::InvalidCertificate(format!("PKCS#12 {what}: {e}"))
    };
    let key = PrivateKey::from_der(key_pkcs8).map_err(|e| bad("key", e))?;
    let cert = Certificate::from_der(cert_der).map_err(|e| bad("certificate", e))?;
    let ca = Certificate::from_der(ca_der).map_err(|e| bad("CA certificate", e))?;
    let chain = PrivateKeyChain::new(name, key, [cert, ca]);
    let mut store = KeyStore::new();
    store.add_entry(name, KeyStoreEntry::PrivateKeyChain(chain));
    store
        .writer(password)
        .write()
        .map_err(|e| bad("encoding", e))
}
