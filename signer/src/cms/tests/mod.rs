//! Tests of the CMS module and their fixtures: a ward CA and an officer's signing
//! certificate made with rcgen, shaped like the ones the ward PKI issues.
//!
//! Why rcgen and not stored files: each test run gets fresh keys and validity periods
//! relative to "now", so no fixture expires and no key material lives in the tree.

mod bench;
mod failures;
mod openssl;
mod pades;
mod roundtrip;

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256, RevocationReason, RevokedCertParams, SerialNumber,
};
use time::{Duration, OffsetDateTime};

use super::{CmsSigner, TrustStore};

/// The officer's name, with the diacritics a ward certificate carries.
pub(super) const OFFICER: &str = "Nguyễn Thị Lan";
/// The officer certificate's serial number.
pub(super) const OFFICER_SERIAL: &[u8] = &[0x51, 0x9a, 0x02, 0x7c, 0x33];

/// A ward CA: its parameters, key and certificate.
pub(super) struct Ca {
    params: CertificateParams,
    key: KeyPair,
    /// The CA certificate, DER.
    pub(super) der: Vec<u8>,
    /// The CA certificate, PEM (for openssl's -CAfile).
    pub(super) pem: String,
}

/// An officer's key (PKCS#8 DER and PEM) and certificate (DER and PEM).
pub(super) struct Officer {
    pub(super) key_pkcs8: Vec<u8>,
    pub(super) key_pem: String,
    pub(super) cert_der: Vec<u8>,
    pub(super) cert_pem: String,
}

impl Ca {
    /// A self-signed P-256 CA: basic constraints CA, keyCertSign + cRLSign.
    pub(super) fn new(ward: &str) -> Self {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("CA key");
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "VN");
        dn.push(DnType::OrganizationName, ward);
        dn.push(DnType::CommonName, format!("CA {ward}"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = now() - Duration::days(3650);
        params.not_after = now() + Duration::days(3650);
        let cert = params.self_signed(&key).expect("CA certificate");
        Self {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            params,
            key,
        }
    }

    /// An intermediate CA issued by this one, without an EKU extension (as ward CAs
    /// are made).
    pub(super) fn issue_intermediate(&self, ward: &str) -> Ca {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("CA key");
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "VN");
        dn.push(DnType::OrganizationName, ward);
        dn.push(DnType::CommonName, format!("CA trung gian {ward}"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = now() - Duration::days(1000);
        params.not_after = now() + Duration::days(1000);
        let cert = params
            .signed_by(&key, &self.issuer())
            .expect("intermediate certificate");
        Ca {
            der: cert.der().to_vec(),
            pem: cert.pem(),
            params,
            key,
        }
    }

    /// An officer certificate: digitalSignature + contentCommitment, EKU
    /// emailProtection, CN with diacritics, valid from `not_before` to `not_after`.
    pub(super) fn issue(
        &self,
        serial: &[u8],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Officer {
        self.issue_with_eku(
            serial,
            not_before,
            not_after,
            vec![ExtendedKeyUsagePurpose::EmailProtection],
        )
    }

    /// Like [`Ca::issue`] with the given extended key usages.
    pub(super) fn issue_with_eku(
        &self,
        serial: &[u8],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        eku: Vec<ExtendedKeyUsagePurpose>,
    ) -> Officer {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("officer key");
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "VN");
        dn.push(DnType::OrganizationName, "UBND Phường Bến Nghé");
        dn.push(DnType::CommonName, OFFICER);
        params.distinguished_name = dn;
        params.serial_number = Some(SerialNumber::from_slice(serial));
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        params.extended_key_usages = eku;
        params.use_authority_key_identifier_extension = true;
        params.not_before = not_before;
        params.not_after = not_after;
        let cert = params
            .signed_by(&key, &self.issuer())
            .expect("officer certificate");
        Officer {
            key_pkcs8: key.serialize_der(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
        }
    }

    /// An officer certificate valid from a year ago to a year ahead.
    pub(super) fn issue_current(&self) -> Officer {
        self.issue(
            OFFICER_SERIAL,
            now() - Duration::days(365),
            now() + Duration::days(365),
        )
    }

    /// A CRL from this CA revoking `serials`, DER.
    pub(super) fn crl(&self, serials: &[&[u8]]) -> Vec<u8> {
        let params = CertificateRevocationListParams {
            this_update: now() - Duration::hours(1),
            next_update: now() + Duration::days(7),
            crl_number: SerialNumber::from_slice(&[1]),
            issuing_distribution_point: None,
            revoked_certs: serials
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(s),
                    revocation_time: now() - Duration::hours(2),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params
            .signed_by(&self.issuer())
            .expect("CRL")
            .der()
            .to_vec()
    }

    /// A trust store holding only this CA, without CRLs.
    pub(super) fn trust(&self) -> TrustStore {
        TrustStore {
            roots: vec![self.der.clone()],
            crls: Vec::new(),
        }
    }

    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

impl Officer {
    /// A signer for this officer with `ca` as its chain.
    pub(super) fn signer(&self, ca: &Ca) -> CmsSigner {
        CmsSigner::new(&self.key_pkcs8, self.cert_der.clone(), vec![ca.der.clone()])
            .expect("signer")
    }
}

/// The current time, whole seconds (signing-time has no fractions).
/// An outside tool's status and output, for assertion messages.
pub(super) fn show(out: &std::process::Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub(super) fn now() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(0).unwrap_or(t)
}

/// A short ward record with Vietnamese text, as the service signs them.
pub(super) fn record() -> Vec<u8> {
    "Giấy khai sinh số 0123/2025 — Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh\n"
        .repeat(3)
        .into_bytes()
}
