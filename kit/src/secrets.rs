//! Key-encryption keys (KEKs): the secrets that open the key files in the data directory, kept
//! somewhere else.
//!
//! Every holder of a key file has a KEK of its own: the scheduler and the signing service for
//! their TLS keys (the signing service also for the signers' key files), each client certificate
//! and each device for theirs. A KEK is 32 random bytes. It comes, in this order, from a file
//! named on the command line, from the environment (`SIGNQ_KEK`, 64 hex digits), or from
//! `<name>.kek` in the secrets directory, which is where systemd puts credentials
//! (`$CREDENTIALS_DIRECTORY`) when the service runs under it. A KEK is never accepted from inside
//! the data directory: whoever copies the data directory (a backup, a stolen disk) must not get
//! the secret that opens its keys.
//!
//! Passwords for key files are derived from a KEK with HMAC-SHA256 under a purpose label and the
//! holder's name, so one KEK can open several files without any two sharing a password.

use std::path::{Path, PathBuf};

use rand::RngCore;
use zeroize::Zeroizing;

use crate::keyfile::{self, KeyFileError};

/// The environment variable that may carry a KEK (64 hex digits).
pub const KEK_ENV: &str = "SIGNQ_KEK";

/// Why a KEK could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The KEK file is missing or unreadable.
    #[error("key-encryption key {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The KEK is not 32 bytes (or, from the environment, not 64 hex digits).
    #[error("key-encryption key {origin}: {reason}")]
    Malformed { origin: String, reason: String },
    /// The KEK would sit inside the data directory, beside the keys it opens.
    #[error(
        "key-encryption key {path} is inside the data directory {data_dir}; keep it elsewhere \
         (--secrets-dir, --kek-file, {KEK_ENV} or systemd credentials)"
    )]
    InsideDataDir { path: PathBuf, data_dir: PathBuf },
    /// A new KEK could not be written.
    #[error(transparent)]
    Write(#[from] KeyFileError),
}

/// A key-encryption key: 32 secret bytes, zeroized when dropped.
pub struct Kek(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(..)")
    }
}

impl Kek {
    /// A KEK from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Kek {
        Kek(Zeroizing::new(bytes))
    }

    /// A KEK from 64 hex digits (the form `SIGNQ_KEK` carries).
    pub fn from_hex(text: &str, origin: &str) -> Result<Kek, SecretError> {
        let malformed = |reason: &str| SecretError::Malformed {
            origin: origin.to_string(),
            reason: reason.to_string(),
        };
        let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| malformed("not hex"))?);
        let array: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| malformed("not 32 bytes (64 hex digits)"))?;
        Ok(Kek::from_bytes(array))
    }

    /// Reads a KEK file: 32 raw bytes, or 64 hex digits.
    pub fn load(path: &Path) -> Result<Kek, SecretError> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| SecretError::Io {
            path: path.to_path_buf(),
            source,
        })?);
        if let Ok(array) = <[u8; 32]>::try_from(bytes.as_slice()) {
            return Ok(Kek::from_bytes(array));
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| SecretError::Malformed {
            origin: path.display().to_string(),
            reason: format!("{} bytes; expected 32 bytes or 64 hex digits", bytes.len()),
        })?;
        Kek::from_hex(text, &path.display().to_string())
    }

    /// Reads a KEK file, first creating one (32 random bytes, mode 0600) if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Kek, SecretError> {
        if !path.exists() {
            let mut fresh = Zeroizing::new([0u8; 32]);
            rand::rng().fill_bytes(fresh.as_mut());
            keyfile::write_private(path, fresh.as_ref())?;
        }
        Kek::load(path)
    }

    /// A 32-byte secret derived for `purpose` and the given parts: HMAC-SHA256 over the purpose
    /// label and every part, each followed by a zero byte so that no two inputs run together.
    pub fn derive(&self, purpose: &str, parts: &[&[u8]]) -> Zeroizing<[u8; 32]> {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, self.0.as_ref());
        let mut mac = ring::hmac::Context::with_key(&key);
        mac.update(purpose.as_bytes());
        for part in parts {
            mac.update(&[0]);
            mac.update(part);
        }
        let mut out = Zeroizing::new([0u8; 32]);
        out.copy_from_slice(mac.sign().as_ref());
        out
    }

    /// The password of the TLS key file of the certificate named `name`, as hex text.
    pub fn tls_key_password(&self, name: &str) -> Zeroizing<Vec<u8>> {
        let secret = self.derive("signq-tls-key", &[name.as_bytes()]);
        Zeroizing::new(hex::encode(secret.as_ref()).into_bytes())
    }
}

