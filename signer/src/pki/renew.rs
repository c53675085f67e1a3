//! Renewing a certificate before it expires: the same name, kind, role, wards and addresses, a
//! new key, serial and validity. What a certificate grants is read back from the certificate in
//! use (its subject alternative names), so a renewal grants exactly what the old one did.
//!
//! Only the certificates of services and intake systems are renewed here. A signer's certificate
//! goes with a key only its PIN opens (`signq pki signer` issues it again), a tablet's with a
//! PKCS#12 file for the device (`signq pki device`), the timestamp authority's with a key the
//! signing service holds (`signq pki timestamping`).

use std::net::IpAddr;

use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;

use super::inventory::Inventory;
use super::profiles::{CertKind, Validity};
use super::{InventoryEntry, IssuedCert, NewKey, Pki, PkiError, store};

/// The addresses every server certificate carries anyway (`profiles::server_params` adds them).
const ALWAYS_DNS: [&str; 1] = ["localhost"];

impl Pki {
    /// The newest certificate of each name that is not revoked, oldest name first.
    pub fn current(&self) -> Result<Vec<InventoryEntry>, PkiError> {
        let mut newest: Vec<InventoryEntry> = Vec::new();
        for entry in Inventory::load(self.dir())?.certificates {
            if entry.revoked_at.is_some() {
                continue;
            }
            match newest.iter_mut().find(|e| e.name == entry.name) {
                Some(e) if e.not_before <= entry.not_before => *e = entry,
                Some(_) => {}
                None => newest.push(entry),
            }
        }
        Ok(newest)
    }

    /// The certificates of services and intake systems that expire before `by` (not revoked;
    /// the newest of each name).
    pub fn expiring(&self, by: OffsetDateTime) -> Result<Vec<InventoryEntry>, PkiError> {
        Ok(self
            .current()?
            .into_iter()
            .filter(|e| renewable(e.kind) && e.not_after < by)
            .collect())
    }

    /// Issues the certificate `name` again for `validity`, granting what the one in use
    /// grants, with a new key. Fails with [`PkiError::UnknownCertificate`] if no certificate of
    /// that name is in use, and [`PkiError::NotRenewable`] for a kind renewed elsewhere.
    pub fn renew(&self, name: &str, validity: Validity) -> Result<(IssuedCert, NewKey), PkiError> {
        let entry = self
            .current()?
            .into_iter()
            .find(|e| e.name == name)
            .ok_or_else(|| PkiError::UnknownCertificate(name.to_string()))?;
        let path = self.dir().join(&entry.cert_path);
        let text = store::read_text(&path, || {
            PkiError::Inventory(format!("{} is missing", path.display()))
        })?;
        let der = store::pem_decode(&text, "CERTIFICATE").ok_or_else(|| {
            PkiError::InvalidCertificate(format!("{} holds none", path.display()))
        })?;
        let granted = Granted::read(&der)?;
        match entry.kind {
            CertKind::Server => {
                let dns: Vec<String> = granted
                    .dns
                    .into_iter()
                    .filter(|d| !ALWAYS_DNS.contains(&d.as_str()))
                    .collect();
                let ips: Vec<IpAddr> = granted
                    .ips
                    .into_iter()
                    .filter(|ip| !ip.is_loopback())
                    .collect();
                self.issue_server(name, entry.role, &dns, &ips, validity)
            }
            CertKind::Client => self.issue_client(name, entry.role, &granted.wards, validity),
            kind => Err(PkiError::NotRenewable {
                name: name.to_string(),
                how: match kind {
                    CertKind::Signer => "`signq pki signer` issues it again with the signer's PIN",
                    CertKind::Device => "`signq pki device` issues it again with the tablet's file",
                    _ => "`signq pki timestamping` issues it again for the signing service",
                },
            }),
        }
    }
}

/// Whether [`Pki::renew`] renews certificates of this kind.
fn renewable(kind: CertKind) -> bool {
    matches!(kind, CertKind::Server | CertKind::Client)
}

/// What a certificate grants beyond its role: names, addresses, wards.
struct Granted {
    dns: Vec<String>,
    ips: Vec<IpAddr>,
    wards: Vec<String>,
}

impl Granted {
    fn read(der: &[u8]) -> Result<Granted, PkiError> {
        let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der)
            .map_err(|e| PkiError::InvalidCertificate(e.to_string()))?;
        let identity = signq_kit::identity::PeerIdentity::from_der(der)
            .map_err(|e| PkiError::InvalidCertificate(e.to_string()))?;
        let mut granted = Granted {
            dns: Vec::new(),
            ips: Vec::new(),
            wards: identity.wards,
        };
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(d) => granted.dns.push(d.to_string()),
                    GeneralName::IPAddress(bytes) => {
                        let ip = match bytes.len() {
                            4 => <[u8; 4]>::try_from(*bytes).ok().map(IpAddr::from),
                            16 => <[u8; 16]>::try_from(*bytes).ok().map(IpAddr::from),
                            _ => None,
                        };
                        granted.ips.extend(ip);
                    }
                    _ => {}
                }
            }
        }
        Ok(granted)
    }
}
