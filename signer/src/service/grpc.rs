//! The `signq.v1.Signer` gRPC service: its calls, the PIN check and lockout every signing call
//! goes through, and the service's shared parts. A Sign call's own steps are in
//! [`super::batch`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use prost_types::Timestamp;
use signq_kit::identity::Role;
use signq_proto::v1::signer_server::Signer;
use signq_proto::v1::{
    CheckConfirmationRequest, CheckConfirmationResponse, ConfirmationState, DelegationNotation,
    GetSignerKeyRequest, GetSignerKeyResponse, ListSignerKeysRequest, ListSignerKeysResponse,
    RevokeDelegationRequest, RevokeDelegationResponse, SignCheckpointRequest,
    SignCheckpointResponse, SignDelegationRequest, SignDelegationResponse, SignRequest,
    SignResponse, SignerKey, SignerRole, VerifyPinRequest, VerifyPinResponse,
};
use time::OffsetDateTime;
use tonic::{Request, Response, Status};

use super::attempts::Attempts;
use super::config::SignerConfig;
use super::confirmations::Stage;
use super::error::SignError;
use super::limits::Limits;
use super::metrics;
use super::state::{FailureOutcome, State};
use crate::cms::{CmsSigner, TrustStore, check_signing_certificate};
use crate::delegation::{DelegationDoc, KIND, Notation};
use crate::keys::pkcs11::TokenError;
use crate::keystore::{Keystore, KeystoreError, SignerEntry, Unlocked};

/// The service's shared parts.
#[derive(Debug)]
pub struct SignerService {
    pub(super) config: SignerConfig,
    keystore: Arc<Keystore>,
    state: Arc<State>,
    pub(super) limits: Limits,
    attempts: Attempts,
    /// The service's own key and certificate, which sign audit checkpoints.
    checkpoints: CmsSigner,
    /// The timestamp authority whose tokens PDF signatures carry, if there is one.
    pub(super) tsa: Option<Arc<crate::tsa::Timestamper>>,
    /// The remote signing providers, by name.
    pub(super) providers: BTreeMap<String, Arc<super::remote::Provider>>,
}

/// Longest accepted record id, signer id and delegation id.
pub(super) const MAX_ID_LEN: usize = 200;

impl SignerService {
    /// A service over an opened keystore and state; `checkpoints` is the service's own signer
    /// (its TLS key and certificate), for audit checkpoints.
    pub fn new(
        config: SignerConfig,
        keystore: Arc<Keystore>,
        state: Arc<State>,
        checkpoints: CmsSigner,
    ) -> Self {
        let limits = Limits::new(config.rates);
        SignerService {
            config,
            keystore,
            state,
            limits,
            attempts: Attempts::default(),
            checkpoints,
            tsa: None,
            providers: BTreeMap::new(),
        }
    }

    /// The same service, signing through the remote providers `providers` (by name).
    pub fn with_providers(
        mut self,
        providers: BTreeMap<String, Arc<super::remote::Provider>>,
    ) -> Self {
        self.providers = providers;
        self
    }

    /// The same service, its PDF signatures timestamped by `tsa`.
    pub fn with_timestamps(mut self, tsa: Arc<crate::tsa::Timestamper>) -> Self {
        self.tsa = Some(tsa);
        self
    }

    /// The keystore.
    pub(super) fn keystore(&self) -> &Keystore {
        &self.keystore
    }

    /// Forgets rate-limiter keys of signers who have been quiet (called every minute).
    pub fn prune_limits(&self) {
        self.limits.prune();
    }

