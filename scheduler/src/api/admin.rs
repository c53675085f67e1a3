//! The `Admin` service: for operators (operator-role certificate); directors may also register and
//! revoke their own ward's delegations with their session token.

use signq_kit::identity::Role;
use signq_proto::v1 as pb;
use signq_proto::v1::admin_server::Admin;
use tonic::{Request, Response, Status};

use super::{Api, convert, fields, peer};
use crate::error::SchedError;
use crate::model::{Actor, Procedure, RecordState, SignerRole, Ward};

const SERVICE: &str = "admin";

/// A registration as the engine takes it, each field checked.
fn registration(
    r: pb::SignerRegistration,
) -> Result<crate::engine::admin::Registration, SchedError> {
    fields::id("registration.signer_id", &r.signer_id)?;
    fields::text("registration.display_name", &r.display_name, 200)?;
    fields::id("registration.ward", &r.ward)?;
    let role = match r.role() {
        pb::SignerRole::Director => SignerRole::Director,
        pb::SignerRole::Deputy => SignerRole::Deputy,
        pb::SignerRole::Clerk => SignerRole::Clerk,
        pb::SignerRole::Unspecified => {
            return Err(SchedError::invalid(
                "registration.role",
                "is unset; director, deputy or clerk",
            ));
        }
    };
    if !r.signer_id.starts_with(&format!("{}/", r.ward)) {
        return Err(SchedError::invalid(
            "registration.signer_id",
            format!("must start with the ward's id: {}/…", r.ward),
        ));
    }
    Ok(crate::engine::admin::Registration {
        signer_id: r.signer_id,
        display_name: r.display_name,
        ward: r.ward,
        role,
    })
}

fn operator<T>(request: &Request<T>) -> Result<Actor, SchedError> {
    peer(request, &[Role::Operator]).map(|id| Actor::Operator(id.common_name))
}

impl Api {
    /// An operator certificate, or a director's session; the director may act on `ward` only.
    async fn operator_or_director<T>(
        &self,
        request: &Request<T>,
        ward: Option<&str>,
    ) -> Result<Actor, SchedError> {
        if let Ok(actor) = operator(request) {
            return Ok(actor);
        }
        let session = self.session(request).await?;
        let signer = self
            .engine
            .with_directory(|d| d.signers.get(&session.signer_id).cloned())
            .ok_or_else(|| {
                SchedError::Unauthenticated("the session's signer is no longer enrolled".into())
            })?;
        if signer.role != SignerRole::Director || ward.is_some_and(|w| w != signer.ward) {
            return Err(SchedError::PermissionDenied(format!(
                "{} may not manage delegations of this ward",
                signer.id
            )));
        }
        Ok(Actor::Signer(signer.id))
    }

    async fn statistics(&self, ward: &str) -> Result<pb::Statistics, SchedError> {
        let counts = self.engine.store().ward_counts(ward).await?;
        let n = |s: RecordState| counts.by_state.get(&s).copied().unwrap_or(0) as u32;
        let signed = n(RecordState::Signed);
        let ratio = |x: u64| {
            if signed == 0 {
                0.0
            } else {
                x as f64 / f64::from(signed)
            }
        };
        let mut waits = counts.waits_seconds.clone();
        waits.sort_by(f64::total_cmp);
        let pct = |q: f64| {
            if waits.is_empty() {
                return None;
            }
            let i = ((waits.len() as f64 - 1.0) * q).round() as usize;
            let secs = waits[i.min(waits.len() - 1)];
            Some(prost_types::Duration {
                seconds: secs as i64,
                nanos: ((secs.fract()) * 1e9) as i32,
            })
        };
        let now = time::OffsetDateTime::now_utc();
        let backlog_history = self.backlog_history(ward, now).await?;
        let oldest = counts.oldest_queued.map(|o| {
            let age = (now - o).whole_seconds().max(0);
            prost_types::Duration {
                seconds: age,
                nanos: 0,
            }
        });
        Ok(pb::Statistics {
            ward: ward.to_string(),
            queued: n(RecordState::Queued),
            leased: n(RecordState::Leased),
            signed,
            rejected: n(RecordState::Rejected),
            cancelled: n(RecordState::Cancelled),
            oldest_queued_age: oldest,
            on_time_ratio: ratio(counts.signed_on_time),
            reappointed_ratio: ratio(counts.signed_reappointed),
            director_share: ratio(counts.signed_by_director),
            wait_p50: pct(0.5),
            wait_p90: pct(0.9),
            wait_p99: pct(0.99),
            backlog_history,
        })
    }
}

