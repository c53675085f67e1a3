//! The PKCS#11 back end: a signer's key on a token or an HSM, generated there ([`generate`]),
//! imported ([`import`]) or put there by the CA that issued its certificate ([`find`]), and never
//! exported (sensitive, not extractable). The keystore keeps only where the key is
//! ([`TokenKey`]: the module, the token's label, the key's id). The signer's PIN goes to the
//! token's own login, so the token counts wrong PINs and locks itself as its own policy says;
//! what its flags say of that counter is passed on ([`TokenError::WrongPin`]).
//!
//! Each module is loaded and initialised once per process (for OS locking, so sessions may run
//! on any thread); each batch opens its own session, logs in, and closes it when its
//! [`TokenSigner`] is dropped. A token pulled out in the middle of a batch makes the next
//! signature fail with [`KeyError::Unavailable`], and the batch with it: nothing of it is kept.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as P11Error, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use rand::RngCore;
use serde::{Deserialize, Serialize};

use super::{KeyError, SigningKey};

/// The DER of the named curve P-256 (prime256v1), as `CKA_EC_PARAMS` wants it.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// A SubjectPublicKeyInfo of an ECDSA P-256 key, up to its 65-byte point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// Bytes of a key's `CKA_ID`.
const ID_BYTES: usize = 16;

/// Where a signer's key is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenKey {
    /// The PKCS#11 module of the token's vendor (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The key's `CKA_ID`, hex.
    pub id: String,
}

/// Why a token could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The module could not be loaded or initialised.
    #[error("PKCS#11 module {module}: {reason}")]
    Module { module: String, reason: String },
    /// No token of that label is present (not plugged in).
    #[error("no token labelled {0:?} is present")]
    Absent(String),
    /// The token refused the PIN. `final_try`: it says one more wrong PIN locks it.
    #[error("the token refused the PIN{}", if *.final_try { "; one more wrong PIN locks the token" } else { "" })]
    WrongPin { final_try: bool },
    /// The token has locked its user PIN; only its security officer can unlock it.
    #[error(
        "the token has locked its PIN after too many wrong ones; its security officer must unlock it"
    )]
    PinLocked,
    /// The key is not on the token.
    #[error("no key with id {id} on token {token:?}")]
    NoKey { token: String, id: String },
    /// The token failed or went away.
    #[error("token {token:?}: {reason}")]
    Device { token: String, reason: String },
}

/// Every module loaded so far, by path: a module is initialised once per process.
fn modules() -> &'static Mutex<HashMap<PathBuf, Pkcs11>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    MODULES.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The module at `path`, loaded and initialised on first use.
fn module(path: &Path) -> Result<Pkcs11, TokenError> {
    let mut loaded = modules().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = loaded.get(path) {
        return Ok(found.clone());
    }
    let failed = |e: P11Error| TokenError::Module {
        module: path.display().to_string(),
        reason: e.to_string(),
    };
    let pkcs11 = Pkcs11::new(path).map_err(failed)?;
    match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(P11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(failed(e)),
    }
    loaded.insert(path.to_path_buf(), pkcs11.clone());
    Ok(pkcs11)
}

/// The slot holding the token labelled `label`.
fn slot(pkcs11: &Pkcs11, label: &str) -> Result<Slot, TokenError> {
    let device = device_error(label);
    for slot in pkcs11.get_slots_with_token().map_err(device)? {
        let info = pkcs11.get_token_info(slot).map_err(device)?;
        if info.label().trim_end() == label {
            return Ok(slot);
        }
    }
    Err(TokenError::Absent(label.to_string()))
}

/// What a failed call on the token labelled `token` becomes.
fn device_error(token: &str) -> impl Fn(P11Error) -> TokenError + Copy + '_ {
    move |e| TokenError::Device {
        token: token.to_string(),
        reason: e.to_string(),
    }
}

/// A fresh random `CKA_ID` for a key pair.
fn new_id() -> [u8; ID_BYTES] {
    let mut id = [0u8; ID_BYTES];
    rand::rng().fill_bytes(&mut id);
    id
}

