//! What each kind of certificate contains: the CA, service (server and client) certificates and
//! signers' signing certificates.
//!
//! Roles, signer ids and wards travel as URI subject alternative names (see
//! [`signq_kit::identity`]) so that [`signq_kit::identity::PeerIdentity::from_der`] reads them
//! back and any X.509 tool can show them. Key usages and extended key usages are chosen so that
//! stock OpenSSL accepts each certificate for its purpose: `sslserver`/`sslclient` for services,
//! `smimesign` for signers (which `openssl cms -verify` checks by default).
//!
//! Every key is ECDSA P-256; every serial is random (RFC 5280 allows at most 20 octets, we use 16).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rand::RngCore;
use rcgen::string::Ia5String;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyIdMethod, KeyUsagePurpose, SanType, SerialNumber,
};
use serde::{Deserialize, Serialize};
use signq_kit::identity::{Role, SIGNER_URI_PREFIX, WARD_URI_PREFIX};
use time::macros::datetime;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::error::PkiError;
use super::names;

/// The organisational unit of every signing certificate: the ward's public administrative
/// service Center, whose director and deputies sign.
pub const SIGNER_ORGANIZATIONAL_UNIT: &str = "Trung tâm Phục vụ hành chính công";

/// The last instant an X.509 time (GeneralizedTime, four-digit year) can express.
pub(crate) const LAST_X509_INSTANT: OffsetDateTime = datetime!(9999-12-31 23:59:59 UTC);

/// The X.520 `title` attribute (2.5.4.12), which says whether a signer is director or deputy.
const TITLE_OID: [u64; 4] = [2, 5, 4, 12];

/// When a certificate starts and stops being valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// The first instant the certificate is valid.
    pub not_before: OffsetDateTime,
    /// The last instant the certificate is valid.
    pub not_after: OffsetDateTime,
}

impl Validity {
    /// Valid from five minutes ago (tolerating clock skew between machines) until `days` days
    /// from now (at the latest the end of year 9999, the last instant X.509 can express).
    pub fn days_from_now(days: u32) -> Self {
        let now = OffsetDateTime::now_utc();
        Validity {
            not_before: now - Duration::minutes(5),
            not_after: now
                .checked_add(Duration::days(i64::from(days)))
                .map_or(LAST_X509_INSTANT, |t| t.min(LAST_X509_INSTANT)),
        }
    }

    /// The same period in UTC, truncated to whole seconds as certificates store it; fails with
    /// [`PkiError::InvalidValidity`] if it ends before it starts or lies outside the years 1 to
    /// 9999.
    pub(crate) fn checked(self) -> Result<Validity, PkiError> {
        let invalid = PkiError::InvalidValidity {
            not_before: self.not_before,
            not_after: self.not_after,
        };
        let norm = |t: OffsetDateTime| -> Option<OffsetDateTime> {
            let t = t.checked_to_offset(UtcOffset::UTC)?;
            let t = t.replace_nanosecond(0).unwrap_or(t);
            (t.year() >= 1 && t <= LAST_X509_INSTANT).then_some(t)
        };
        let (Some(not_before), Some(not_after)) = (norm(self.not_before), norm(self.not_after))
        else {
            return Err(invalid);
        };
        if not_after <= not_before {
            return Err(invalid);
        }
        Ok(Validity {
            not_before,
            not_after,
        })
    }
}

/// The ward a PKI serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WardInfo {
    /// The ward's short id, as in URIs and signer ids, e.g. `cat-lai`.
    pub id: String,
    /// The ward's name as people write it, e.g. `Phường Cát Lái`.
    pub name: String,
}

/// Who a signing certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerSpec {
    /// The signer's id, `<ward id>/<person>`, e.g. `cat-lai/deputy-1`.
    pub signer_id: String,
    /// The signer's full name, with diacritics, e.g. `Nguyễn Thị Lan`; the certificate's CN.
    pub display_name: String,
    /// [`Role::Director`] or [`Role::Deputy`].
    pub role: Role,
    /// The ward the signer works for.
    pub ward: WardInfo,
}

/// The kinds of certificate the ward CA issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CertKind {
    /// A TLS server certificate that also authenticates its holder as a client (scheduler,
    /// signer service).
    Server,
    /// A TLS client certificate (scheduler, intake, operator).
    Client,
    /// A director's or deputy's document-signing certificate.
    Signer,
    /// A TLS client certificate of a device (a tablet) enrolled for one director or deputy.
    Device,
    /// The certificate of the signing service's timestamp authority (RFC 3161).
    Timestamping,
}

