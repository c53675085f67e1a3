//! Batches of signers whose key is at a remote signing provider (CSC API v2): one confirmation in
//! the person's signing app for the whole batch.
//!
//! The first request (with the PIN) signs the batch with a [`RecordingKey`] at a fixed signing
//! time, asks the provider to authorise the hashes of all its signatures at once
//! (`credentials/authorize`, `numSignatures` = the batch), keeps the confirmation (see
//! [`super::confirmations`]) and answers with it: the records stay with the signer. The
//! scheduler asks [`SignerService::check_confirmation`] until the person has answered; once
//! confirmed it sends the same batch again with the confirmation's id, and the service signs the
//! hashes under the SAD (`signatures/signHash`, one call), checks every signature against the
//! signer's certificate, and signs the batch again with a [`PresignedKey`] at the same signing
//! time: the same documents, signed attributes and hashes, now with the provider's signatures.
//!
//! A confirmation ends once. Refused, or not confirmed by its expiry (even if the person confirms
//! later), it signs nothing; the scheduler then returns the records to the pool.

use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use signq_proto::v1::{Confirmation as Shown, DocumentSignature};
use time::OffsetDateTime;

use super::batch::Making;
use super::confirmations::{Confirmation, Stage, fingerprint};
use super::error::SignError;
use super::grpc::{SignerService, timestamp};
use super::ledger::Lease;
use crate::cms::CmsSigner;
use crate::keys::csc::{Authorization, CscClient, CscError, CscSettings};
use crate::keys::remote::{Hash, PresignedKey, RecordingKey};
use crate::keystore::{RemoteKey, SignerEntry};

/// A provider the service signs through.
#[derive(Debug)]
pub struct Provider {
    /// Its client.
    pub client: CscClient,
    /// How long a batch waits for its person's confirmation.
    pub confirmation_timeout: Duration,
}

/// Where a provider is and how long its confirmations wait, as configured.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// Its endpoints and signq's client there.
    pub csc: CscSettings,
    /// How long a batch waits for its person's confirmation.
    pub confirmation_timeout: Duration,
}

/// How long a batch waits for its person's confirmation unless the provider's file says.
pub const DEFAULT_CONFIRMATION_TIMEOUT: Duration = Duration::from_secs(300);

/// A provider's file (TOML), as `signq signer --remote-provider NAME=FILE` reads it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFile {
    base_uri: String,
    token_uri: String,
    client_id: String,
    client_secret_file: std::path::PathBuf,
    tls_roots: Option<std::path::PathBuf>,
    confirmation_timeout_secs: Option<u64>,
}

impl ProviderSettings {
    /// Reads a provider's file: `base_uri` (ending in `/csc/v2`), `token_uri`, `client_id`,
    /// `client_secret_file` (the secret alone in a file readable by the service only), and
    /// optionally `tls_roots` (PEM) and `confirmation_timeout_secs`. Paths are relative to the
    /// file's directory.
    pub fn from_file(path: &std::path::Path) -> Result<ProviderSettings, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let file: ProviderFile =
            toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let dir = path.parent().unwrap_or(std::path::Path::new("."));
        let secret_path = dir.join(&file.client_secret_file);
        let client_secret = std::fs::read_to_string(&secret_path)
            .map_err(|e| {
                format!(
                    "{}: client_secret_file {}: {e}",
                    path.display(),
                    secret_path.display()
                )
            })?
            .trim()
            .to_string();
        if client_secret.is_empty() {
            return Err(format!(
                "{}: client_secret_file {} is empty",
                path.display(),
                secret_path.display()
            ));
        }
        let timeout = file
            .confirmation_timeout_secs
            .map_or(DEFAULT_CONFIRMATION_TIMEOUT, Duration::from_secs);
        if timeout.is_zero() || timeout > Duration::from_secs(3600) {
            return Err(format!(
                "{}: confirmation_timeout_secs must be 1 to 3600",
                path.display()
            ));
        }
        Ok(ProviderSettings {
            csc: CscSettings {
                base_uri: file.base_uri,
                token_uri: file.token_uri,
                client_id: file.client_id,
                client_secret,
                tls_roots: file.tls_roots.map(|p| dir.join(p)),
            },
            confirmation_timeout: timeout,
        })
    }
}

