//! The ward CA itself: creating one, checking an imported one, and turning its certificate and
//! key into an rcgen [`Issuer`].
//!
//! An imported CA (made with OpenSSL or another tool) must really be able to act as signq's CA:
//! basic constraints `CA:TRUE`, key usage (when present) allowing keyCertSign and cRLSign, a
//! subject rcgen can copy into issued certificates, and a private key that matches its public
//! key. These checks run on `import`, and the key match again on every `open`, so that a swapped
//! file is caught before anything is signed.

use der::Decode;
use rcgen::{Issuer, KeyPair, PKCS_ECDSA_P256_SHA256};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, SubjectKeyIdentifier};
use zeroize::Zeroizing;

use super::error::PkiError;
use super::profiles::{self, Validity, WardInfo};
use super::store;

/// The PEM label of a plain PKCS#8 private key.
const PKCS8_LABEL: &str = "PRIVATE KEY";
/// The PEM label of an encrypted PKCS#8 private key.
const ENCRYPTED_PKCS8_LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// What the PKI needs to know about a parsed certificate.
#[derive(Debug, Clone)]
pub(crate) struct CertFacts {
    /// The serial, lowercase hex of its DER content octets.
    pub(crate) serial: String,
    /// The subject, RFC 4514 text.
    pub(crate) subject: String,
    /// The cA flag of basic constraints (`None` without the extension).
    pub(crate) is_ca: Option<bool>,
    /// The key usage extension, if present.
    pub(crate) key_usage: Option<KeyUsage>,
    /// The subject key identifier, if present.
    pub(crate) key_id: Option<Vec<u8>>,
    /// The raw subjectPublicKey bits.
    pub(crate) public_key: Vec<u8>,
    /// End of validity.
    pub(crate) not_after: OffsetDateTime,
    /// Whether every RDN of the subject holds exactly one attribute (rcgen needs this to copy it).
    pub(crate) simple_subject: bool,
}

/// Parses a DER certificate into the facts the PKI checks.
pub(crate) fn inspect(der: &[u8]) -> Result<CertFacts, PkiError> {
    let bad = |what: &str, e: der::Error| PkiError::InvalidCertificate(format!("{what}: {e}"));
    let cert = Certificate::from_der(der).map_err(|e| bad("does not parse", e))?;
    let tbs = &cert.tbs_certificate;
    let mut facts = CertFacts {
        serial: hex::encode(tbs.serial_number.as_bytes()),
        subject: tbs.subject.to_string(),
        is_ca: None,
        key_usage: None,
        key_id: None,
        public_key: tbs
            .subject_public_key_info
            .subject_public_key
            .raw_bytes()
            .to_vec(),
        not_after: OffsetDateTime::from(tbs.validity.not_after.to_system_time()),
        simple_subject: tbs.subject.0.iter().all(|rdn| rdn.0.len() == 1),
    };
    for ext in tbs.extensions.iter().flatten() {
        let value = ext.extn_value.as_bytes();
        if ext.extn_id == <BasicConstraints as const_oid::AssociatedOid>::OID {
            let bc =
                BasicConstraints::from_der(value).map_err(|e| bad("bad basic constraints", e))?;
            facts.is_ca = Some(bc.ca);
        } else if ext.extn_id == <KeyUsage as const_oid::AssociatedOid>::OID {
            facts.key_usage = Some(KeyUsage::from_der(value).map_err(|e| bad("bad key usage", e))?);
        } else if ext.extn_id == <SubjectKeyIdentifier as const_oid::AssociatedOid>::OID {
            let ski = SubjectKeyIdentifier::from_der(value)
                .map_err(|e| bad("bad subject key identifier", e))?;
            facts.key_id = Some(ski.0.as_bytes().to_vec());
        }
    }
    Ok(facts)
}

/// Fails with [`PkiError::NotACa`] unless the certificate can issue certificates and CRLs now.
pub(crate) fn check_is_ca(facts: &CertFacts) -> Result<(), PkiError> {
    match facts.is_ca {
        Some(true) => {}
        Some(false) => return Err(PkiError::NotACa("basic constraints say CA:FALSE".into())),
        None => return Err(PkiError::NotACa("no basic constraints extension".into())),
    }
    if let Some(ku) = &facts.key_usage {
        if !ku.key_cert_sign() {
            return Err(PkiError::NotACa("key usage lacks keyCertSign".into()));
        }
        if !ku.crl_sign() {
            return Err(PkiError::NotACa("key usage lacks cRLSign".into()));
        }
    }
    if facts.not_after <= OffsetDateTime::now_utc() {
        return Err(PkiError::NotACa(format!(
            "it expired on {}",
            facts.not_after
        )));
    }
    if !facts.simple_subject {
        return Err(PkiError::NotACa(
            "its subject has multi-valued RDNs, which signq cannot copy as an issuer name".into(),
        ));
    }
    Ok(())
}