#[tonic::async_trait]
impl Admin for Api {
    async fn create_ward(
        &self,
        request: Request<pb::CreateWardRequest>,
    ) -> Result<Response<pb::CreateWardResponse>, Status> {
        self.handle(SERVICE, "CreateWard", async {
            let actor = operator(&request)?;
            let ward = request
                .into_inner()
                .ward
                .ok_or_else(|| SchedError::invalid("ward", "is missing"))?;
            fields::id("ward.id", &ward.id)?;
            let seal = convert::from_seal_mode(ward.seal());
            fields::text("ward.name", &ward.name, 200)?;
            let office_hours = match ward.office_hours.as_str() {
                "" => None,
                text => Some(text.parse().map_err(|e: signq_calendar::HoursError| {
                    SchedError::invalid("ward.office_hours", e.to_string())
                })?),
            };
            let signature_titles = ward
                .signature_titles
                .as_ref()
                .map(|t| fields::signature_titles("ward.signature_titles", t))
                .transpose()?;
            let ward = self
                .engine
                .put_ward(
                    Ward {
                        id: ward.id,
                        name: ward.name,
                        office_hours,
                        signature_titles,
                        seal,
                    },
                    actor,
                )
                .await?;
            Ok(pb::CreateWardResponse {
                ward: Some(convert::ward(&ward)),
            })
        })
        .await
    }

    async fn list_wards(
        &self,
        request: Request<pb::ListWardsRequest>,
    ) -> Result<Response<pb::ListWardsResponse>, Status> {
        self.handle(SERVICE, "ListWards", async {
            operator(&request)?;
            let mut wards: Vec<pb::Ward> = self
                .engine
                .with_directory(|d| d.wards.values().map(convert::ward).collect());
            wards.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(pb::ListWardsResponse { wards })
        })
        .await
    }

    async fn enroll_signer(
        &self,
        request: Request<pb::EnrollSignerRequest>,
    ) -> Result<Response<pb::EnrollSignerResponse>, Status> {
        self.handle(SERVICE, "EnrollSigner", async {
            let actor = operator(&request)?;
            let req = request.into_inner();
            if req.certificate.is_empty() {
                return Err(SchedError::invalid("certificate", "is empty"));
            }
            let registration = req.registration.map(registration).transpose()?;
            let signer = self
                .engine
                .enroll_signer(req.certificate, registration, actor)
                .await?;
            Ok(pb::EnrollSignerResponse {
                signer: Some(convert::signer(&signer, 0, 0)),
            })
        })
        .await
    }

    async fn set_signature_image(
        &self,
        request: Request<pb::SetSignatureImageRequest>,
    ) -> Result<Response<pb::SetSignatureImageResponse>, Status> {
        self.handle(SERVICE, "SetSignatureImage", async {
            let actor = operator(&request)?;
            let req = request.into_inner();
            fields::id("signer_id", &req.signer_id)?;
            let signer = self
                .engine
                .set_signature_image(&req.signer_id, req.png, actor)
                .await?;
            let leased = self.engine.leased_records(&signer).await?.len() as u32;
            let today = self.engine.today_start(time::OffsetDateTime::now_utc());
            let signed = self
                .engine
                .store()
                .signed_per_signer_since(&signer.ward, today)
                .await?;
            let signed_today = signed.get(&signer.id).copied().unwrap_or(0);
            Ok(pb::SetSignatureImageResponse {
                signer: Some(convert::signer(&signer, leased, signed_today)),
            })
        })
        .await
    }

    async fn list_signers(
        &self,
        request: Request<pb::ListSignersRequest>,
    ) -> Result<Response<pb::ListSignersResponse>, Status> {
        self.handle(SERVICE, "ListSigners", async {
            let ward = request.get_ref().ward.clone();
            fields::id("ward", &ward)?;
            self.operator_or_director(&request, Some(&ward)).await?;
            self.known_ward(&ward)?;
            let mut signers: Vec<_> = self.engine.with_directory(|d| {
                d.signers
                    .values()
                    .filter(|s| s.ward == ward)
                    .cloned()
                    .collect()
            });
            signers.sort_by(|a, b| a.id.cmp(&b.id));
            let today = self.engine.today_start(time::OffsetDateTime::now_utc());
            let signed = self
                .engine
                .store()
                .signed_per_signer_since(&ward, today)
                .await?;
            let mut locks = self.locks(&ward).await;
            let mut shown = Vec::with_capacity(signers.len());
            for s in &signers {
                let held = self.held(s).await?;
                let mut info = convert::signer(
                    s,
                    held.len() as u32,
                    signed.get(&s.id).copied().unwrap_or(0),
                );
                info.locked_until = locks.remove(&s.id);
                info.held = held;
                shown.push(info);
            }
            let signers = shown;
            Ok(pb::ListSignersResponse { signers })
        })
        .await
    }