/// Letters and digits of a confirmation's short code: none that read alike (0/O, 1/I, 5/S, 8/B).
const CODE_ALPHABET: &[u8] = b"ACDEFGHJKLMNPQRTUVWXY234679";

/// A short code the person compares in both places: `XXX-XXX`.
fn short_code() -> String {
    let mut rng = rand::rng();
    let mut pick = || char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]);
    let first: String = (0..3).map(|_| pick()).collect();
    let second: String = (0..3).map(|_| pick()).collect();
    format!("{first}-{second}")
}

/// A remote signer's batch.
pub(super) struct RemoteBatch<'a> {
    /// The signer.
    pub entry: &'a SignerEntry,
    /// Where the key is.
    pub key: RemoteKey,
    /// The signer's certificate, DER.
    pub cert_der: Vec<u8>,
    /// The CA chain for the signatures.
    pub chain: Vec<Vec<u8>>,
    /// The lease attempts of the documents to sign, in order.
    pub leases: Vec<Lease>,
    /// The confirmation the request completes (empty: the first request, with the PIN).
    pub confirmation_id: String,
}

/// What a remote batch came to.
pub(super) enum Outcome {
    /// It waits for the person's confirmation.
    Waiting(Shown),
    /// Signed, with the signing time the signatures carry.
    Signed {
        signatures: Vec<DocumentSignature>,
        at: OffsetDateTime,
    },
}

/// The confirmation as the scheduler and tablet see it.
fn shown(c: &Confirmation) -> Shown {
    Shown {
        id: c.id.clone(),
        code: c.code.clone(),
        expires_at: Some(timestamp(c.expires_at)),
        signatures: c.hashes.len() as u32,
    }
}

fn provider_error(signer: &str, error: &CscError) -> SignError {
    SignError::Provider {
        signer: signer.to_string(),
        reason: error.to_string(),
    }
}

impl SignerService {
    /// The provider holding `key`.
    fn provider(&self, signer: &str, key: &RemoteKey) -> Result<Arc<Provider>, SignError> {
        self.providers
            .get(&key.provider)
            .cloned()
            .ok_or_else(|| SignError::Provider {
                signer: signer.to_string(),
                reason: format!(
                    "no remote provider named {:?} is configured (--remote-provider)",
                    key.provider
                ),
            })
    }

    /// The hashes of the signatures of the batch signed at `at` (pass 1).
    async fn hashes_of(
        &self,
        batch: &RemoteBatch<'_>,
        making: &Arc<Making>,
        point: &[u8],
        at: OffsetDateTime,
    ) -> Result<Vec<Hash>, SignError> {
        let recording = RecordingKey::new(point.to_vec());
        let signer = CmsSigner::with_key(
            Box::new(recording.clone()),
            batch.cert_der.clone(),
            batch.chain.clone(),
        )
        .map_err(|e| SignError::Internal(e.to_string()))?;
        let unsigned = self.prepare(making, at).await?;
        self.make(making, signer, unsigned, at, None).await?;
        Ok(recording.hashes())
    }

    /// Signs a remote signer's batch, or asks for (or answers with) its confirmation.
    pub(super) async fn sign_remote(
        &self,
        batch: RemoteBatch<'_>,
        making: &Arc<Making>,
        now: OffsetDateTime,
    ) -> Result<Outcome, SignError> {
        let signer = batch.entry.signer_id.clone();
        let provider = self.provider(&signer, &batch.key)?;
        let leases = fingerprint(
            &batch
                .leases
                .iter()
                .map(|l| (l.record_id.as_str(), l.attempt))
                .collect::<Vec<_>>(),
        );
        let point = crate::cms::public_point(&batch.cert_der)
            .map_err(|e| SignError::Internal(e.to_string()))?;
        if batch.confirmation_id.is_empty() {
            // A repeated request for the same attempts gets the confirmation already asked for.
            let (s, l) = (signer.clone(), leases.clone());
            if let Some(open) = self.db(move |st| st.confirmation_for(&s, &l)).await?
                && matches!(open.stage, Stage::Waiting | Stage::Confirmed)
                && open.expires_at > now
            {
                return Ok(Outcome::Waiting(shown(&open)));
            }
            return self
                .ask(&batch, making, &provider, &point, leases, now)
                .await;
        }
        let id = batch.confirmation_id.clone();
        let mut confirmation = self
            .db(move |st| st.confirmation(&id))
            .await?
            .filter(|c| c.signer_id == signer && c.leases == leases)
            .ok_or_else(|| {
                SignError::invalid(
                    "confirmation_id",
                    format!(
                        "{} is no confirmation of {signer} for these records and attempts",
                        batch.confirmation_id
                    ),
                )
            })?;
        if confirmation.stage == Stage::Waiting {
            confirmation = self.ask_provider(confirmation, &provider).await?;
        }
        match confirmation.stage {
            Stage::Waiting => Ok(Outcome::Waiting(shown(&confirmation))),
            Stage::Confirmed | Stage::Signed => {
                self.complete(&batch, making, &provider, &point, confirmation)
                    .await
            }
            Stage::Refused | Stage::Expired => Err(SignError::Unconfirmed {
                id: confirmation.id,
                how: confirmation.stage.as_str(),
            }),
        }
    }

