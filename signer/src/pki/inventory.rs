//! `inventory.json`: the record of every certificate the CA has issued, and the next CRL number.
//!
//! The CRL is rebuilt from this record, so revoking a certificate needs its serial here; that is
//! why issuing writes the inventory *before* the certificate file (a crash in between leaves a
//! listed certificate that was never handed out, never an unlisted one that cannot be revoked).
//! Times are RFC 3339 strings so that the file stays readable by people and by `jq`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use signq_kit::identity::Role;
use time::OffsetDateTime;

use super::crl::RevocationReason;
use super::error::PkiError;
use super::profiles::CertKind;
use super::store;

/// The format version written into `inventory.json`.
const INVENTORY_VERSION: u32 = 1;

/// One certificate the CA has issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryEntry {
    /// The serial number, lowercase hex without separators (as
    /// [`signq_kit::identity::PeerIdentity::serial`]).
    pub serial: String,
    /// The certificate's name: the service name, or the signer id for a signing certificate.
    pub name: String,
    /// What kind of certificate it is.
    pub kind: CertKind,
    /// The role it grants.
    #[serde(with = "role_name")]
    pub role: Role,
    /// The subject, RFC 4514 text (e.g. `CN=Nguyễn Thị Lan,TITLE=deputy,...`).
    pub subject: String,
    /// Start of validity.
    #[serde(with = "rfc3339")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "rfc3339")]
    pub not_after: OffsetDateTime,
    /// Where the certificate was written, relative to the PKI directory (`issued/<name>.crt.pem`).
    pub cert_path: PathBuf,
    /// When it was revoked, if it was.
    #[serde(default, with = "rfc3339_opt")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Why it was revoked, if it was.
    #[serde(default)]
    pub reason: Option<RevocationReason>,
}

/// The whole inventory file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Inventory {
    /// The format version.
    pub(crate) version: u32,
    /// The CRL number the next CRL will carry.
    pub(crate) next_crl_number: u64,
    /// Every certificate issued, oldest first.
    pub(crate) certificates: Vec<InventoryEntry>,
}

impl Inventory {
    /// An empty inventory whose first CRL will be number 1.
    pub(crate) fn new() -> Self {
        Inventory {
            version: INVENTORY_VERSION,
            next_crl_number: 1,
            certificates: Vec::new(),
        }
    }

    /// Reads `dir/inventory.json`.
    pub(crate) fn load(dir: &Path) -> Result<Self, PkiError> {
        let path = dir.join(store::INVENTORY_FILE);
        let text = store::read_text(&path, || {
            PkiError::Inventory(format!("{} is missing", path.display()))
        })?;
        let inventory: Inventory = serde_json::from_str(&text)
            .map_err(|e| PkiError::Inventory(format!("{}: {e}", path.display())))?;
        if inventory.version != INVENTORY_VERSION {
            return Err(PkiError::Inventory(format!(
                "{}: unsupported version {} (expected {INVENTORY_VERSION})",
                path.display(),
                inventory.version
            )));
        }
        Ok(inventory)
    }

    /// Writes `dir/inventory.json` atomically.
    pub(crate) fn save(&self, dir: &Path) -> Result<(), PkiError> {
        let mut json = serde_json::to_string_pretty(self)
            .map_err(|e| PkiError::Inventory(format!("cannot serialise: {e}")))?;
        json.push('\n');
        store::write_public(&dir.join(store::INVENTORY_FILE), json.as_bytes())
    }

    /// The index of the certificate `serial_or_name` designates for revocation.
    ///
    /// A serial (hex, any case, colons allowed) is tried first, then a name. A name designates its
    /// only unrevoked certificate; if all its certificates are revoked the answer is
    /// [`PkiError::AlreadyRevoked`], if several are not it is [`PkiError::AmbiguousName`].
    pub(crate) fn find_for_revocation(&self, serial_or_name: &str) -> Result<usize, PkiError> {
        let wanted = serial_or_name.trim();
        let as_serial = wanted.replace(':', "").to_ascii_lowercase();
        if let Some(i) = self
            .certificates
            .iter()
            .position(|e| !as_serial.is_empty() && e.serial == as_serial)
        {
            if self.certificates[i].revoked_at.is_some() {
                return Err(PkiError::AlreadyRevoked(as_serial));
            }
            return Ok(i);
        }
        let named: Vec<usize> = (0..self.certificates.len())
            .filter(|&i| self.certificates[i].name == wanted)
            .collect();
        if named.is_empty() {
            return Err(PkiError::UnknownCertificate(wanted.to_string()));
        }
        let live: Vec<usize> = named
            .into_iter()
            .filter(|&i| self.certificates[i].revoked_at.is_none())
            .collect();
        match live.as_slice() {
            [] => Err(PkiError::AlreadyRevoked(wanted.to_string())),
            [i] => Ok(*i),
            many => Err(PkiError::AmbiguousName {
                name: wanted.to_string(),
                serials: many
                    .iter()
                    .map(|&i| self.certificates[i].serial.clone())
                    .collect(),
            }),
        }
    }
}

/// Serde for [`Role`] as its name.
mod role_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use signq_kit::identity::Role;

    pub(super) fn serialize<S: Serializer>(role: &Role, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(role.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Role, D::Error> {
        let name = String::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// Serde for [`OffsetDateTime`] as RFC 3339 text.
mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub(super) fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        let text = t.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)
    }
}

/// Serde for `Option<OffsetDateTime>` as RFC 3339 text or null.
mod rfc3339_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    pub(super) fn serialize<S: Serializer>(
        t: &Option<OffsetDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => {
                let text = t.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
                s.serialize_some(&text)
            }
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => OffsetDateTime::parse(&text, &Rfc3339)
                .map(Some)
                .map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(serial: &str, name: &str, revoked: bool) -> InventoryEntry {
        InventoryEntry {
            serial: serial.to_string(),
            name: name.to_string(),
            kind: CertKind::Client,
            role: Role::Operator,
            subject: format!("CN={name}"),
            not_before: OffsetDateTime::UNIX_EPOCH,
            not_after: OffsetDateTime::UNIX_EPOCH + time::Duration::days(1),
            cert_path: PathBuf::from(format!("issued/{name}.crt.pem")),
            revoked_at: revoked.then_some(OffsetDateTime::UNIX_EPOCH),
            reason: revoked.then_some(RevocationReason::Superseded),
        }
    }

    #[test]
    fn json_round_trip_and_lookup() {
        let mut inv = Inventory::new();
        inv.certificates.push(entry("4a01", "ops", true));
        inv.certificates.push(entry("4a02", "ops", false));
        inv.certificates.push(entry("4a03", "dup", false));
        inv.certificates.push(entry("4a04", "dup", false));
        let json = serde_json::to_string(&inv).unwrap_or_default();
        let back: Inventory = serde_json::from_str(&json).expect("parse");
        assert_eq!(back.certificates, inv.certificates);

        assert_eq!(inv.find_for_revocation("4A:02").ok(), Some(1));
        assert_eq!(inv.find_for_revocation("ops").ok(), Some(1));
        assert!(matches!(
            inv.find_for_revocation("4a01"),
            Err(PkiError::AlreadyRevoked(_))
        ));
        assert!(matches!(
            inv.find_for_revocation("dup"),
            Err(PkiError::AmbiguousName { .. })
        ));
        assert!(matches!(
            inv.find_for_revocation("nobody"),
            Err(PkiError::UnknownCertificate(_))
        ));
    }
}
