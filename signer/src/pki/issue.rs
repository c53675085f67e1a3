//! Issuing certificates: a fresh P-256 key, the kind's profile, the CA's signature, then the
//! inventory entry and the certificate under `issued/`.
//!
//! The inventory is written before the certificate file, so a certificate never leaves the PKI
//! unrecorded (and therefore unrevocable). Keys are never written here: each is handed back to
//! the caller, which gives it to its holder (a service's key file sealed under that service's own
//! key-encryption key, a signer's key to the signing service's keystore, a device's key in a
//! PKCS#12 file for the tablet). The CA directory thus holds no key but the CA's.

use std::net::IpAddr;
use std::path::PathBuf;

use rcgen::{
    CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256, PublicKeyData, SubjectPublicKeyInfo,
};
use signq_kit::identity::Role;
use zeroize::Zeroizing;

use super::error::PkiError;
use super::inventory::{Inventory, InventoryEntry};
use super::profiles::{self, CertKind, SignerSpec, Validity};
use super::{Pki, ca, names, store};

/// A certificate just issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCert {
    /// Its name: the service name, the signer id or the device name.
    pub name: String,
    /// Its serial, lowercase hex.
    pub serial: String,
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The certificate, DER.
    pub cert_der: Vec<u8>,
    /// Where the certificate was written (`<dir>/issued/<name>.crt.pem`).
    pub cert_path: PathBuf,
}

/// A new key, PKCS#8 DER, in zeroizing memory.
pub type NewKey = Zeroizing<Vec<u8>>;

impl Pki {
    /// Issues a server certificate (role [`Role::Scheduler`] or [`Role::SignerService`]) for
    /// `localhost`, 127.0.0.1, ::1 and the given DNS names and addresses, also usable as a client
    /// certificate. Writes `issued/<name>.crt.pem` and returns the certificate with its new key.
    ///
    /// Fails with [`PkiError::InvalidName`] for a bad name or DNS name,
    /// [`PkiError::WrongRoleForKind`] for another role, and [`PkiError::NameCollision`] if the
    /// name's files belong to another name.
    pub fn issue_server(
        &self,
        name: &str,
        role: Role,
        dns_names: &[String],
        ips: &[IpAddr],
        validity: Validity,
    ) -> Result<(IssuedCert, NewKey), PkiError> {
        let serial = profiles::random_serial();
        let params = profiles::server_params(name, role, dns_names, ips, validity, &serial)?;
        self.issue_with_new_key(name, CertKind::Server, role, &params)
    }

    /// Issues a client certificate (role [`Role::Scheduler`], [`Role::Intake`] or
    /// [`Role::Operator`]) naming the wards its holder may act for (an intake system acts for
    /// those only). Writes `issued/<name>.crt.pem` and returns the certificate with its new key.
    ///
    /// Fails as [`Pki::issue_server`], and with [`PkiError::InvalidName`] for a bad ward id.
    pub fn issue_client(
        &self,
        name: &str,
        role: Role,
        wards: &[String],
        validity: Validity,
    ) -> Result<(IssuedCert, NewKey), PkiError> {
        let serial = profiles::random_serial();
        let params = profiles::client_params(name, role, wards, validity, &serial)?;
        self.issue_with_new_key(name, CertKind::Client, role, &params)
    }

    /// Issues the certificate of a device (a tablet) enrolled for the signer `signer_id` of
    /// `ward`: signing in needs it. Writes `issued/<name>.crt.pem` and returns the certificate
    /// with its new key.
    ///
    /// Fails with [`PkiError::InvalidName`] for a bad name, signer id or ward id, and
    /// [`PkiError::NameCollision`] as [`Pki::issue_server`].
    pub fn issue_device(
        &self,
        name: &str,
        signer_id: &str,
        ward: &str,
        validity: Validity,
    ) -> Result<(IssuedCert, NewKey), PkiError> {
        let serial = profiles::random_serial();
        let params = profiles::device_params(name, signer_id, ward, validity, &serial)?;
        self.issue_with_new_key(name, CertKind::Device, Role::Device, &params)
    }

    /// Issues a signing certificate for a director or deputy and returns it with the new key's
    /// PKCS#8 DER. Only the certificate is written (`issued/<signer id with / as _>.crt.pem`); the
    /// caller hands the key to the signer service's keystore.
    ///
    /// Fails with [`PkiError::InvalidName`] for a bad signer or ward id,
    /// [`PkiError::InvalidSubject`] for a bad display or ward name,
    /// [`PkiError::WrongRoleForKind`] for a role other than director or deputy, and
    /// [`PkiError::NameCollision`] as [`Pki::issue_server`].
    pub fn issue_signer(
        &self,
        spec: &SignerSpec,
        validity: Validity,
    ) -> Result<(IssuedCert, Zeroizing<Vec<u8>>), PkiError> {
        let serial = profiles::random_serial();
        let params = profiles::signer_params(spec, validity, &serial)?;
        self.issue_with_new_key(&spec.signer_id, CertKind::Signer, spec.role, &params)
    }

