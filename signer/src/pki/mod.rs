//! The ward PKI built on rcgen: CA, certificates for services and signers, revocation.
//!
//! Each ward runs its own small CA. It issues four kinds of certificate (see `profiles.rs` for
//! exactly what each contains): server certificates for the scheduler and the signer service,
//! client certificates for intake systems and operators, signing certificates for the Center's
//! director and deputies, and device certificates for the tablets they sign in on. Revocations
//! go into a CRL rebuilt from an inventory of every certificate issued. `signq pki` is a thin
//! command line over [`Pki`].
//!
//! # The CA directory
//!
//! | file | content |
//! |------|---------|
//! | `ca.crt.pem` | the CA certificate |
//! | `ca.key.pem` | the CA key, encrypted PKCS#8 under the CA passphrase, mode 0600 |
//! | `crl.pem` | the current CRL (present from `init` on, empty at first) |
//! | `inventory.json` | every certificate issued, revocations, the next CRL number |
//! | `issued/<name>.crt.pem` | issued certificates (`/` in names becomes `_`) |
//!
//! No other key is written here: every issue hands the new key back to the caller, which gives it
//! to its holder. The CA directory is meant to live apart from every running service (an
//! operator's machine, removable media); the services receive only the CA certificate, the CRL
//! and their own certificates. Every file is replaced atomically. One process at a time should
//! modify a CA directory; within a process, a [`Pki`] serialises its own updates.

mod bundle;
mod ca;
mod crl;
mod error;
mod inventory;
mod issue;
mod names;
mod profiles;
mod publish;
mod renew;
mod store;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rcgen::{Issuer, KeyPair};
use signq_kit::keyfile::{self, KeyFileError};
use zeroize::Zeroizing;

pub use bundle::pkcs12;
pub use crl::{CRL_LIFETIME_DAYS, RevocationReason, UnknownRevocationReason};
pub use error::PkiError;
pub use inventory::InventoryEntry;
pub use issue::{IssuedCert, NewKey, subject_public_key_info};
pub use profiles::{CertKind, SIGNER_ORGANIZATIONAL_UNIT, SignerSpec, Validity, WardInfo};
pub use publish::Published;

use inventory::Inventory;

/// An opened PKI directory, with the CA key decrypted in memory.
///
/// Its [`Debug`] output shows the directory and the CA subject, never key material.
pub struct Pki {
    /// The PKI directory.
    dir: PathBuf,
    /// `ca.crt.pem` as written.
    ca_cert_pem: String,
    /// The CA certificate, DER.
    ca_cert_der: Vec<u8>,
    /// The CA subject, RFC 4514 text.
    ca_subject: String,
    /// The CA's subject key identifier (the authority key identifier of its CRLs).
    ca_key_id: Option<Vec<u8>>,
    /// The CA as rcgen signs with it.
    issuer: Issuer<'static, KeyPair>,
    /// Serialises read-modify-write cycles of the inventory and CRL.
    lock: Mutex<()>,
}

impl fmt::Debug for Pki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pki")
            .field("dir", &self.dir)
            .field("ca_subject", &self.ca_subject)
            .finish_non_exhaustive()
    }
}

impl Pki {
    /// Creates a new ward CA in `dir` (created if needed): a P-256 CA certificate valid for
    /// `validity`, its key encrypted under `passphrase`, an empty CRL and an empty inventory.
    ///
    /// Fails with [`PkiError::AlreadyInitialised`] if `dir` already holds a CA certificate, CA key
    /// or inventory, [`PkiError::EmptyPassphrase`] for an empty passphrase, and
    /// [`PkiError::InvalidName`] / [`PkiError::InvalidSubject`] for an unusable ward id or name.
    pub fn init(
        dir: &Path,
        ward: &WardInfo,
        passphrase: &[u8],
        validity: Validity,
    ) -> Result<Pki, PkiError> {
        check_passphrase(passphrase)?;
        ensure_vacant(dir)?;
        let (key, cert_der) = ca::generate(ward, validity)?;
        let pkcs8 = Zeroizing::new(key.serialize_der());
        Pki::create(dir, &cert_der, key, &pkcs8, passphrase)
    }