    async fn put_procedure(
        &self,
        request: Request<pb::PutProcedureRequest>,
    ) -> Result<Response<pb::PutProcedureResponse>, Status> {
        self.handle(SERVICE, "PutProcedure", async {
            let actor = operator(&request)?;
            let p = request
                .into_inner()
                .procedure
                .ok_or_else(|| SchedError::invalid("procedure", "is missing"))?;
            fields::procedure_code("procedure.code", &p.code)?;
            fields::text("procedure.name", &p.name, 200)?;
            let rule = fields::rule(&p)?;
            let procedure = Procedure {
                code: p.code,
                name: p.name,
                rule,
            };
            let procedure = self.engine.put_procedure(procedure, actor).await?;
            Ok(pb::PutProcedureResponse {
                procedure: Some(convert::procedure(&procedure)),
            })
        })
        .await
    }

    async fn list_procedures(
        &self,
        _request: Request<pb::ListProceduresRequest>,
    ) -> Result<Response<pb::ListProceduresResponse>, Status> {
        self.handle(SERVICE, "ListProcedures", async {
            let mut procedures: Vec<pb::Procedure> = self
                .engine
                .with_directory(|d| d.procedures.values().map(convert::procedure).collect());
            procedures.sort_by(|a, b| a.code.cmp(&b.code));
            Ok(pb::ListProceduresResponse { procedures })
        })
        .await
    }

    async fn create_delegation(
        &self,
        request: Request<pb::CreateDelegationRequest>,
    ) -> Result<Response<pb::CreateDelegationResponse>, Status> {
        self.handle(SERVICE, "CreateDelegation", async {
            let session = self.session(&request).await?;
            let director = self
                .engine
                .with_directory(|d| d.signers.get(&session.signer_id).cloned())
                .filter(|s| s.role == SignerRole::Director)
                .ok_or_else(|| {
                    SchedError::PermissionDenied("only a director creates delegations".into())
                })?;
            let req = request.into_inner();
            fields::id("deputy_id", &req.deputy_id)?;
            if req.procedure_codes.is_empty() {
                return Err(SchedError::invalid("procedure_codes", "names no procedure"));
            }
            for (i, code) in req.procedure_codes.iter().enumerate() {
                let field = format!("procedure_codes[{i}]");
                fields::procedure_code(&field, code)?;
                self.known_procedure(&field, code)?;
            }
            let now = time::OffsetDateTime::now_utc();
            let not_after = req
                .not_after
                .as_ref()
                .ok_or_else(|| SchedError::invalid("not_after", "is missing"))?;
            let not_after = fields::timestamp("not_after", not_after)?;
            if not_after <= now {
                return Err(SchedError::invalid("not_after", "is in the past"));
            }
            if let Some(not_before) = &req.not_before
                && fields::timestamp("not_before", not_before)? >= not_after
            {
                return Err(SchedError::invalid("not_before", "is not before not_after"));
            }
            fields::pin(&req.pin)?;
            let delegation = pb::Delegation {
                id: String::new(),
                ward: director.ward.clone(),
                director_id: director.id.clone(),
                deputy_id: req.deputy_id,
                procedure_codes: req.procedure_codes,
                not_before: req.not_before,
                not_after: req.not_after,
                daily_cap: req.daily_cap,
                notation: fields::known_enum::<pb::DelegationNotation>("notation", req.notation)?
                    as i32,
            };
            let signed = self
                .engine
                .sign_delegation(&director.id, &req.pin, delegation)
                .await?;
            let actor = Actor::Signer(director.id.clone());
            let registered = self
                .engine
                .register_delegation(signed, actor, Some(&director.id))
                .await?;
            Ok(pb::CreateDelegationResponse {
                delegation: Some(convert::delegation(&registered)),
            })
        })
        .await
    }