/// Fails with [`PkiError::KeyDoesNotMatchCertificate`] unless `key` is the certificate's key.
pub(crate) fn check_key_matches(key: &KeyPair, facts: &CertFacts) -> Result<(), PkiError> {
    if key.public_key_raw() == facts.public_key.as_slice() {
        Ok(())
    } else {
        Err(PkiError::KeyDoesNotMatchCertificate)
    }
}

/// Loads a PKCS#8 DER key into rcgen.
pub(crate) fn key_pair(pkcs8_der: &[u8]) -> Result<KeyPair, PkiError> {
    KeyPair::try_from(pkcs8_der).map_err(|e| {
        PkiError::InvalidKey(format!(
            "not a PKCS#8 ECDSA P-256/P-384, Ed25519 or RSA key signq can sign with ({e})"
        ))
    })
}

/// The PKCS#8 DER of a PEM key given to `import`: plain `PRIVATE KEY`, or `ENCRYPTED PRIVATE KEY`
/// opened with `password`.
pub(crate) fn import_key_der(
    pem: &str,
    password: Option<&[u8]>,
) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    if let Some(block) = store::pem_block(pem, ENCRYPTED_PKCS8_LABEL) {
        let password = password.ok_or(PkiError::KeyPasswordRequired)?;
        let der = signq_kit::keyfile::decrypt_pem(
            block,
            password,
            std::path::Path::new("<imported CA key>"),
        )?;
        return Ok(der);
    }
    if let Some(der) = store::pem_decode(pem, PKCS8_LABEL) {
        return Ok(Zeroizing::new(der));
    }
    for legacy in ["EC PRIVATE KEY", "RSA PRIVATE KEY"] {
        if store::pem_block(pem, legacy).is_some() {
            return Err(PkiError::InvalidKey(format!(
                "{legacy:?} is not PKCS#8; convert it with `openssl pkcs8 -topk8 -in KEY -out KEY.p8`"
            )));
        }
    }
    Err(PkiError::InvalidKey(
        "no \"PRIVATE KEY\" or \"ENCRYPTED PRIVATE KEY\" PEM block".into(),
    ))
}

/// The DER of the first `CERTIFICATE` PEM block.
pub(crate) fn cert_der_from_pem(pem: &str) -> Result<Vec<u8>, PkiError> {
    store::pem_decode(pem, "CERTIFICATE")
        .ok_or_else(|| PkiError::InvalidCertificate("no CERTIFICATE PEM block".into()))
}

/// A new self-signed ward CA: its key and its certificate DER.
pub(crate) fn generate(
    ward: &WardInfo,
    validity: Validity,
) -> Result<(KeyPair, Vec<u8>), PkiError> {
    let params = profiles::ca_params(ward, validity)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;
    Ok((key, cert.der().to_vec()))
}

/// The rcgen issuer for a CA certificate and its key (subject, key usages and key identifier
/// copied from the certificate).
pub(crate) fn issuer(cert_der: &[u8], key: KeyPair) -> Result<Issuer<'static, KeyPair>, PkiError> {
    Issuer::from_ca_cert_der(&CertificateDer::from(cert_der), key)
        .map_err(|e| PkiError::InvalidCertificate(format!("cannot use it as an issuer: {e}")))
}

/// The PEM of a certificate DER that [`inspect`] accepted (which rejects trailing bytes).
pub(crate) fn cert_pem(der: &[u8]) -> Result<String, PkiError> {
    store::pem_encode("CERTIFICATE", der)
}

/// The organisation (O) a certificate's subject names: for the ward CA, the ward's name.
pub(crate) fn organisation(der: &[u8]) -> Option<String> {
    let cert = Certificate::from_der(der).ok()?;
    let o = const_oid::db::rfc4519::O;
    cert.tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|attr| attr.oid == o)
        .and_then(|attr| {
            attr.value
                .decode_as::<der::asn1::Utf8StringRef<'_>>()
                .map(|s| s.as_str().to_string())
                .or_else(|_| {
                    attr.value
                        .decode_as::<der::asn1::PrintableStringRef<'_>>()
                        .map(|s| s.as_str().to_string())
                })
                .ok()
        })
}