    /// Adopts an existing CA: `ca_cert_pem` is its certificate, `ca_key_pem` its key as a plain
    /// `PRIVATE KEY` or an `ENCRYPTED PRIVATE KEY` opened with `key_password`. The key is stored
    /// re-encrypted under `passphrase`; an empty CRL and inventory are created.
    ///
    /// Fails with [`PkiError::NotACa`] if the certificate cannot act as a CA,
    /// [`PkiError::KeyDoesNotMatchCertificate`] if the key is not the certificate's,
    /// [`PkiError::KeyPasswordRequired`] for an encrypted key without a password,
    /// [`PkiError::InvalidKey`] / [`PkiError::InvalidCertificate`] for unreadable input, and as
    /// [`Pki::init`] for an occupied directory or an empty passphrase.
    pub fn import(
        dir: &Path,
        ca_cert_pem: &str,
        ca_key_pem: &str,
        key_password: Option<&[u8]>,
        passphrase: &[u8],
    ) -> Result<Pki, PkiError> {
        check_passphrase(passphrase)?;
        ensure_vacant(dir)?;
        let cert_der = ca::cert_der_from_pem(ca_cert_pem)?;
        let facts = ca::inspect(&cert_der)?;
        ca::check_is_ca(&facts)?;
        let pkcs8 = ca::import_key_der(ca_key_pem, key_password)?;
        let key = ca::key_pair(&pkcs8)?;
        ca::check_key_matches(&key, &facts)?;
        Pki::create(dir, &cert_der, key, &pkcs8, passphrase)
    }

    /// Opens the PKI in `dir`, decrypting the CA key with `passphrase`.
    ///
    /// Fails with [`PkiError::NotInitialised`] if there is no CA there,
    /// [`PkiError::WrongPassphrase`] if the passphrase does not decrypt the CA key,
    /// [`PkiError::KeyDoesNotMatchCertificate`] if the key and certificate files do not belong
    /// together, and [`PkiError::Inventory`] if `inventory.json` is missing or malformed.
    pub fn open(dir: &Path, passphrase: &[u8]) -> Result<Pki, PkiError> {
        let cert_path = dir.join(store::CA_CERT_FILE);
        let cert_text =
            store::read_text(&cert_path, || PkiError::NotInitialised(dir.to_path_buf()))?;
        let cert_der = ca::cert_der_from_pem(&cert_text)?;
        let facts = ca::inspect(&cert_der)?;
        let pkcs8 = match keyfile::read(&dir.join(store::CA_KEY_FILE), passphrase) {
            Ok(der) => der,
            Err(KeyFileError::WrongPassword { .. }) => return Err(PkiError::WrongPassphrase),
            Err(KeyFileError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                return Err(PkiError::NotInitialised(dir.to_path_buf()));
            }
            Err(e) => return Err(e.into()),
        };
        let key = ca::key_pair(&pkcs8)?;
        ca::check_key_matches(&key, &facts)?;
        Inventory::load(dir)?;
        Ok(Pki {
            dir: dir.to_path_buf(),
            ca_cert_pem: ca::cert_pem(&cert_der)?,
            issuer: ca::issuer(&cert_der, key)?,
            ca_cert_der: cert_der,
            ca_subject: facts.subject,
            ca_key_id: facts.key_id,
            lock: Mutex::new(()),
        })
    }

    /// Writes a new PKI directory for a CA certificate and its key, then returns it opened.
    fn create(
        dir: &Path,
        cert_der: &[u8],
        key: KeyPair,
        pkcs8: &[u8],
        passphrase: &[u8],
    ) -> Result<Pki, PkiError> {
        let facts = ca::inspect(cert_der)?;
        let pki = Pki {
            dir: dir.to_path_buf(),
            ca_cert_pem: ca::cert_pem(cert_der)?,
            issuer: ca::issuer(cert_der, key)?,
            ca_cert_der: cert_der.to_vec(),
            ca_subject: facts.subject,
            ca_key_id: facts.key_id,
            lock: Mutex::new(()),
        };
        if let Err(e) = pki.write_new(pkcs8, passphrase) {
            // Leave the directory as vacant as it was, so that the operator can simply retry.
            for f in [
                store::CA_CERT_FILE,
                store::CA_KEY_FILE,
                store::CRL_FILE,
                store::INVENTORY_FILE,
            ] {
                let _ = std::fs::remove_file(dir.join(f));
            }
            return Err(e);
        }
        Ok(pki)
    }

    /// Writes the files of a new PKI: `issued/`, an empty CRL and inventory, the encrypted CA key
    /// and, last, the CA certificate.
    fn write_new(&self, pkcs8: &[u8], passphrase: &[u8]) -> Result<(), PkiError> {
        let issued = self.dir.join(store::ISSUED_DIR);
        std::fs::create_dir_all(&issued).map_err(PkiError::io(&issued))?;
        let mut inventory = Inventory::new();
        self.sign_crl(&mut inventory)?;
        keyfile::write(
            &self.dir.join(store::CA_KEY_FILE),
            pkcs8,
            passphrase,
            keyfile::DEFAULT_ITERATIONS,
        )?;
        store::write_public(
            &self.dir.join(store::CA_CERT_FILE),
            self.ca_cert_pem.as_bytes(),
        )
    }