    /// Runs `f` with the state on a blocking thread.
    pub(super) async fn db<T: Send + 'static>(
        &self,
        f: impl FnOnce(&State) -> Result<T, super::state::StateError> + Send + 'static,
    ) -> Result<T, SignError> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || f(&state))
            .await
            .map_err(|e| SignError::Internal(e.to_string()))?
            .map_err(SignError::from)
    }

    /// Whether the state database takes writes (the health probe).
    pub async fn probe(&self) -> bool {
        self.db(|s| s.probe(OffsetDateTime::now_utc()))
            .await
            .is_ok()
    }

    /// The ward's trust, read afresh (so a revocation takes effect at once), after checking that
    /// the signer's certificate may sign at `now`.
    pub(super) fn usable_certificate(
        &self,
        entry: &SignerEntry,
        now: OffsetDateTime,
    ) -> Result<TrustStore, SignError> {
        let trust = crate::trust::load(&self.config.tls.ca, self.config.tls.crl.as_deref())
            .map_err(|e| SignError::Internal(e.to_string()))?;
        check_signing_certificate(&trust, &entry.cert_der, now).map_err(|e| {
            SignError::CertificateUnusable {
                signer: entry.signer_id.clone(),
                reason: e.to_string(),
            }
        })?;
        Ok(trust)
    }

    /// Unlocks the key, counting a wrong PIN towards the lockout. The signer's checks take turns
    /// (see [`Attempts`]), so the lockout read here and the failure recorded below are one step.
    pub(super) async fn unlock(
        &self,
        entry: &SignerEntry,
        pin: String,
    ) -> Result<Unlocked, SignError> {
        let signer = entry.signer_id.clone();
        let _turn = self.attempts.turn(&signer).await;
        if let Some(until) = self
            .db({
                let signer = signer.clone();
                move |s| s.locked_until(&signer, OffsetDateTime::now_utc())
            })
            .await?
        {
            return Err(SignError::Locked { signer, until });
        }
        self.limits
            .pin_attempt(&signer)
            .map_err(|retry_after| SignError::RateLimited {
                what: "PIN attempts for this signer",
                retry_after,
            })?;
        let keystore = self.keystore.clone();
        let started = Instant::now();
        let unlocked = tokio::task::spawn_blocking({
            let signer = signer.clone();
            move || keystore.open_key(&signer, &pin)
        })
        .await
        .map_err(|e| SignError::Internal(e.to_string()))?;
        ::metrics::histogram!(metrics::UNLOCK_SECONDS).record(started.elapsed().as_secs_f64());
        match unlocked {
            Ok(key) => {
                let s = signer.clone();
                self.db(move |state| state.clear_failures(&s)).await?;
                Ok(key)
            }
            Err(
                error @ (KeystoreError::WrongPin(_)
                | KeystoreError::Token {
                    source: TokenError::WrongPin { .. },
                    ..
                }),
            ) => {
                // A token that says one more wrong PIN locks it is believed over the service's
                // own count.
                let token_final_try = matches!(
                    error,
                    KeystoreError::Token {
                        source: TokenError::WrongPin { final_try: true },
                        ..
                    }
                );
                ::metrics::counter!(metrics::PIN_FAILURES).increment(1);
                let policy = self.config.lockout;
                let s = signer.clone();
                match self
                    .db(move |state| state.record_failure(&s, OffsetDateTime::now_utc(), &policy))
                    .await?
                {
                    FailureOutcome::AttemptsLeft(attempts_left) => Err(SignError::WrongPin {
                        signer,
                        attempts_left: if token_final_try {
                            attempts_left.min(1)
                        } else {
                            attempts_left
                        },
                    }),
                    FailureOutcome::LockedUntil(until) => {
                        ::metrics::counter!(metrics::LOCKOUTS).increment(1);
                        tracing::warn!(%signer, "key locked after too many wrong PINs");
                        Err(SignError::Locked { signer, until })
                    }
                }
            }
            Err(KeystoreError::UnknownSigner(s)) => Err(SignError::UnknownSigner(s)),
            Err(KeystoreError::Token {
                source: TokenError::PinLocked,
                ..
            }) => Err(SignError::TokenLocked { signer }),
            Err(KeystoreError::Token { source, .. }) => Err(SignError::KeyUnavailable {
                signer,
                reason: source.to_string(),
            }),
            Err(other) => Err(SignError::Internal(other.to_string())),
        }
    }
}