    /// Asks the person to confirm the batch.
    async fn ask(
        &self,
        batch: &RemoteBatch<'_>,
        making: &Arc<Making>,
        provider: &Provider,
        point: &[u8],
        leases: String,
        now: OffsetDateTime,
    ) -> Result<Outcome, SignError> {
        let signer = &batch.entry.signer_id;
        let hashes = self.hashes_of(batch, making, point, now).await?;
        self.limits
            .signatures(signer, hashes.len() as u32)
            .map_err(|retry_after| SignError::RateLimited {
                what: "signatures for this signer",
                retry_after,
            })?;
        let code = short_code();
        let description = format!("signq {code}: {} hồ sơ / records", hashes.len());
        let answer = provider
            .client
            .authorize(&batch.key.credential_id, &hashes, &description)
            .await
            .map_err(|e| provider_error(signer, &e))?;
        let expires_at = now + provider.confirmation_timeout;
        let (stage, handle, sad) = match answer {
            Authorization::Waiting { handle } => (Stage::Waiting, Some(handle), None),
            Authorization::Granted { sad, expires_in } => {
                (Stage::Confirmed, None, Some((sad, now + expires_in)))
            }
        };
        let mut id = [0u8; 16];
        rand::rng().fill(&mut id);
        let confirmation = Confirmation {
            id: hex::encode(id),
            signer_id: signer.clone(),
            leases,
            signing_time: now,
            hashes,
            code,
            expires_at,
            stage,
            handle,
            sad,
        };
        let kept = confirmation.clone();
        self.db(move |st| st.put_confirmation(&kept)).await?;
        super::metrics::confirmation_asked();
        tracing::info!(%signer, id = %confirmation.id, code = %confirmation.code, signatures = confirmation.hashes.len(), "asked the person to confirm the batch in their signing app");
        Ok(Outcome::Waiting(shown(&confirmation)))
    }

    /// Asks the provider where a waiting confirmation stands, and keeps the answer.
    async fn ask_provider(
        &self,
        confirmation: Confirmation,
        provider: &Provider,
    ) -> Result<Confirmation, SignError> {
        let now = OffsetDateTime::now_utc();
        let to = if confirmation.expires_at <= now {
            // Whatever the person does now comes too late.
            (Stage::Expired, None)
        } else {
            let handle = confirmation.handle.clone().unwrap_or_default();
            match provider.client.check(&handle).await {
                Ok(Authorization::Waiting { .. }) => return Ok(confirmation),
                Ok(Authorization::Granted { sad, expires_in }) => {
                    (Stage::Confirmed, Some((sad, now + expires_in)))
                }
                Err(CscError::Refused) => (Stage::Refused, None),
                Err(CscError::Expired) => (Stage::Expired, None),
                Err(other) => return Err(provider_error(&confirmation.signer_id, &other)),
            }
        };
        let (id, stage, sad) = (confirmation.id.clone(), to.0, to.1.clone());
        self.db(move |st| {
            st.advance_confirmation(
                &id,
                Stage::Waiting,
                stage,
                sad.as_ref().map(|(s, at)| (s.as_str(), *at)),
            )
        })
        .await?;
        // Read back: another call may have moved it first.
        let id = confirmation.id.clone();
        let now_stored = self.db(move |st| st.confirmation(&id)).await?;
        let stored = now_stored.unwrap_or(confirmation);
        if stored.stage != Stage::Waiting {
            super::metrics::confirmation_ended(stored.stage.as_str());
        }
        Ok(stored)
    }

