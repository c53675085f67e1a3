//! For the engine's unit tests: a ward in a temporary store (a director, a deputy holding one
//! delegation with a daily cap of one, two procedures) and an engine over it, whose signing
//! client is whatever the test injects.

use std::sync::Arc;
use std::time::Duration;

use signq_proto::v1 as pb;
use signq_proto::v1::signer_server::{Signer as SignerService, SignerServer};
use time::OffsetDateTime;
use tonic::{Request, Response, Status};

use super::intake::Submission;
use super::{Engine, EngineSettings};
use crate::balancer::BalancerConfig;
use crate::model::{Actor, Delegation, Priority, Procedure, SealMode, Signer, SignerRole, Ward};
use crate::signer_link::{LinkSettings, SignerLink, TransportError};
use crate::store::SqlStore;
use crate::store::Store;

/// The ward's director and deputy.
pub(crate) const DIRECTOR: &str = "w/director";
pub(crate) const DEPUTY: &str = "w/deputy";

/// A land record (DD-BD, which only the director signs) with `key` as its title, document and
/// idempotency key.
pub(crate) fn submission(key: &str) -> Submission {
    Submission {
        ward: "w".into(),
        procedure_code: "DD-BD".into(),
        title: key.into(),
        document: key.as_bytes().to_vec(),
        deadline: None,
        priority: Priority::Normal,
        idempotency_key: key.into(),
        signature_place: None,
    }
}

/// Submits a land record for each of `keys` and leases them all to the director: their ids.
pub(crate) async fn leased_to_director(engine: &Arc<Engine>, keys: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for key in keys {
        let (record, _) = engine
            .submit(submission(key), Actor::Intake("desk".into()))
            .await
            .expect("submit");
        ids.push(record.meta.id);
    }
    assert_eq!(engine.dispatch_signer(DIRECTOR, 10).await.len(), keys.len());
    ids
}

/// A signing client that connects only when used, to an address where nothing listens.
pub(crate) fn unused_signer() -> SignerLink {
    SignerLink::over_channel(
        tonic::transport::Endpoint::from_static("http://127.0.0.1:9").connect_lazy(),
        LinkSettings::default(),
        1 << 20,
        1 << 20,
    )
}

/// A signing service for tests: Sign answers with `sign` and CheckConfirmation with `check`, or
/// never (`None`); every other call never answers either.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FakeSigner {
    pub(crate) sign: Option<fn(pb::SignRequest) -> Result<pb::SignResponse, Status>>,
    pub(crate) check:
        Option<fn(pb::CheckConfirmationRequest) -> Result<pb::CheckConfirmationResponse, Status>>,
}

impl FakeSigner {
    /// A signing service that is there but never answers (hung, or stopped).
    pub(crate) const HUNG: FakeSigner = FakeSigner {
        sign: None,
        check: None,
    };

    /// A signing service whose Sign answers with `sign`; nothing else answers.
    pub(crate) fn signing(sign: fn(pb::SignRequest) -> Result<pb::SignResponse, Status>) -> Self {
        FakeSigner {
            sign: Some(sign),
            check: None,
        }
    }

    /// A link to this service in the same process, with `settings`.
    pub(crate) fn link(self, settings: LinkSettings) -> SignerLink {
        let service = tower::ServiceBuilder::new()
            .map_err(|never: std::convert::Infallible| -> TransportError { match never {} })
            .service(SignerServer::new(self));
        SignerLink::new(
            tower::util::BoxCloneSyncService::new(service),
            settings,
            1 << 20,
            1 << 20,
        )
    }
}

async fn never<T>() -> Result<Response<T>, Status> {
    std::future::pending().await
}