/// Where a holder's KEK comes from.
#[derive(Debug, Clone)]
pub struct KekSource<'a> {
    /// A file named on the command line, if any (first choice).
    pub file: Option<&'a Path>,
    /// The secrets directory, where `<name>.kek` is looked for last.
    pub secrets_dir: &'a Path,
    /// The data directory, which must not hold the KEK.
    pub data_dir: &'a Path,
}

impl KekSource<'_> {
    /// The file `<secrets dir>/<name>.kek` (`/` in names becomes `_`).
    pub fn default_path(&self, name: &str) -> PathBuf {
        self.secrets_dir
            .join(format!("{}.kek", name.replace('/', "_")))
    }

    /// The KEK of the holder `name`: from the file named on the command line, else from
    /// `SIGNQ_KEK`, else from the secrets directory.
    pub fn load(&self, name: &str) -> Result<Kek, SecretError> {
        if let Some(file) = self.file {
            self.check_outside(file)?;
            return Kek::load(file);
        }
        if let Ok(text) = std::env::var(KEK_ENV) {
            return Kek::from_hex(&text, KEK_ENV);
        }
        let path = self.default_path(name);
        self.check_outside(&path)?;
        Kek::load(&path)
    }

    /// As [`KekSource::load`], creating the secrets-directory file if no KEK exists yet (for
    /// the offline steps that issue keys: `signq pki` and `signq dev`).
    pub fn load_or_create(&self, name: &str) -> Result<Kek, SecretError> {
        if self.file.is_some() || std::env::var_os(KEK_ENV).is_some() {
            return self.load(name);
        }
        let path = self.default_path(name);
        self.check_outside(&path)?;
        Kek::load_or_create(&path)
    }

    fn check_outside(&self, path: &Path) -> Result<(), SecretError> {
        if is_inside(path, self.data_dir) {
            Err(SecretError::InsideDataDir {
                path: path.to_path_buf(),
                data_dir: self.data_dir.to_path_buf(),
            })
        } else {
            Ok(())
        }
    }
}

/// Whether `path` lies inside `dir`, comparing absolute paths with `..` and symbolic links
/// resolved as far as they exist.
fn is_inside(path: &Path, dir: &Path) -> bool {
    fn resolve(p: &Path) -> PathBuf {
        let absolute = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        // Canonicalise the longest existing ancestor, then put the rest back.
        let mut existing = absolute.as_path();
        let mut rest = Vec::new();
        loop {
            if let Ok(real) = existing.canonicalize() {
                return rest.iter().rev().fold(real, |acc, part| acc.join(part));
            }
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_os_string());
                    existing = parent;
                }
                _ => return absolute,
            }
        }
    }
    resolve(path).starts_with(resolve(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kek_files_in_either_form_and_derived_passwords() {
        let dir = tempfile::tempdir().expect("tempdir");
        let raw = dir.path().join("raw.kek");
        let kek = Kek::load_or_create(&raw).expect("create");
        let again = Kek::load(&raw).expect("load");
        assert_eq!(kek.tls_key_password("a"), again.tls_key_password("a"));
        assert_ne!(kek.tls_key_password("a"), kek.tls_key_password("b"));
        let hexed = dir.path().join("hex.kek");
        std::fs::write(&hexed, format!("{}\n", "ab".repeat(32))).expect("write");
        assert!(Kek::load(&hexed).is_ok());
        std::fs::write(&hexed, "abcd").expect("write");
        assert!(matches!(
            Kek::load(&hexed),
            Err(SecretError::Malformed { .. })
        ));
    }

    #[test]
    fn a_kek_inside_the_data_directory_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).expect("mkdir");
        let inside = KekSource {
            file: None,
            secrets_dir: &data.join("secrets"),
            data_dir: &data,
        };
        assert!(matches!(
            inside.load_or_create("scheduler"),
            Err(SecretError::InsideDataDir { .. })
        ));
        let sneaky = data.join("..").join("data").join("x.kek");
        let by_file = KekSource {
            file: Some(&sneaky),
            secrets_dir: dir.path(),
            data_dir: &data,
        };
        assert!(matches!(
            by_file.load("scheduler"),
            Err(SecretError::InsideDataDir { .. })
        ));
        let outside = KekSource {
            file: None,
            secrets_dir: &dir.path().join("secrets"),
            data_dir: &data,
        };
        assert!(outside.load_or_create("scheduler").is_ok());
        assert!(outside.load("scheduler").is_ok());
    }
}