    /// Signs a confirmed batch (pass 2).
    async fn complete(
        &self,
        batch: &RemoteBatch<'_>,
        making: &Arc<Making>,
        provider: &Provider,
        point: &[u8],
        confirmation: Confirmation,
    ) -> Result<Outcome, SignError> {
        let signer = &batch.entry.signer_id;
        let at = confirmation.signing_time;
        let hashes = self.hashes_of(batch, making, point, at).await?;
        if hashes != confirmation.hashes {
            return Err(SignError::Contradicts(format!(
                "the batch is not the one its person confirmed in confirmation {} (its \
                 documents or their validation data changed); approve it again",
                confirmation.id
            )));
        }
        let Some((sad, sad_expires)) = confirmation.sad.clone() else {
            return Err(SignError::Internal(format!(
                "confirmation {} is confirmed without a SAD",
                confirmation.id
            )));
        };
        if sad_expires <= OffsetDateTime::now_utc() {
            let id = confirmation.id.clone();
            self.db(move |st| st.advance_confirmation(&id, Stage::Confirmed, Stage::Expired, None))
                .await?;
            return Err(SignError::Unconfirmed {
                id: confirmation.id,
                how: "confirmed, but its authorisation ran out before the batch was signed",
            });
        }
        let values = provider
            .client
            .sign_hashes(&batch.key.credential_id, &sad, &hashes)
            .await
            .map_err(|e| provider_error(signer, &e))?;
        // Every signature must be the certificate's key's over its hash before it is used.
        let key = aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_ASN1,
            point,
        );
        for (hash, value) in hashes.iter().zip(&values) {
            let digest =
                aws_lc_rs::digest::Digest::import_less_safe(hash, &aws_lc_rs::digest::SHA256)
                    .map_err(|_| SignError::Internal("a hash is not SHA-256".into()))?;
            if key.verify_digest(&digest, value).is_err() {
                return Err(provider_error(
                    signer,
                    &CscError::Answer(
                        "a signature does not verify with the signer's certificate".into(),
                    ),
                ));
            }
        }
        let presigned = PresignedKey::new(point.to_vec(), hashes.into_iter().zip(values));
        let key = CmsSigner::with_key(
            Box::new(presigned),
            batch.cert_der.clone(),
            batch.chain.clone(),
        )
        .map_err(|e| SignError::Internal(e.to_string()))?;
        let unsigned = self.prepare(making, at).await?;
        let signatures = self
            .make(making, key, unsigned, at, Some(OffsetDateTime::now_utc()))
            .await?;
        let id = confirmation.id.clone();
        if self
            .db(move |st| st.advance_confirmation(&id, Stage::Confirmed, Stage::Signed, None))
            .await?
        {
            super::metrics::confirmation_ended(Stage::Signed.as_str());
        }
        Ok(Outcome::Signed { signatures, at })
    }

    /// Where confirmation `id` stands, asking the provider if the person has not answered yet.
    pub(super) async fn confirmation_state(&self, id: &str) -> Result<(Stage, Shown), SignError> {
        let asked = id.to_string();
        let confirmation = self
            .db(move |st| st.confirmation(&asked))
            .await?
            .ok_or_else(|| SignError::NotFound(format!("confirmation_id: no confirmation {id}")))?;
        let confirmation = match confirmation.stage {
            Stage::Waiting => {
                let key = match self.keystore().remote(&confirmation.signer_id) {
                    Ok(crate::keystore::Unlocked::Remote { key, .. }) => key,
                    _ => {
                        return Err(SignError::Provider {
                            signer: confirmation.signer_id.clone(),
                            reason: "the signer no longer has a remote key".into(),
                        });
                    }
                };
                let provider = self.provider(&confirmation.signer_id, &key)?;
                self.ask_provider(confirmation, &provider).await?
            }
            _ => confirmation,
        };
        Ok((confirmation.stage, shown(&confirmation)))
    }
}