    async fn register_delegation(
        &self,
        request: Request<pb::RegisterDelegationRequest>,
    ) -> Result<Response<pb::RegisterDelegationResponse>, Status> {
        self.handle(SERVICE, "RegisterDelegation", async {
            let actor = self.operator_or_director(&request, None).await?;
            let signed = request.into_inner().signed_delegation;
            if signed.is_empty() {
                return Err(SchedError::invalid("signed_delegation", "is empty"));
            }
            let only = match &actor {
                Actor::Signer(director) => Some(director.clone()),
                _ => None,
            };
            let delegation = self
                .engine
                .register_delegation(signed, actor, only.as_deref())
                .await?;
            Ok(pb::RegisterDelegationResponse {
                delegation: Some(convert::delegation(&delegation)),
            })
        })
        .await
    }

    async fn list_delegations(
        &self,
        request: Request<pb::ListDelegationsRequest>,
    ) -> Result<Response<pb::ListDelegationsResponse>, Status> {
        self.handle(SERVICE, "ListDelegations", async {
            let ward = request.get_ref().ward.clone();
            fields::id("ward", &ward)?;
            self.operator_or_director(&request, Some(&ward)).await?;
            self.known_ward(&ward)?;
            let mut delegations = self.engine.with_directory(|d| d.ward_delegations(&ward));
            delegations.sort_by(|a, b| a.id.cmp(&b.id));
            Ok(pb::ListDelegationsResponse {
                delegations: delegations.iter().map(convert::delegation).collect(),
            })
        })
        .await
    }

    async fn revoke_delegation(
        &self,
        request: Request<pb::AdminRevokeDelegationRequest>,
    ) -> Result<Response<pb::AdminRevokeDelegationResponse>, Status> {
        self.handle(SERVICE, "RevokeDelegation", async {
            let req = request.get_ref().clone();
            fields::id("delegation_id", &req.delegation_id)?;
            fields::text("reason", &req.reason, 500)?;
            let ward = self
                .engine
                .with_directory(|d| {
                    d.delegations
                        .get(&req.delegation_id)
                        .map(|d| d.ward.clone())
                })
                .ok_or_else(|| {
                    SchedError::NotFound(format!(
                        "delegation_id: no delegation {}",
                        req.delegation_id
                    ))
                })?;
            let actor = self.operator_or_director(&request, Some(&ward)).await?;
            let delegation = self
                .engine
                .revoke_delegation(&req.delegation_id, &req.reason, actor)
                .await?;
            Ok(pb::AdminRevokeDelegationResponse {
                delegation: Some(convert::delegation(&delegation)),
            })
        })
        .await
    }

    async fn get_statistics(
        &self,
        request: Request<pb::GetStatisticsRequest>,
    ) -> Result<Response<pb::GetStatisticsResponse>, Status> {
        self.handle(SERVICE, "GetStatistics", async {
            let ward = request.get_ref().ward.clone();
            fields::id("ward", &ward)?;
            self.operator_or_director(&request, Some(&ward)).await?;
            self.known_ward(&ward)?;
            Ok(pb::GetStatisticsResponse {
                statistics: Some(self.statistics(&ward).await?),
            })
        })
        .await
    }
    async fn register_webhook(
        &self,
        request: Request<pb::RegisterWebhookRequest>,
    ) -> Result<Response<pb::RegisterWebhookResponse>, Status> {
        self.handle(SERVICE, "RegisterWebhook", async {
            let actor = operator(&request)?;
            self.register_webhook_as(actor, request.into_inner()).await
        })
        .await
    }

    async fn list_webhooks(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        self.handle(SERVICE, "ListWebhooks", async {
            operator(&request)?;
            self.list_webhooks_checked(request.into_inner()).await
        })
        .await
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        self.handle(SERVICE, "DeleteWebhook", async {
            let actor = operator(&request)?;
            self.delete_webhook_as(actor, request.into_inner()).await
        })
        .await
    }

    async fn list_dead_letters(
        &self,
        request: Request<pb::ListDeadLettersRequest>,
    ) -> Result<Response<pb::ListDeadLettersResponse>, Status> {
        self.handle(SERVICE, "ListDeadLetters", async {
            operator(&request)?;
            self.list_dead_letters_checked(request.into_inner()).await
        })
        .await
    }

    async fn redeliver_dead_letters(
        &self,
        request: Request<pb::RedeliverDeadLettersRequest>,
    ) -> Result<Response<pb::RedeliverDeadLettersResponse>, Status> {
        self.handle(SERVICE, "RedeliverDeadLetters", async {
            let actor = operator(&request)?;
            self.redeliver_dead_letters_as(actor, request.into_inner())
                .await
        })
        .await
    }
}