/// Checks the form of a signer id and PIN.
pub(super) fn validate_credentials(signer_id: &str, pin: &str) -> Result<(), SignError> {
    validate_signer_id(signer_id)?;
    crate::pin::check(pin).map_err(|e| SignError::invalid("pin", e.to_string()))
}

/// Checks the form of a signer id.
pub(super) fn validate_signer_id(signer_id: &str) -> Result<(), SignError> {
    if signer_id.is_empty() {
        return Err(SignError::invalid("signer_id", "is empty"));
    }
    if signer_id.len() > MAX_ID_LEN {
        return Err(SignError::invalid(
            "signer_id",
            format!("longer than {MAX_ID_LEN} bytes"),
        ));
    }
    Ok(())
}

pub(super) fn timestamp(t: OffsetDateTime) -> Timestamp {
    Timestamp {
        seconds: t.unix_timestamp(),
        nanos: 0,
    }
}

fn role_of(role: Role) -> SignerRole {
    match role {
        Role::Director => SignerRole::Director,
        Role::Deputy => SignerRole::Deputy,
        Role::Clerk => SignerRole::Clerk,
        _ => SignerRole::Unspecified,
    }
}

#[tonic::async_trait]
impl Signer for SignerService {
    async fn sign(&self, request: Request<SignRequest>) -> Result<Response<SignResponse>, Status> {
        let started = Instant::now();
        let req = request.into_inner();
        let signer_id = req.signer_id.clone();
        match self.sign_batch(req).await {
            Ok(signed) => {
                if let Some(confirmation) = &signed.confirmation {
                    tracing::info!(signer = %signer_id, confirmation = %confirmation.id, code = %confirmation.code, "batch waits for its person's confirmation");
                    return Ok(Response::new(SignResponse {
                        signatures: Vec::new(),
                        confirmation: signed.confirmation,
                    }));
                }
                let documents = signed.signatures.len();
                metrics::signed(
                    signed.role.as_str(),
                    signed.made,
                    documents - signed.made,
                    started.elapsed().as_secs_f64(),
                );
                tracing::info!(signer = %signer_id, documents, made = signed.made, "batch signed");
                Ok(Response::new(SignResponse {
                    signatures: signed.signatures,
                    confirmation: None,
                }))
            }
            Err(error) => {
                metrics::refused(error.reason());
                tracing::info!(signer = %signer_id, %error, "sign refused");
                Err(error.into())
            }
        }
    }

    async fn verify_pin(
        &self,
        request: Request<VerifyPinRequest>,
    ) -> Result<Response<VerifyPinResponse>, Status> {
        let req = request.into_inner();
        let result = async {
            validate_credentials(&req.signer_id, &req.pin)?;
            let entry = self.entry(&req.signer_id)?;
            drop(self.unlock(&entry, req.pin).await?);
            self.describe(entry).await
        }
        .await;
        if let Err(error) = &result {
            metrics::refused(error.reason());
        }
        Ok(Response::new(VerifyPinResponse { key: Some(result?) }))
    }

    async fn sign_delegation(
        &self,
        request: Request<SignDelegationRequest>,
    ) -> Result<Response<SignDelegationResponse>, Status> {
        let req = request.into_inner();
        let result = self.sign_delegation_checked(req).await;
        if let Err(error) = &result {
            metrics::refused(error.reason());
        }
        Ok(Response::new(result?))
    }

    async fn get_signer_key(
        &self,
        request: Request<GetSignerKeyRequest>,
    ) -> Result<Response<GetSignerKeyResponse>, Status> {
        let signer_id = request.into_inner().signer_id;
        if signer_id.is_empty() {
            return Err(SignError::invalid("signer_id", "is empty").into());
        }
        let entry = self.entry(&signer_id)?;
        Ok(Response::new(GetSignerKeyResponse {
            key: Some(self.describe(entry).await?),
        }))
    }

    async fn list_signer_keys(
        &self,
        _: Request<ListSignerKeysRequest>,
    ) -> Result<Response<ListSignerKeysResponse>, Status> {
        let entries = self
            .keystore
            .list()
            .map_err(|e| SignError::Internal(e.to_string()))?;
        let mut keys = Vec::with_capacity(entries.len());
        for entry in entries {
            keys.push(self.describe(entry).await?);
        }
        Ok(Response::new(ListSignerKeysResponse { keys }))
    }