/// Logs `session` in as the user with `pin`, turning the token's refusals into what they mean.
fn login(
    pkcs11: &Pkcs11,
    slot: Slot,
    session: &Session,
    label: &str,
    pin: &str,
) -> Result<(), TokenError> {
    match session.login(UserType::User, Some(&AuthPin::new(pin.into()))) {
        Ok(()) | Err(P11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(P11Error::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
            let final_try = pkcs11
                .get_token_info(slot)
                .is_ok_and(|info| info.user_pin_final_try());
            Err(TokenError::WrongPin { final_try })
        }
        Err(P11Error::Pkcs11(RvError::PinLocked, _)) => Err(TokenError::PinLocked),
        Err(e) => Err(TokenError::Device {
            token: label.to_string(),
            reason: e.to_string(),
        }),
    }
}

/// A session on the token labelled `token` of the module at `module_path` (read-write when
/// `write`), logged in as the user with `pin`.
fn logged_in(
    module_path: &Path,
    token: &str,
    pin: &str,
    write: bool,
) -> Result<Session, TokenError> {
    let pkcs11 = module(module_path)?;
    let slot = slot(&pkcs11, token)?;
    let device = device_error(token);
    let session = if write {
        pkcs11.open_rw_session(slot)
    } else {
        pkcs11.open_ro_session(slot)
    }
    .map_err(device)?;
    login(&pkcs11, slot, &session, token, pin)?;
    Ok(session)
}

/// Whether a failure means the token is gone or stopped answering, rather than a refusal.
fn gone(e: &P11Error) -> bool {
    matches!(
        e,
        P11Error::Pkcs11(
            RvError::DeviceRemoved
                | RvError::DeviceError
                | RvError::TokenNotPresent
                | RvError::SessionClosed
                | RvError::SessionHandleInvalid
                | RvError::DeviceMemory,
            _
        )
    )
}

/// Generates an ECDSA P-256 key pair on the token labelled `token` of `module`, logged in with
/// the user `pin`; the private key is sensitive and never extractable. `label` names the key on
/// the token (the signer id). Returns where it is and its SubjectPublicKeyInfo (DER), for the
/// certificate.
pub fn generate(
    module_path: &Path,
    token: &str,
    pin: &str,
    label: &str,
) -> Result<(TokenKey, Vec<u8>), TokenError> {
    let session = logged_in(module_path, token, pin, true)?;
    let device = device_error(token);
    let id = new_id();
    let public = [
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::KeyType(KeyType::EC),
        Attribute::Verify(true),
        Attribute::EcParams(P256_PARAMS.to_vec()),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.as_bytes().to_vec()),
    ];
    let private = [
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Id(id.to_vec()),
        Attribute::Label(label.as_bytes().to_vec()),
    ];
    let (public, _) = session
        .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private)
        .map_err(device)?;
    let point = ec_point(&session, public, token)?;
    let key = TokenKey {
        module: module_path.to_path_buf(),
        token: token.to_string(),
        id: hex::encode(id),
    };
    Ok((key, [&P256_SPKI_PREFIX[..], &point].concat()))
}

/// Finds, on the token labelled `token` of `module`, the key pair whose public key is `point`
/// (an uncompressed P-256 point, from the certificate a CA issued for a key it put on the token),
/// logged in with the user `pin`: where it is.
pub fn find(
    module_path: &Path,
    token: &str,
    pin: &str,
    point: &[u8],
) -> Result<TokenKey, TokenError> {
    let session = logged_in(module_path, token, pin, false)?;
    let device = device_error(token);
    let none = || TokenError::NoKey {
        token: token.to_string(),
        id: "of the certificate's public key".into(),
    };
    for public in session
        .find_objects(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
        ])
        .map_err(device)?
    {
        if ec_point(&session, public, token).ok().as_deref() != Some(point) {
            continue;
        }
        let attrs = session
            .get_attributes(public, &[AttributeType::Id])
            .map_err(device)?;
        let Some(Attribute::Id(id)) = attrs.into_iter().next() else {
            continue;
        };
        let private = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Id(id.clone()),
            ])
            .map_err(device)?;
        if !private.is_empty() {
            return Ok(TokenKey {
                module: module_path.to_path_buf(),
                token: token.to_string(),
                id: hex::encode(id),
            });
        }
    }
    Err(none())
}