#[tonic::async_trait]
impl SignerService for FakeSigner {
    async fn sign(
        &self,
        request: Request<pb::SignRequest>,
    ) -> Result<Response<pb::SignResponse>, Status> {
        match self.sign {
            Some(sign) => sign(request.into_inner()).map(Response::new),
            None => never().await,
        }
    }
    async fn verify_pin(
        &self,
        _: Request<pb::VerifyPinRequest>,
    ) -> Result<Response<pb::VerifyPinResponse>, Status> {
        never().await
    }
    async fn sign_delegation(
        &self,
        _: Request<pb::SignDelegationRequest>,
    ) -> Result<Response<pb::SignDelegationResponse>, Status> {
        never().await
    }
    async fn get_signer_key(
        &self,
        _: Request<pb::GetSignerKeyRequest>,
    ) -> Result<Response<pb::GetSignerKeyResponse>, Status> {
        never().await
    }
    async fn list_signer_keys(
        &self,
        _: Request<pb::ListSignerKeysRequest>,
    ) -> Result<Response<pb::ListSignerKeysResponse>, Status> {
        never().await
    }
    async fn revoke_delegation(
        &self,
        _: Request<pb::RevokeDelegationRequest>,
    ) -> Result<Response<pb::RevokeDelegationResponse>, Status> {
        never().await
    }
    async fn sign_checkpoint(
        &self,
        _: Request<pb::SignCheckpointRequest>,
    ) -> Result<Response<pb::SignCheckpointResponse>, Status> {
        never().await
    }
    async fn check_confirmation(
        &self,
        request: Request<pb::CheckConfirmationRequest>,
    ) -> Result<Response<pb::CheckConfirmationResponse>, Status> {
        match self.check {
            Some(check) => check(request.into_inner()).map(Response::new),
            None => never().await,
        }
    }
}

/// The ward, in a store in `dir`, and an engine over it with `signer` as its signing client.
pub(crate) async fn engine(dir: &tempfile::TempDir, signer: SignerLink) -> Arc<Engine> {
    engine_over(dir, ward_store(dir).await, signer).await
}

/// The ward, in a store in `dir`.
pub(crate) async fn ward_store(dir: &tempfile::TempDir) -> Arc<SqlStore> {
    let store = Arc::new(SqlStore::open(&dir.path().join("s.db")).expect("store"));
    let system = || Actor::System;
    store
        .put_ward(
            Ward {
                id: "w".into(),
                name: "W".into(),
                office_hours: None,
                signature_titles: None,
                seal: SealMode::Off,
            },
            system(),
        )
        .await
        .expect("ward");
    for code in ["HT-KS", "DD-BD"] {
        store
            .put_procedure(
                Procedure {
                    code: code.into(),
                    name: code.into(),
                    rule: signq_calendar::Rule::working_days_15h(1),
                },
                system(),
            )
            .await
            .expect("procedure");
    }
    for (id, role) in [
        (DIRECTOR, SignerRole::Director),
        (DEPUTY, SignerRole::Deputy),
    ] {
        let signer = Signer {
            id: id.into(),
            display_name: id.into(),
            ward: "w".into(),
            role,
            certificate: Vec::new(),
            away: false,
            signature_image: None,
        };
        store.put_signer(signer, system()).await.expect("signer");
    }
    let now = OffsetDateTime::now_utc();
    let delegation = Delegation {
        id: "d".into(),
        ward: "w".into(),
        director_id: DIRECTOR.into(),
        deputy_id: DEPUTY.into(),
        procedure_codes: vec!["HT-KS".into()],
        not_before: now - Duration::from_secs(60),
        not_after: now + Duration::from_secs(86_400 * 30),
        daily_cap: 1,
        signed: Vec::new(),
        revoked_at: None,
        revoke_reason: None,
        notation: Default::default(),
    };
    store
        .put_delegation(delegation, system())
        .await
        .expect("delegation");
    store
}

/// The lease timeout of the engines made here.
pub(crate) const LEASE_TIMEOUT: Duration = Duration::from_secs(600);

/// An engine over `store` (in `dir`) with `signer` as its signing client.
pub(crate) async fn engine_over(
    dir: &tempfile::TempDir,
    store: Arc<SqlStore>,
    signer: SignerLink,
) -> Arc<Engine> {
    let settings = EngineSettings {
        max_document_bytes: 1024,
        lease_timeout: LEASE_TIMEOUT,
        session_ttl: Duration::from_secs(3600),
        utc_offset: time::UtcOffset::from_hms(7, 0, 0).expect("offset"),
        ca: dir.path().join("ca.pem"),
        crl: None,
        signer_max_request_bytes: 1 << 20,
        calendar: signq_calendar::Calendar::default(),
        at_risk: time::Duration::hours(7) + time::Duration::minutes(30),
        guard_in_clock_time: false,
        ownership: Default::default(),
        webhooks: Default::default(),
    };
    Engine::start(
        store,
        signer,
        Vec::new(),
        BalancerConfig::default(),
        settings,
    )
    .await
    .expect("engine")
}