    async fn check_confirmation(
        &self,
        request: Request<CheckConfirmationRequest>,
    ) -> Result<Response<CheckConfirmationResponse>, Status> {
        let req = request.into_inner();
        if req.confirmation_id.is_empty() || req.confirmation_id.len() > MAX_ID_LEN {
            return Err(
                SignError::invalid("confirmation_id", "is empty or longer than 200 bytes").into(),
            );
        }
        let (stage, confirmation) = self
            .confirmation_state(&req.confirmation_id)
            .await
            .map_err(Status::from)?;
        let state = match stage {
            Stage::Waiting => ConfirmationState::Waiting,
            Stage::Confirmed => ConfirmationState::Confirmed,
            Stage::Refused => ConfirmationState::Refused,
            Stage::Expired => ConfirmationState::Expired,
            Stage::Signed => ConfirmationState::Signed,
        };
        Ok(Response::new(CheckConfirmationResponse {
            state: state as i32,
            confirmation: Some(confirmation),
        }))
    }

    async fn sign_checkpoint(
        &self,
        request: Request<SignCheckpointRequest>,
    ) -> Result<Response<SignCheckpointResponse>, Status> {
        let result = self.sign_checkpoint_checked(request.into_inner()).await;
        if let Err(error) = &result {
            metrics::refused(error.reason());
        }
        Ok(Response::new(result?))
    }

    async fn revoke_delegation(
        &self,
        request: Request<RevokeDelegationRequest>,
    ) -> Result<Response<RevokeDelegationResponse>, Status> {
        let req = request.into_inner();
        if req.delegation_id.is_empty() || req.delegation_id.len() > MAX_ID_LEN {
            return Err(
                SignError::invalid("delegation_id", "is empty or longer than 200 bytes").into(),
            );
        }
        if req.reason.trim().is_empty() {
            return Err(
                SignError::invalid("reason", "is empty; say why the delegation ends").into(),
            );
        }
        let id = req.delegation_id.clone();
        let at = self
            .db(move |s| s.revoke(&id, &req.reason, OffsetDateTime::now_utc()))
            .await?;
        tracing::info!(delegation = %req.delegation_id, "delegation revoked");
        Ok(Response::new(RevokeDelegationResponse {
            revoked_at: Some(timestamp(at)),
        }))
    }
}

impl SignerService {
    /// Signs the head of a scheduler's audit chain, unless it contradicts the last one signed for
    /// that chain.
    async fn sign_checkpoint_checked(
        &self,
        req: SignCheckpointRequest,
    ) -> Result<SignCheckpointResponse, SignError> {
        let id_ok = !req.chain_id.is_empty()
            && req.chain_id.len() <= 128
            && req
                .chain_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
        if !id_ok {
            return Err(SignError::invalid(
                "chain_id",
                "is not a chain id (1-128 of A-Z a-z 0-9 - _)",
            ));
        }
        if req.seq == 0 {
            return Err(SignError::invalid("seq", "is 0; the first entry is 1"));
        }
        let head: [u8; 32] = req.head_hash.as_slice().try_into().map_err(|_| {
            SignError::invalid(
                "head_hash",
                format!("{} bytes; a SHA-256 hash is 32", req.head_hash.len()),
            )
        })?;
        let now = OffsetDateTime::now_utc();
        let (chain, seq) = (req.chain_id.clone(), req.seq);
        self.db(move |s| s.advance_checkpoint(&chain, seq, &head, now))
            .await?
            .map_err(SignError::Checkpoint)?;
        let statement = crate::checkpoint::Statement {
            chain_id: req.chain_id,
            seq: req.seq,
            head,
        };
        let signature = statement
            .sign(&self.checkpoints, now)
            .map_err(|e| SignError::Internal(e.to_string()))?;
        Ok(SignCheckpointResponse {
            statement: statement.encode(),
            signature,
            signed_at: Some(timestamp(now)),
        })
    }