/// Imports an ECDSA P-256 key (PKCS#8 DER) onto the token labelled `token` of `module`, logged in
/// with the user `pin`: from then on sensitive and never extractable. `label` names it on the
/// token. Returns where it is and its SubjectPublicKeyInfo (DER).
pub fn import(
    module_path: &Path,
    token: &str,
    pin: &str,
    label: &str,
    pkcs8: &[u8],
) -> Result<(TokenKey, Vec<u8>), TokenError> {
    use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8).map_err(|e| {
        TokenError::Device {
            token: token.to_string(),
            reason: format!("not an ECDSA P-256 PKCS#8 key: {e}"),
        }
    })?;
    let scalar: EcPrivateKeyBin<'_> =
        pair.private_key()
            .as_be_bytes()
            .map_err(|e| TokenError::Device {
                token: token.to_string(),
                reason: format!("reading the key: {e}"),
            })?;
    let point = pair.public_key().as_ref().to_vec();
    let session = logged_in(module_path, token, pin, true)?;
    let device = device_error(token);
    let id = new_id();
    // CKA_EC_POINT is the DER OCTET STRING of the point.
    let mut octets = vec![0x04, point.len() as u8];
    octets.extend_from_slice(&point);
    session
        .create_object(&[
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::EcParams(P256_PARAMS.to_vec()),
            Attribute::Value(scalar.as_ref().to_vec()),
            Attribute::Id(id.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(device)?;
    session
        .create_object(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(P256_PARAMS.to_vec()),
            Attribute::EcPoint(octets),
            Attribute::Id(id.to_vec()),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(device)?;
    let key = TokenKey {
        module: module_path.to_path_buf(),
        token: token.to_string(),
        id: hex::encode(id),
    };
    Ok((key, [&P256_SPKI_PREFIX[..], &point].concat()))
}

/// The uncompressed point of a public key object (`CKA_EC_POINT` is a DER OCTET STRING
/// holding it; some tokens give the bare point).
fn ec_point(session: &Session, public: ObjectHandle, token: &str) -> Result<Vec<u8>, TokenError> {
    let bad = |reason: String| TokenError::Device {
        token: token.to_string(),
        reason,
    };
    let attrs = session
        .get_attributes(public, &[AttributeType::EcPoint])
        .map_err(|e| bad(e.to_string()))?;
    let Some(Attribute::EcPoint(value)) = attrs.into_iter().next() else {
        return Err(bad("the public key has no EC point".into()));
    };
    match value.as_slice() {
        [0x04, 65, point @ ..] if point.len() == 65 && point[0] == 4 => Ok(point.to_vec()),
        point if point.len() == 65 && point[0] == 4 => Ok(point.to_vec()),
        _ => Err(bad(
            "the public key is not an uncompressed P-256 point".into()
        )),
    }
}

/// A key on a token, unlocked for one batch: a logged-in session that closes when dropped.
pub struct TokenSigner {
    session: Mutex<Session>,
    key: ObjectHandle,
    point: Vec<u8>,
    token: String,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

/// Opens a session on the token holding `key`, logs in with `pin` and finds the key.
pub fn unlock(key: &TokenKey, pin: &str) -> Result<TokenSigner, TokenError> {
    let session = logged_in(&key.module, &key.token, pin, false)?;
    let device = device_error(&key.token);
    let id = hex::decode(&key.id).map_err(|_| TokenError::NoKey {
        token: key.token.clone(),
        id: key.id.clone(),
    })?;
    let find = |class: ObjectClass| -> Result<ObjectHandle, TokenError> {
        let found = session
            .find_objects(&[Attribute::Class(class), Attribute::Id(id.clone())])
            .map_err(device)?;
        found.into_iter().next().ok_or_else(|| TokenError::NoKey {
            token: key.token.clone(),
            id: key.id.clone(),
        })
    };
    let private = find(ObjectClass::PRIVATE_KEY)?;
    let public = find(ObjectClass::PUBLIC_KEY)?;
    let point = ec_point(&session, public, &key.token)?;
    Ok(TokenSigner {
        session: Mutex::new(session),
        key: private,
        point,
        token: key.token.clone(),
    })
}

impl SigningKey for TokenSigner {
    fn public_point(&self) -> &[u8] {
        &self.point
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let hash = ring::digest::digest(&ring::digest::SHA256, message);
        let session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let raw = session
            .sign(&Mechanism::Ecdsa, self.key, hash.as_ref())
            .map_err(|e| {
                let what = format!("token {:?}: {e}", self.token);
                if gone(&e) {
                    KeyError::Unavailable(what)
                } else {
                    KeyError::Failed(what)
                }
            })?;
        der_signature(&raw).ok_or_else(|| {
            KeyError::Failed(format!(
                "token {:?} returned a {}-byte signature, not a P-256 one",
                self.token,
                raw.len()
            ))
        })
    }
}

/// The DER `Ecdsa-Sig-Value` of a raw `r ‖ s` signature (64 bytes for P-256).
fn der_signature(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.len() != 64 {
        return None;
    }
    let integer = |half: &[u8]| {
        let trimmed = match half.iter().position(|b| *b != 0) {
            Some(first) => &half[first..],
            None => &half[half.len() - 1..],
        };
        let pad = trimmed[0] & 0x80 != 0;
        let mut out = vec![0x02, (trimmed.len() + usize::from(pad)) as u8];
        if pad {
            out.push(0);
        }
        out.extend_from_slice(trimmed);
        out
    };
    let (r, s) = (integer(&raw[..32]), integer(&raw[32..]));
    let mut out = vec![0x30, (r.len() + s.len()) as u8];
    out.extend(r);
    out.extend(s);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::der_signature;

    #[test]
    fn raw_signatures_become_der_integers_without_excess_zeros_and_with_a_sign_byte() {
        let mut raw = [0u8; 64];
        raw[31] = 1; // r = 1
        raw[32] = 0x80; // s has its top bit set
        let der = der_signature(&raw).expect("64 bytes");
        assert_eq!(&der[..5], &[0x30, 0x26, 0x02, 0x01, 0x01]);
        assert_eq!(&der[5..8], &[0x02, 0x21, 0x00]);
        assert_eq!(der.len(), 2 + 3 + 35);
        assert!(der_signature(&[0; 63]).is_none());
    }
}
