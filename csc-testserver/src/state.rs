//! What the provider knows: its client, the access tokens it issued, its credentials, the
//! authorisations waiting for a person, and the SADs it issued, each bound to the hashes it
//! authorises and to a number of signatures, and spent as they are signed.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lc_rs::digest::{Digest, SHA256};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use rand::RngCore;

use super::Config;

/// How long an access token lasts.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// A credential the provider holds: a person's key and certificate.
#[derive(Clone)]
pub struct Credential {
    /// Its `credentialID`.
    pub id: String,
    /// The user it belongs to (`userID` in `credentials/list`).
    pub user_id: String,
    /// The ECDSA P-256 key, PKCS#8 DER.
    pub key_pkcs8: Vec<u8>,
    /// Its certificate first, then the chain, DER.
    pub certificates: Vec<Vec<u8>>,
    /// How many signatures one authorisation may cover (`multisign`).
    pub multisign: u32,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// An authorisation waiting for the person, as their signing app shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Its handle.
    pub handle: String,
    /// The credential.
    pub credential_id: String,
    /// The signatures it asks for.
    pub num_signatures: u32,
    /// What the client said it is for (`description`).
    pub description: Option<String>,
}

/// What the person (or the clock) decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Confirm,
    Refuse,
    Expire,
}

#[derive(Debug)]
enum Outcome {
    Waiting,
    /// Confirmed: the SAD it produced (the same on every check).
    Confirmed(String),
    Refused,
    Expired,
}

#[derive(Debug)]
struct Authorization {
    credential_id: String,
    hashes: Vec<Vec<u8>>,
    num_signatures: u32,
    description: Option<String>,
    created: Instant,
    outcome: Outcome,
}

#[derive(Debug)]
struct Sad {
    credential_id: String,
    /// The hashes not signed yet.
    hashes: Vec<Vec<u8>>,
    /// Signatures left.
    remaining: u32,
    expires: Instant,
}

#[derive(Debug, Default)]
struct Inner {
    tokens: HashMap<String, Instant>,
    /// By handle, in order of creation (handles sort by a counter).
    authorizations: BTreeMap<String, Authorization>,
    sads: HashMap<String, Sad>,
    violations: Vec<String>,
    calls: Vec<String>,
    signed: usize,
    counter: u64,
}

/// The provider's state.
#[derive(Debug)]
pub struct State {
    pub(crate) config: Config,
    inner: Mutex<Inner>,
}