    /// Issues a signing certificate for a director, deputy or clerk whose key was made elsewhere
    /// (on a token, which never lets it out): `spki` is the key's SubjectPublicKeyInfo, DER.
    /// Fails as [`Pki::issue_signer`], and with [`PkiError::Rcgen`] for a public key that is
    /// not ECDSA P-256.
    pub fn issue_signer_for(
        &self,
        spec: &SignerSpec,
        validity: Validity,
        spki: &[u8],
    ) -> Result<IssuedCert, PkiError> {
        let public = SubjectPublicKeyInfo::from_der(spki)?;
        if public.algorithm() != &PKCS_ECDSA_P256_SHA256 {
            return Err(PkiError::Rcgen("the key is not ECDSA P-256".into()));
        }
        let serial = profiles::random_serial();
        let params = profiles::signer_params(spec, validity, &serial)?;
        self.issue(
            &spec.signer_id,
            CertKind::Signer,
            spec.role,
            &params,
            &public,
        )
    }

    /// Issues the certificate of the signing service's timestamp authority (RFC 3161) for the
    /// CA's ward and returns it with the new key's PKCS#8 DER. Writes `issued/<name>.crt.pem`;
    /// the caller hands the key to the signing service.
    ///
    /// Fails with [`PkiError::InvalidName`] for a bad name and [`PkiError::NameCollision`] as
    /// [`Pki::issue_server`].
    pub fn issue_timestamping(
        &self,
        name: &str,
        validity: Validity,
    ) -> Result<(IssuedCert, NewKey), PkiError> {
        names::validate_name(name)?;
        let serial = profiles::random_serial();
        let ward = ca::organisation(self.ca_cert_der()).unwrap_or_else(|| "signq".into());
        let params = profiles::timestamping_params(&ward, validity, &serial)?;
        self.issue_with_new_key(name, CertKind::Timestamping, Role::SignerService, &params)
    }

    /// Makes a key, then issues `params` for it.
    fn issue_with_new_key(
        &self,
        name: &str,
        kind: CertKind,
        role: Role,
        params: &CertificateParams,
    ) -> Result<(IssuedCert, NewKey), PkiError> {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
        let issued = self.issue(name, kind, role, params, &key)?;
        Ok((issued, Zeroizing::new(key.serialize_der())))
    }

    /// Signs `params` for `key`, records the certificate in the inventory, then writes it under
    /// `issued/`.
    fn issue(
        &self,
        name: &str,
        kind: CertKind,
        role: Role,
        params: &CertificateParams,
        key: &impl PublicKeyData,
    ) -> Result<IssuedCert, PkiError> {
        let cert = params.signed_by(key, &self.issuer)?;
        let cert_der = cert.der().to_vec();
        let cert_pem = cert.pem();
        let facts = ca::inspect(&cert_der)?;
        let stem = names::file_stem(name);
        let cert_rel = PathBuf::from(store::ISSUED_DIR).join(format!("{stem}.crt.pem"));

        let _guard = self.guard();
        let mut inventory = Inventory::load(&self.dir)?;
        if let Some(other) = inventory
            .certificates
            .iter()
            .find(|e| e.name != name && names::file_stem(&e.name) == stem)
        {
            return Err(PkiError::NameCollision {
                name: name.to_string(),
                existing: other.name.clone(),
            });
        }
        inventory.certificates.push(InventoryEntry {
            serial: facts.serial.clone(),
            name: name.to_string(),
            kind,
            role,
            subject: facts.subject,
            not_before: params.not_before,
            not_after: params.not_after,
            cert_path: cert_rel.clone(),
            revoked_at: None,
            reason: None,
        });
        inventory.save(&self.dir)?;

        let cert_path = self.dir.join(&cert_rel);
        store::write_public(&cert_path, cert_pem.as_bytes())?;
        Ok(IssuedCert {
            name: name.to_string(),
            serial: facts.serial,
            cert_pem,
            cert_der,
            cert_path,
        })
    }
}

/// The subject public key info (DER) of the certificate `cert_der`: the key a certificate is
/// issued for when the key lives elsewhere (a remote provider's credential).
pub fn subject_public_key_info(cert_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(cert_der)
        .map_err(|e| PkiError::InvalidCertificate(e.to_string()))?;
    cert.tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| PkiError::InvalidCertificate(e.to_string()))
}
