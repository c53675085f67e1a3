//! The PKI directory on disk: file names, atomic writes of public files and PEM helpers.
//!
//! Every file is replaced atomically (temporary file, fsync, rename, fsync of the directory) so
//! that a crash or a full disk never leaves a half-written certificate, CRL or inventory behind.
//! Private keys go through [`signq_kit::keyfile`], which does the same with mode 0600.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::error::PkiError;

/// The CA certificate, PEM.
pub(crate) const CA_CERT_FILE: &str = "ca.crt.pem";
/// The CA key, encrypted PKCS#8 PEM under the PKI passphrase.
pub(crate) const CA_KEY_FILE: &str = "ca.key.pem";
/// The current CRL, PEM.
pub(crate) const CRL_FILE: &str = "crl.pem";
/// The record of every certificate issued.
pub(crate) const INVENTORY_FILE: &str = "inventory.json";
/// The directory of issued certificates and service keys.
pub(crate) const ISSUED_DIR: &str = "issued";

/// Writes a non-secret file (mode 0644) atomically.
pub(crate) fn write_public(path: &Path, bytes: &[u8]) -> Result<(), PkiError> {
    let parent = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(parent).map_err(PkiError::io(parent))?;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o644);
    let mut file = options.open(&tmp).map_err(PkiError::io(&tmp))?;
    file.write_all(bytes).map_err(PkiError::io(&tmp))?;
    file.sync_all().map_err(PkiError::io(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(PkiError::io(path))?;
    sync_dir(parent);
    Ok(())
}

/// Makes a rename in `dir` durable. Best effort: not every platform can open a directory.
pub(crate) fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Reads a text file; a missing file is reported through `missing`.
pub(crate) fn read_text(
    path: &Path,
    missing: impl FnOnce() -> PkiError,
) -> Result<String, PkiError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(missing()),
        Err(e) => Err(PkiError::io(path)(e)),
    }
}

/// The first PEM block labelled `label` in `text` (other blocks and text around it are ignored).
pub(crate) fn pem_block<'a>(text: &'a str, label: &str) -> Option<&'a str> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)?;
    let stop = text[start..].find(&end)? + start + end.len();
    Some(&text[start..stop])
}

/// Decodes the first PEM block labelled `label` to DER.
pub(crate) fn pem_decode(text: &str, label: &str) -> Option<Vec<u8>> {
    let block = pem_block(text, label)?;
    let (found, der) = der::pem::decode_vec(block.as_bytes()).ok()?;
    (found == label).then_some(der)
}

/// Encodes DER as PEM with `label`, LF line endings.
pub(crate) fn pem_encode(label: &str, der: &[u8]) -> Result<String, PkiError> {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der)
        .map_err(|e| PkiError::InvalidCertificate(format!("cannot PEM-encode: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trip_with_surrounding_text() {
        let pem = pem_encode("CERTIFICATE", b"\x30\x03\x02\x01\x01").unwrap_or_default();
        let text = format!("Certificate:\n  junk\n{pem}trailing\n");
        assert_eq!(
            pem_decode(&text, "CERTIFICATE").as_deref(),
            Some(&b"\x30\x03\x02\x01\x01"[..])
        );
        assert!(pem_decode(&text, "X509 CRL").is_none());
    }
}