    /// Signs a delegation with a director's key, after the same checks as a batch: the form of
    /// the request, the director's certificate, the PIN and its lockout.
    async fn sign_delegation_checked(
        &self,
        req: SignDelegationRequest,
    ) -> Result<SignDelegationResponse, SignError> {
        validate_credentials(&req.director_id, &req.pin)?;
        let d = req
            .delegation
            .ok_or_else(|| SignError::invalid("delegation", "is missing"))?;
        let entry = self.entry(&req.director_id)?;
        if entry.role != Role::Director {
            return Err(SignError::invalid(
                "director_id",
                format!("{} is not a director", entry.signer_id),
            ));
        }
        if !d.ward.is_empty() && d.ward != entry.ward {
            return Err(SignError::invalid(
                "delegation.ward",
                format!("the director signs for {}", entry.ward),
            ));
        }
        if !d.director_id.is_empty() && d.director_id != entry.signer_id {
            return Err(SignError::invalid(
                "delegation.director_id",
                "names another director",
            ));
        }
        let time = |field: &str, t: Option<prost_types::Timestamp>| {
            let t =
                t.ok_or_else(|| SignError::invalid(format!("delegation.{field}"), "is missing"))?;
            OffsetDateTime::from_unix_timestamp(t.seconds)
                .map_err(|_| SignError::invalid(format!("delegation.{field}"), "is out of range"))
        };
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .unwrap_or_else(|_| OffsetDateTime::now_utc());
        let not_before = if d.not_before.is_some() {
            time("not_before", d.not_before)?
        } else {
            now
        };
        let notation = match d.notation() {
            DelegationNotation::Tuq => Notation::Authorised,
            DelegationNotation::Kt | DelegationNotation::Unspecified => Notation::ForHead,
        };
        let doc = DelegationDoc {
            kind: KIND.to_string(),
            id: if d.id.is_empty() {
                format!("{}/{}", d.deputy_id, now.unix_timestamp())
            } else {
                d.id
            },
            ward: entry.ward.clone(),
            director_id: entry.signer_id.clone(),
            deputy_id: d.deputy_id,
            procedure_codes: d.procedure_codes,
            not_before,
            not_after: time("not_after", d.not_after)?,
            daily_cap: d.daily_cap,
            notation,
        };
        doc.validate()
            .map_err(|e| SignError::invalid(format!("delegation.{}", e.field), e.reason))?;
        self.usable_certificate(&entry, now)?;
        let Unlocked::Key(key) = self.unlock(&entry, req.pin).await? else {
            return Err(SignError::RemoteKey(format!(
                "the key of {} is at a remote signing provider, which signs records of the \
                 queue only; sign the delegation with `signq delegation create` where the \
                 director's key is",
                entry.signer_id
            )));
        };
        let director = entry.signer_id.clone();
        let signed_delegation = tokio::task::spawn_blocking(move || {
            crate::delegation::signed::sign(&doc, &key, &director, now)
        })
        .await
        .map_err(|e| SignError::Internal(e.to_string()))??;
        tracing::info!(director = %entry.signer_id, "delegation signed");
        Ok(SignDelegationResponse { signed_delegation })
    }

    /// The keystore entry of a signer.
    pub(super) fn entry(&self, signer_id: &str) -> Result<SignerEntry, SignError> {
        self.keystore.get(signer_id).map_err(|e| match e {
            KeystoreError::UnknownSigner(s) => SignError::UnknownSigner(s),
            other => SignError::Internal(other.to_string()),
        })
    }

    async fn describe(&self, entry: SignerEntry) -> Result<SignerKey, SignError> {
        let id = entry.signer_id.clone();
        let locked = self
            .db(move |s| s.locked_until(&id, OffsetDateTime::now_utc()))
            .await?;
        Ok(SignerKey {
            signer_id: entry.signer_id,
            display_name: entry.display_name,
            ward: entry.ward,
            role: role_of(entry.role) as i32,
            certificate: entry.cert_der,
            locked_until: locked.map(timestamp),
        })
    }
}