fn random() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl State {
    pub(crate) fn new(config: Config) -> State {
        State {
            config,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn call(&self, method: &str) {
        self.inner().calls.push(method.to_string());
    }

    pub(crate) fn violation(&self, what: String) {
        tracing::warn!(%what, "a CSC request departs from the specification");
        self.inner().violations.push(what);
    }

    pub(crate) fn violations(&self) -> Vec<String> {
        self.inner().violations.clone()
    }

    pub(crate) fn calls(&self) -> Vec<String> {
        self.inner().calls.clone()
    }

    pub(crate) fn signed(&self) -> usize {
        self.inner().signed
    }

    pub(crate) fn credential(&self, id: &str) -> Option<&Credential> {
        self.config.credentials.iter().find(|c| c.id == id)
    }

    /// A new access token for the configured client.
    pub(crate) fn issue_token(&self) -> String {
        let token = random();
        self.inner()
            .tokens
            .insert(token.clone(), Instant::now() + TOKEN_LIFETIME);
        token
    }

    pub(crate) fn token_valid(&self, token: &str) -> bool {
        self.inner()
            .tokens
            .get(token)
            .is_some_and(|until| Instant::now() < *until)
    }

    /// Starts an authorisation the person must confirm; its handle.
    pub(crate) fn authorize(
        &self,
        credential_id: &str,
        num_signatures: u32,
        hashes: Vec<Vec<u8>>,
        description: Option<String>,
    ) -> String {
        let mut inner = self.inner();
        inner.counter += 1;
        let handle = format!("{:08}-{}", inner.counter, random());
        inner.authorizations.insert(
            handle.clone(),
            Authorization {
                credential_id: credential_id.to_string(),
                hashes,
                num_signatures,
                description,
                created: Instant::now(),
                outcome: Outcome::Waiting,
            },
        );
        handle
    }

    pub(crate) fn pending(&self) -> Vec<Pending> {
        let lifetime = self.config.authorization_lifetime;
        self.inner()
            .authorizations
            .iter()
            .filter(|(_, a)| {
                matches!(a.outcome, Outcome::Waiting) && a.created.elapsed() < lifetime
            })
            .map(|(handle, a)| Pending {
                handle: handle.clone(),
                credential_id: a.credential_id.clone(),
                num_signatures: a.num_signatures,
                description: a.description.clone(),
            })
            .collect()
    }

    pub(crate) fn decide(&self, handle: &str, decision: Decision) -> bool {
        let mut inner = self.inner();
        let Some(authorization) = inner.authorizations.get_mut(handle) else {
            return false;
        };
        if !matches!(authorization.outcome, Outcome::Waiting) {
            return false;
        }
        authorization.outcome = match decision {
            Decision::Confirm => Outcome::Confirmed(String::new()),
            Decision::Refuse => Outcome::Refused,
            Decision::Expire => Outcome::Expired,
        };
        true
    }

    /// Where the authorisation `handle` stands: `Ok(None)` while the person has not answered,
    /// `Ok(Some((SAD, seconds)))` once confirmed, `Err` with the specification's error
    /// description when refused, expired or unknown.
    pub(crate) fn check(&self, handle: &str) -> Result<Option<(String, u64)>, &'static str> {
        let lifetime = self.config.authorization_lifetime;
        let sad_lifetime = self.config.sad_lifetime;
        let mut inner = self.inner();
        let Some(authorization) = inner.authorizations.get_mut(handle) else {
            return Err("Invalid parameter handle");
        };
        if matches!(authorization.outcome, Outcome::Waiting)
            && authorization.created.elapsed() >= lifetime
        {
            authorization.outcome = Outcome::Expired;
        }
        if matches!(authorization.outcome, Outcome::Waiting)
            && self
                .config
                .confirm_after
                .is_some_and(|after| authorization.created.elapsed() >= after)
        {
            authorization.outcome = Outcome::Confirmed(String::new());
        }
        let issue = match &mut authorization.outcome {
            Outcome::Waiting => return Ok(None),
            Outcome::Refused => return Err("The user refused the authorization"),
            Outcome::Expired => return Err("The authorization expired"),
            Outcome::Confirmed(sad) if !sad.is_empty() => {
                return Ok(Some((sad.clone(), sad_lifetime.as_secs())));
            }
            Outcome::Confirmed(sad) => {
                *sad = random();
                Sad {
                    credential_id: authorization.credential_id.clone(),
                    hashes: authorization.hashes.clone(),
                    remaining: authorization.num_signatures,
                    expires: Instant::now() + sad_lifetime,
                }
            }
        };
        let Outcome::Confirmed(sad) = &authorization.outcome else {
            return Err("Invalid parameter handle");
        };
        let sad = sad.clone();
        inner.sads.insert(sad.clone(), issue);
        Ok(Some((sad, sad_lifetime.as_secs())))
    }

    /// Signs `hashes` under `sad` for `credential_id`, spending the SAD; or the specification's
    /// error description.
    pub(crate) fn sign(
        &self,
        credential_id: &str,
        sad: &str,
        hashes: &[Vec<u8>],
    ) -> Result<Vec<Vec<u8>>, &'static str> {
        let credential = self
            .credential(credential_id)
            .ok_or("Invalid parameter credentialID")?
            .clone();
        let mut inner = self.inner();
        let entry = inner.sads.get_mut(sad).ok_or("Invalid parameter SAD")?;
        if entry.credential_id != credential_id || Instant::now() >= entry.expires {
            return Err("Invalid parameter SAD");
        }
        let count = u32::try_from(hashes.len()).unwrap_or(u32::MAX);
        if count > entry.remaining {
            return Err("Numbers of signatures is too high");
        }
        for hash in hashes {
            let Some(at) = entry.hashes.iter().position(|h| h == hash) else {
                return Err("Hash is not authorized by the SAD");
            };
            entry.hashes.swap_remove(at);
        }
        entry.remaining -= count;
        // The specification: the SAD is invalidated once its signatures are made.
        if entry.remaining == 0 {
            inner.sads.remove(sad);
        }
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &credential.key_pkcs8)
            .map_err(|_| "the credential's key is unusable")?;
        let mut signatures = Vec::with_capacity(hashes.len());
        for hash in hashes {
            let digest = Digest::import_less_safe(hash, &SHA256)
                .map_err(|_| "Invalid Base64 hash string parameter")?;
            let signature = key.sign_digest(&digest).map_err(|_| "signing failed")?;
            signatures.push(signature.as_ref().to_vec());
        }
        inner.signed += signatures.len();
        Ok(signatures)
    }
}