    /// The CA certificate, PEM.
    pub fn ca_cert_pem(&self) -> &str {
        &self.ca_cert_pem
    }

    /// The CA certificate, DER.
    pub fn ca_cert_der(&self) -> &[u8] {
        &self.ca_cert_der
    }

    /// The PKI directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the current CRL is (`<dir>/crl.pem`).
    pub fn crl_path(&self) -> PathBuf {
        self.dir.join(store::CRL_FILE)
    }

    /// The current CRL, DER, as read from `crl.pem`; fails with [`PkiError::Inventory`] if the
    /// file is missing or not a PEM CRL.
    pub fn crl_der(&self) -> Result<Vec<u8>, PkiError> {
        let path = self.crl_path();
        let text = store::read_text(&path, || {
            PkiError::Inventory(format!("{} is missing", path.display()))
        })?;
        store::pem_decode(&text, "X509 CRL")
            .ok_or_else(|| PkiError::Inventory(format!("{} holds no X509 CRL", path.display())))
    }

    /// Every certificate issued, oldest first, with revocations; fails with
    /// [`PkiError::Inventory`] if `inventory.json` cannot be read.
    pub fn list(&self) -> Result<Vec<InventoryEntry>, PkiError> {
        Ok(Inventory::load(&self.dir)?.certificates)
    }

    /// Revokes a certificate, named by serial (hex, any case, colons allowed) or by name, and
    /// re-signs `crl.pem` with the next CRL number. Returns the updated inventory entry.
    ///
    /// Fails with [`PkiError::UnknownCertificate`] if nothing matches,
    /// [`PkiError::AlreadyRevoked`] if the certificate (or every certificate of the name) is
    /// already revoked, and [`PkiError::AmbiguousName`] if the name has several unrevoked
    /// certificates.
    pub fn revoke(
        &self,
        serial_or_name: &str,
        reason: RevocationReason,
    ) -> Result<InventoryEntry, PkiError> {
        let _guard = self.guard();
        let mut inventory = Inventory::load(&self.dir)?;
        let i = inventory.find_for_revocation(serial_or_name)?;
        let now = time::OffsetDateTime::now_utc();
        let entry = &mut inventory.certificates[i];
        entry.revoked_at = Some(now.replace_nanosecond(0).unwrap_or(now));
        entry.reason = Some(reason);
        let entry = entry.clone();
        self.sign_crl(&mut inventory)?;
        Ok(entry)
    }

    /// Re-signs `crl.pem` (same revocations, next CRL number, fresh thisUpdate/nextUpdate); the
    /// CLI runs this before the CRL's [`CRL_LIFETIME_DAYS`] run out.
    pub fn refresh_crl(&self) -> Result<(), PkiError> {
        let _guard = self.guard();
        let mut inventory = Inventory::load(&self.dir)?;
        self.sign_crl(&mut inventory)
    }

    /// Signs a CRL from `inventory`, writes `crl.pem`, then saves the inventory with the CRL
    /// number advanced. The number also stays above the one already on disk, so that a crash
    /// between the two writes never lets two different CRLs share a number.
    fn sign_crl(&self, inventory: &mut Inventory) -> Result<(), PkiError> {
        let on_disk = match self.crl_der() {
            Ok(der) => crl::crl_number(&der)?,
            Err(_) if !self.crl_path().exists() => 0,
            Err(e) => return Err(e),
        };
        let number = inventory.next_crl_number.max(on_disk.saturating_add(1));
        let pem = crl::build_crl(&self.issuer, self.ca_key_id.as_deref(), number, inventory)?;
        store::write_public(&self.crl_path(), pem.as_bytes())?;
        inventory.next_crl_number = number.saturating_add(1);
        inventory.save(&self.dir)
    }

    /// Takes the in-process lock over the inventory and CRL (a poisoned lock is still usable:
    /// every file update is atomic).
    fn guard(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Fails with [`PkiError::EmptyPassphrase`] for an empty passphrase.
fn check_passphrase(passphrase: &[u8]) -> Result<(), PkiError> {
    if passphrase.is_empty() {
        Err(PkiError::EmptyPassphrase)
    } else {
        Ok(())
    }
}

/// Fails with [`PkiError::AlreadyInitialised`] if `dir` holds a CA certificate, CA key or
/// inventory.
fn ensure_vacant(dir: &Path) -> Result<(), PkiError> {
    let occupied = [
        store::CA_CERT_FILE,
        store::CA_KEY_FILE,
        store::INVENTORY_FILE,
    ]
    .iter()
    .any(|f| dir.join(f).exists());
    if occupied {
        Err(PkiError::AlreadyInitialised(dir.to_path_buf()))
    } else {
        Ok(())
    }
}
