//! Private keys at rest: encrypted PKCS#8 (PBES2, PBKDF2-HMAC-SHA256 + AES-256-CBC) in PEM
//! files of mode 0600.
//!
//! A standard container rather than a home-made one, so `openssl pkey -in F` can open any signq
//! key given its password. Every reader gets the key back in zeroizing memory.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use pkcs8::der::pem::{LineEnding, PemLabel};
use pkcs8::{EncryptedPrivateKeyInfo, PrivateKeyInfo};
use rand::RngCore;
use zeroize::Zeroizing;

/// PBKDF2 iterations for keys written by signq. Every key also needs a high-entropy secret (a
/// passphrase or the signer service's key-encryption key), so the iteration count only has to slow
/// down a thief who has both the file and that secret; it is paid once per signing batch.
pub const DEFAULT_ITERATIONS: u32 = 20_000;

/// Why a key file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// The file could not be read, created or written.
    #[error("key file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not an encrypted PKCS#8 PEM document.
    #[error("key file {path} is not an encrypted PKCS#8 PEM key: {reason}")]
    Format { path: PathBuf, reason: String },
    /// The password did not decrypt the key: wrong PIN or passphrase, or a damaged file.
    #[error("key file {path} does not open with this password")]
    WrongPassword { path: PathBuf },
    /// The plaintext key could not be encrypted (malformed PKCS#8 input).
    #[error("cannot encrypt key: {0}")]
    Encrypt(String),
}

/// Encrypts a PKCS#8 private key (DER) with `password` and returns the PEM text.
pub fn encrypt_pem(
    pkcs8_der: &[u8],
    password: &[u8],
    iterations: u32,
) -> Result<String, KeyFileError> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    rand::rng().fill_bytes(&mut iv);
    let params = pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(iterations, &salt, &iv)
        .map_err(|e| KeyFileError::Encrypt(e.to_string()))?;
    let info =
        PrivateKeyInfo::try_from(pkcs8_der).map_err(|e| KeyFileError::Encrypt(e.to_string()))?;
    let doc = info
        .encrypt_with_params(params, password)
        .map_err(|e| KeyFileError::Encrypt(e.to_string()))?;
    doc.to_pem(EncryptedPrivateKeyInfo::PEM_LABEL, LineEnding::LF)
        .map(|pem| pem.to_string())
        .map_err(|e| KeyFileError::Encrypt(e.to_string()))
}

/// Decrypts the PEM text of an encrypted PKCS#8 key; `path` only names it in errors.
pub fn decrypt_pem(
    pem: &str,
    password: &[u8],
    path: &Path,
) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let format = |reason: String| KeyFileError::Format {
        path: path.to_path_buf(),
        reason,
    };
    let (label, der) =
        pkcs8::der::pem::decode_vec(pem.as_bytes()).map_err(|e| format(e.to_string()))?;
    if label != EncryptedPrivateKeyInfo::PEM_LABEL {
        return Err(format(format!(
            "PEM label is {label:?}, expected {:?}",
            EncryptedPrivateKeyInfo::PEM_LABEL
        )));
    }
    let info =
        EncryptedPrivateKeyInfo::try_from(der.as_slice()).map_err(|e| format(e.to_string()))?;
    let plain = info
        .decrypt(password)
        .map_err(|_| KeyFileError::WrongPassword {
            path: path.to_path_buf(),
        })?;
    // A wrong password can pass the CBC padding check by chance; the PKCS#8 structure cannot.
    PrivateKeyInfo::try_from(plain.as_bytes()).map_err(|_| KeyFileError::WrongPassword {
        path: path.to_path_buf(),
    })?;
    Ok(Zeroizing::new(plain.as_bytes().to_vec()))
}

/// Writes an encrypted key file with mode 0600, atomically (temporary file, fsync, rename), so a
/// crash never leaves half a key behind.
pub fn write(
    path: &Path,
    pkcs8_der: &[u8],
    password: &[u8],
    iterations: u32,
) -> Result<(), KeyFileError> {
    let pem = encrypt_pem(pkcs8_der, password, iterations)?;
    write_private(path, pem.as_bytes())
}

/// Reads and decrypts an encrypted key file.
pub fn read(path: &Path, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let pem = fs::read_to_string(path).map_err(|source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decrypt_pem(&pem, password, path)
}

/// Writes secret bytes to `path` with mode 0600 through a temporary file and a rename.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    let io = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    fs::rename(&tmp, path).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p256_pkcs8() -> Vec<u8> {
        // A fixed PKCS#8 document is enough: the container, not the key, is under test.
        let pem = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgevZzL1gdAFr88hb2\nOF/2NxApJCzGCEDdfSp6VQO30hyhRANCAAQRWz+jn65BtOMvdyHKcvjBeBSDZH2r\n1RTwjmYSi9R/zpBnuQ4EiMnCqfMPWiZqB4QdbAd0E7oH50VpuZ1P087G\n-----END PRIVATE KEY-----\n";
        pkcs8::der::pem::decode_vec(pem.as_bytes())
            .map(|(_, d)| d)
            .unwrap_or_default()
    }

    #[test]
    fn round_trip_and_wrong_password() {
        let dir = std::env::temp_dir().join(format!("signq-keyfile-{}", std::process::id()));
        let path = dir.join("k.pem");
        let der = p256_pkcs8();
        write(&path, &der, b"right", 1000).expect("write");
        assert_eq!(
            read(&path, b"right").expect("read").as_slice(),
            der.as_slice()
        );
        assert!(matches!(
            read(&path, b"wrong"),
            Err(KeyFileError::WrongPassword { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let _ = fs::remove_dir_all(dir);
    }
}