impl CertKind {
    /// The kind's name, as in the inventory.
    pub fn as_str(self) -> &'static str {
        match self {
            CertKind::Server => "server",
            CertKind::Client => "client",
            CertKind::Signer => "signer",
            CertKind::Device => "device",
            CertKind::Timestamping => "timestamping",
        }
    }

    /// Whether a certificate of this kind may carry `role`.
    pub fn allows(self, role: Role) -> bool {
        match self {
            CertKind::Server => matches!(role, Role::Scheduler | Role::SignerService),
            CertKind::Client => matches!(role, Role::Scheduler | Role::Intake | Role::Operator),
            CertKind::Signer => role.is_signer(),
            CertKind::Device => role == Role::Device,
            CertKind::Timestamping => role == Role::SignerService,
        }
    }

    /// Fails with [`PkiError::WrongRoleForKind`] unless this kind may carry `role`.
    pub(crate) fn check_role(self, role: Role) -> Result<(), PkiError> {
        if self.allows(role) {
            Ok(())
        } else {
            Err(PkiError::WrongRoleForKind { role, kind: self })
        }
    }
}

impl fmt::Display for CertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// A fresh random serial: 16 octets, positive, with the top octet in `0x40..=0x7f` so that its
/// DER encoding (and hence its hex form everywhere) is always exactly these 16 octets.
pub(crate) fn random_serial() -> [u8; 16] {
    let mut serial = [0u8; 16];
    rand::rng().fill_bytes(&mut serial);
    serial[0] = (serial[0] & 0x7f) | 0x40;
    serial
}

/// The CA: CN "<ward> signq CA", O ward; CA with path length 0; keyCertSign + cRLSign; subject
/// key identifier.
pub(crate) fn ca_params(
    ward: &WardInfo,
    validity: Validity,
) -> Result<CertificateParams, PkiError> {
    names::validate_name(&ward.id)?;
    names::validate_subject_text("ward name", &ward.name)?;
    let validity = validity.checked()?;
    let mut params = CertificateParams::default();
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(SerialNumber::from_slice(&random_serial()));
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ward.name.as_str());
    dn.push(DnType::CommonName, format!("{} signq CA", ward.name));
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.key_identifier_method = KeyIdMethod::Sha256;
    Ok(params)
}

/// What every end-entity certificate shares: validity, serial, CA:FALSE, subject and authority
/// key identifiers.
fn leaf_params(validity: Validity, serial: &[u8]) -> Result<CertificateParams, PkiError> {
    let validity = validity.checked()?;
    let mut params = CertificateParams::default();
    params.not_before = validity.not_before;
    params.not_after = validity.not_after;
    params.serial_number = Some(SerialNumber::from_slice(serial));
    params.is_ca = IsCa::ExplicitNoCa;
    params.use_authority_key_identifier_extension = true;
    params.key_identifier_method = KeyIdMethod::Sha256;
    Ok(params)
}

