//! The certificate revocation list: why certificates are revoked, and `crl.pem` built from the
//! inventory.
//!
//! The CRL is always rebuilt in full from the inventory and signed by the CA: thisUpdate now,
//! nextUpdate in [`CRL_LIFETIME_DAYS`] days, a CRL number that only ever grows, the CA's key
//! identifier, and every revoked certificate with its reason (RFC 5280 wants `unspecified` left
//! out rather than written). Relying parties (`openssl verify -crl_check`, the signer service)
//! reject a CRL past its nextUpdate, so the CLI re-signs it with [`super::Pki::refresh_crl`].

use std::fmt;
use std::str::FromStr;

use der::Decode;
use der::asn1::OctetString;
use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, RevokedCertParams, SerialNumber,
};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, UtcOffset};
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::CrlNumber;

use super::error::PkiError;
use super::inventory::Inventory;
use super::store;

/// How long a CRL is valid (its nextUpdate).
pub const CRL_LIFETIME_DAYS: i64 = 7;

/// Why a certificate is revoked (RFC 5280 §5.3.1 reason codes signq uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationReason {
    /// No particular reason given (not written into the CRL, as RFC 5280 asks).
    Unspecified,
    /// The private key was, or may have been, disclosed.
    KeyCompromise,
    /// The holder changed post or left the Center.
    AffiliationChanged,
    /// A newer certificate replaces this one.
    Superseded,
    /// The service or person no longer needs the certificate.
    CessationOfOperation,
}

impl RevocationReason {
    /// Every reason, for help texts.
    pub const ALL: [RevocationReason; 5] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
    ];

    /// The kebab-case name, as on the command line and in the inventory.
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "key-compromise",
            RevocationReason::AffiliationChanged => "affiliation-changed",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessation-of-operation",
        }
    }

    /// The rcgen reason code.
    fn to_rcgen(self) -> rcgen::RevocationReason {
        match self {
            RevocationReason::Unspecified => rcgen::RevocationReason::Unspecified,
            RevocationReason::KeyCompromise => rcgen::RevocationReason::KeyCompromise,
            RevocationReason::AffiliationChanged => rcgen::RevocationReason::AffiliationChanged,
            RevocationReason::Superseded => rcgen::RevocationReason::Superseded,
            RevocationReason::CessationOfOperation => rcgen::RevocationReason::CessationOfOperation,
        }
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A revocation reason name that signq does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown revocation reason {0:?} (expected one of unspecified, key-compromise, affiliation-changed, superseded, cessation-of-operation)"
)]
pub struct UnknownRevocationReason(pub String);

impl FromStr for RevocationReason {
    type Err = UnknownRevocationReason;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RevocationReason::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRevocationReason(s.to_string()))
    }
}

/// Signs a CRL numbered `number` listing every revoked certificate of `inventory`; returns PEM.
///
/// `ca_key_id` is the CA certificate's subject key identifier, which becomes the CRL's authority
/// key identifier; without one, the SHA-256 method rcgen also uses for issued certificates.
pub(crate) fn build_crl(
    issuer: &Issuer<'_, KeyPair>,
    ca_key_id: Option<&[u8]>,
    number: u64,
    inventory: &Inventory,
) -> Result<String, PkiError> {
    let now = OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let mut revoked_certs = Vec::new();
    for entry in &inventory.certificates {
        let Some(revoked_at) = entry.revoked_at else {
            continue;
        };
        let revoked_at = revoked_at
            .checked_to_offset(UtcOffset::UTC)
            .filter(|t| t.year() >= 1 && t.year() <= 9999)
            .ok_or_else(|| {
                PkiError::Inventory(format!(
                    "revocation time of {} is out of range",
                    entry.serial
                ))
            })?;
        let reason = entry.reason.unwrap_or(RevocationReason::Unspecified);
        let serial = hex::decode(&entry.serial).map_err(|e| {
            PkiError::Inventory(format!("serial {:?} is not hex: {e}", entry.serial))
        })?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&serial),
            revocation_time: revoked_at,
            reason_code: Some(reason.to_rcgen()),
            invalidity_date: None,
        });
    }
    let params = CertificateRevocationListParams {
        this_update: now,
        next_update: now + Duration::days(CRL_LIFETIME_DAYS),
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: match ca_key_id {
            Some(id) => KeyIdMethod::PreSpecified(id.to_vec()),
            None => KeyIdMethod::Sha256,
        },
    };
    let crl = params.signed_by(issuer)?;
    Ok(crl.pem()?)
}

/// The CRL number of a DER CRL (0 if it has none).
pub(crate) fn crl_number(der: &[u8]) -> Result<u64, PkiError> {
    let crl = CertificateList::from_der(der)
        .map_err(|e| PkiError::Inventory(format!("{} does not parse: {e}", store::CRL_FILE)))?;
    let Some(ext) = crl
        .tbs_cert_list
        .crl_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == <CrlNumber as const_oid::AssociatedOid>::OID)
    else {
        return Ok(0);
    };
    let number = CrlNumber::from_der(OctetString::as_bytes(&ext.extn_value))
        .map_err(|e| PkiError::Inventory(format!("bad CRL number: {e}")))?;
    let bytes = number.0.as_bytes();
    if bytes.len() > 8 {
        return Err(PkiError::Inventory("CRL number exceeds 64 bits".into()));
    }
    Ok(bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_names_round_trip() {
        for r in RevocationReason::ALL {
            assert_eq!(r.as_str().parse::<RevocationReason>().ok(), Some(r));
            assert_eq!(
                serde_json::to_string(&r).ok(),
                Some(format!("\"{}\"", r.as_str()))
            );
        }
        assert!("keyCompromise".parse::<RevocationReason>().is_err());
    }
}