/// A subject with only a common name.
fn cn_only(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// A URI subject alternative name.
fn uri(value: String) -> Result<SanType, PkiError> {
    Ok(SanType::URI(Ia5String::try_from(value)?))
}

/// A server certificate: CN name; serverAuth and clientAuth; digitalSignature; SANs localhost,
/// 127.0.0.1, ::1, the given DNS names and IPs, and the role URI.
pub(crate) fn server_params(
    name: &str,
    role: Role,
    dns_names: &[String],
    ips: &[IpAddr],
    validity: Validity,
    serial: &[u8],
) -> Result<CertificateParams, PkiError> {
    names::validate_name(name)?;
    CertKind::Server.check_role(role)?;
    let mut params = leaf_params(validity, serial)?;
    params.distinguished_name = cn_only(name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let mut dns = vec!["localhost".to_string()];
    for d in dns_names {
        let d = names::normalise_dns_name(d)?;
        if !dns.contains(&d) {
            dns.push(d);
        }
    }
    let mut all_ips: Vec<IpAddr> = vec![Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()];
    for ip in ips {
        if !all_ips.contains(ip) {
            all_ips.push(*ip);
        }
    }
    let mut sans = Vec::with_capacity(dns.len() + all_ips.len() + 1);
    for d in dns {
        sans.push(SanType::DnsName(Ia5String::try_from(d)?));
    }
    sans.extend(all_ips.into_iter().map(SanType::IpAddress));
    sans.push(uri(role.uri())?);
    params.subject_alt_names = sans;
    Ok(params)
}

/// A client certificate: CN name; clientAuth; digitalSignature; SANs the role URI and a ward URI
/// for each ward the holder may act for (an intake system acts only for the wards it names).
pub(crate) fn client_params(
    name: &str,
    role: Role,
    wards: &[String],
    validity: Validity,
    serial: &[u8],
) -> Result<CertificateParams, PkiError> {
    names::validate_name(name)?;
    CertKind::Client.check_role(role)?;
    let mut params = leaf_params(validity, serial)?;
    params.distinguished_name = cn_only(name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let mut sans = vec![uri(role.uri())?];
    for ward in wards {
        names::validate_name(ward)?;
        sans.push(uri(format!("{WARD_URI_PREFIX}{ward}"))?);
    }
    params.subject_alt_names = sans;
    Ok(params)
}

/// A device certificate: CN the device's name; clientAuth; digitalSignature; SANs the device role
/// and the URIs of the one signer it is enrolled for and of that signer's ward.
pub(crate) fn device_params(
    name: &str,
    signer_id: &str,
    ward: &str,
    validity: Validity,
    serial: &[u8],
) -> Result<CertificateParams, PkiError> {
    names::validate_name(name)?;
    names::validate_name(signer_id)?;
    names::validate_name(ward)?;
    let mut params = leaf_params(validity, serial)?;
    params.distinguished_name = cn_only(name);
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.subject_alt_names = vec![
        uri(Role::Device.uri())?,
        uri(format!("{SIGNER_URI_PREFIX}{signer_id}"))?,
        uri(format!("{WARD_URI_PREFIX}{ward}"))?,
    ];
    Ok(params)
}

/// A signing certificate: O ward, OU the Center, title director/deputy, CN the person's name;
/// digitalSignature + nonRepudiation (critical); emailProtection; SANs the signer, role and ward
/// URIs.
pub(crate) fn signer_params(
    spec: &SignerSpec,
    validity: Validity,
    serial: &[u8],
) -> Result<CertificateParams, PkiError> {
    names::validate_name(&spec.signer_id)?;
    names::validate_name(&spec.ward.id)?;
    names::validate_subject_text("display name", &spec.display_name)?;
    names::validate_subject_text("ward name", &spec.ward.name)?;
    CertKind::Signer.check_role(spec.role)?;
    let mut params = leaf_params(validity, serial)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, spec.ward.name.as_str());
    dn.push(DnType::OrganizationalUnitName, SIGNER_ORGANIZATIONAL_UNIT);
    dn.push(DnType::CustomDnType(TITLE_OID.to_vec()), spec.role.as_str());
    dn.push(DnType::CommonName, spec.display_name.as_str());
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::EmailProtection];
    params.subject_alt_names = vec![
        uri(format!("{SIGNER_URI_PREFIX}{}", spec.signer_id))?,
        uri(spec.role.uri())?,
        uri(format!("{WARD_URI_PREFIX}{}", spec.ward.id))?,
    ];
    Ok(params)
}

/// `id-ce-extKeyUsage` (2.5.29.37).
const ID_CE_EXT_KEY_USAGE: [u64; 4] = [2, 5, 29, 37];

/// A timestamp authority's certificate: O ward, CN "<ward> signq timestamping"; digitalSignature
/// and nonRepudiation; an extended key usage of timeStamping alone, critical, as RFC 3161 (2.3)
/// requires and `openssl ts -verify` checks. No role: it authenticates nobody over TLS.
pub(crate) fn timestamping_params(
    ward_name: &str,
    validity: Validity,
    serial: &[u8],
) -> Result<CertificateParams, PkiError> {
    names::validate_subject_text("ward name", ward_name)?;
    let mut params = leaf_params(validity, serial)?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, ward_name);
    dn.push(
        DnType::CommonName,
        format!("{ward_name} signq timestamping"),
    );
    params.distinguished_name = dn;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    // ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId: id-kp-timeStamping
    // (1.3.6.1.5.5.7.3.8) alone.
    let mut eku = rcgen::CustomExtension::from_oid_content(
        &ID_CE_EXT_KEY_USAGE,
        vec![
            0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08,
        ],
    );
    eku.set_criticality(true);
    params.custom_extensions = vec![eku];
    Ok(params)
}
