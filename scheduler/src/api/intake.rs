//! The `Intake` service: for intake systems with an intake-role certificate (operators may read).
//!
//! An intake system acts only for the wards its certificate names (`signq pki client --role
//! intake --ward W`): it submits, reads, lists, watches and cancels their records and no others.
//! A record of another ward is answered as if it did not exist; a ward it may not act for is
//! refused with the wards it may. Operators act for every ward.

use std::pin::Pin;

use signq_kit::identity::Role;
use signq_proto::v1 as pb;
use signq_proto::v1::intake_server::Intake;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::convert;
use super::{Api, fields, observe, peer};
use crate::engine::intake::Submission;
use crate::error::SchedError;
use crate::model::Actor;

const SERVICE: &str = "intake";
/// Longest title.
const MAX_TITLE: usize = 200;
/// Longest reason.
const MAX_REASON: usize = 500;
/// Largest page.
const MAX_PAGE: i32 = 500;

/// Who calls, and for which wards.
struct Caller {
    /// The certificate's name.
    name: String,
    /// The wards it may act for; `None` for every ward (an operator).
    wards: Option<Vec<String>>,
}

impl Caller {
    fn of<T>(request: &Request<T>, roles: &[Role]) -> Result<Caller, SchedError> {
        let id = peer(request, roles)?;
        let wards = (!id.has_role(Role::Operator)).then_some(id.wards);
        Ok(Caller {
            name: id.common_name,
            wards,
        })
    }

    fn may_act_for(&self, ward: &str) -> bool {
        self.wards
            .as_ref()
            .is_none_or(|wards| wards.iter().any(|w| w == ward))
    }

    /// Refuses a ward the certificate does not name, saying which it does.
    fn check_ward(&self, ward: &str) -> Result<(), SchedError> {
        if self.may_act_for(ward) {
            return Ok(());
        }
        let named = self.wards.as_deref().unwrap_or_default();
        Err(SchedError::PermissionDenied(format!(
            "ward: certificate {:?} acts for {}; ask for a certificate naming this ward",
            self.name,
            if named.is_empty() {
                "no ward".to_string()
            } else {
                format!("ward(s) {}", named.join(", "))
            }
        )))
    }
}

impl Api {
    /// The record `id`, if the caller may see it: a record of a ward the caller does not act for
    /// is answered as one that does not exist.
    async fn record_for(
        &self,
        client: &Caller,
        id: &str,
    ) -> Result<crate::model::Record, SchedError> {
        self.engine
            .store()
            .get(id)
            .await?
            .filter(|r| client.may_act_for(&r.meta.ward))
            .ok_or_else(|| SchedError::NotFound(format!("id: no record {}", fields::shown(id))))
    }

    async fn submit_checked(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<pb::SubmitResponse, SchedError> {
        let client = Caller::of(&request, &[Role::Intake])?;
        let req = request.into_inner();
        fields::id("ward", &req.ward)?;
        client.check_ward(&req.ward)?;
        fields::procedure_code("procedure_code", &req.procedure_code)?;
        fields::text("title", &req.title, MAX_TITLE)?;
        if req.document.is_empty() {
            return Err(SchedError::invalid("document", "is empty"));
        }
        fields::text("idempotency_key", &req.idempotency_key, 128)?;
        let priority = convert::from_priority(fields::known_enum("priority", req.priority)?);
        let deadline = match &req.deadline {
            Some(t) => Some(fields::timestamp("deadline", t)?),
            None => None,
        };
        self.limits.submit(&client.name, &req.ward)?;
        let submission = Submission {
            ward: req.ward,
            procedure_code: req.procedure_code,
            title: req.title,
            document: req.document,
            deadline,
            priority,
            idempotency_key: req.idempotency_key,
            signature_place: req
                .signature_place
                .as_ref()
                .map(|p| fields::signature_place("signature_place", p))
                .transpose()?,
        };
        let (record, _) = self
            .engine
            .submit(submission, Actor::Intake(client.name))
            .await?;
        Ok(pb::SubmitResponse {
            record: Some(convert::record(&record, false)),
        })
    }

    async fn get_checked(
        &self,
        request: Request<pb::GetRecordRequest>,
    ) -> Result<pb::GetRecordResponse, SchedError> {
        let client = Caller::of(&request, &[Role::Intake, Role::Operator])?;
        let req = request.into_inner();
        fields::id("id", &req.id)?;
        let record = self.record_for(&client, &req.id).await?;
        let store = self.engine.store();
        let mut out = convert::record(&record, true);
        if req.include_document {
            out.document = store.document(&req.id).await?.unwrap_or_default();
            if let Some(update) = store.pdf_update(&req.id).await? {
                out.signed_document = [out.document.as_slice(), &update].concat();
            }
        }
        Ok(pb::GetRecordResponse { record: Some(out) })
    }

    async fn list_checked(
        &self,
        request: Request<pb::ListRecordsRequest>,
    ) -> Result<pb::ListRecordsResponse, SchedError> {
        let client = Caller::of(&request, &[Role::Intake, Role::Operator])?;
        let req = request.into_inner();
        fields::id("ward", &req.ward)?;
        client.check_ward(&req.ward)?;
        self.known_ward(&req.ward)?;
        let state = convert::from_state(fields::known_enum("state", req.state)?);
        if !(0..=MAX_PAGE).contains(&req.page_size) {
            return Err(SchedError::invalid(
                "page_size",
                format!("{}; use 1 to {MAX_PAGE}, or 0 for 50", req.page_size),
            ));
        }
        let size = if req.page_size == 0 {
            50
        } else {
            req.page_size as usize
        };
        let after = if req.page_token.is_empty() {
            None
        } else {
            fields::id("page_token", &req.page_token)?;
            Some(req.page_token.as_str())
        };
        let records = self
            .engine
            .store()
            .list(&req.ward, state, after, size + 1)
            .await
            .map_err(|e| match e {
                crate::store::StoreError::NotFound(_) => {
                    SchedError::invalid("page_token", "is not a token from a previous page")
                }
                other => other.into(),
            })?;
        let more = records.len() > size;
        let records: Vec<_> = records.into_iter().take(size).collect();
        let next_page_token = if more {
            records
                .last()
                .map(|r| r.meta.id.clone())
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListRecordsResponse {
            records: records.iter().map(|r| convert::record(r, false)).collect(),
            next_page_token,
        })
    }

    async fn cancel_checked(
        &self,
        request: Request<pb::CancelRecordRequest>,
    ) -> Result<pb::CancelRecordResponse, SchedError> {
        let client = Caller::of(&request, &[Role::Intake, Role::Operator])?;
        let req = request.into_inner();
        fields::id("id", &req.id)?;
        fields::text("reason", &req.reason, MAX_REASON)?;
        self.record_for(&client, &req.id).await?;
        let record = self
            .engine
            .cancel(&req.id, req.reason, Actor::Intake(client.name))
            .await?;
        Ok(pb::CancelRecordResponse {
            record: Some(convert::record(&record, false)),
        })
    }
}

impl Api {
    async fn reappointment_checked(
        &self,
        request: Request<pb::RequestReappointmentRequest>,
    ) -> Result<pb::RequestReappointmentResponse, SchedError> {
        let client = Caller::of(&request, &[Role::Intake])?;
        let req = request.into_inner();
        fields::id("id", &req.id)?;
        fields::text("reason", &req.reason, MAX_REASON)?;
        let new_deadline = req
            .new_deadline
            .ok_or_else(|| SchedError::invalid("new_deadline", "is missing"))
            .and_then(|t| fields::timestamp("new_deadline", &t))?;
        self.record_for(&client, &req.id).await?;
        let stored = self
            .engine
            .request_reappointment(&req.id, req.reason, new_deadline, client.name)
            .await?;
        Ok(pb::RequestReappointmentResponse {
            reappointment: Some(convert::reappointment(&stored)),
        })
    }
}

/// The WatchRecords stream type.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchRecordsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Intake for Api {
    async fn submit(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<Response<pb::SubmitResponse>, Status> {
        self.handle(SERVICE, "Submit", self.submit_checked(request))
            .await
    }

    async fn get_record(
        &self,
        request: Request<pb::GetRecordRequest>,
    ) -> Result<Response<pb::GetRecordResponse>, Status> {
        self.handle(SERVICE, "GetRecord", self.get_checked(request))
            .await
    }

    async fn list_records(
        &self,
        request: Request<pb::ListRecordsRequest>,
    ) -> Result<Response<pb::ListRecordsResponse>, Status> {
        self.handle(SERVICE, "ListRecords", self.list_checked(request))
            .await
    }

    type WatchRecordsStream = WatchStream;

    async fn watch_records(
        &self,
        request: Request<pb::WatchRecordsRequest>,
    ) -> Result<Response<WatchStream>, Status> {
        let checked = (|| {
            let client = Caller::of(&request, &[Role::Intake, Role::Operator])?;
            let req = request.get_ref();
            fields::id("ward", &req.ward)?;
            client.check_ward(&req.ward)?;
            self.known_ward(&req.ward)
        })();
        observe(SERVICE, "WatchRecords", checked)?;
        let req = request.into_inner();
        let rx = self.engine.watch(req.ward, req.after_cursor);
        let stream =
            tokio_stream::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), |item| {
                item.map(|e| pb::WatchRecordsResponse {
                    cursor: e.cursor,
                    record: Some(convert::record(&e.record, false)),
                    at: Some(convert::ts(e.at)),
                    kind: convert::event_kind(e.kind) as i32,
                })
                .map_err(Status::from)
            });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn cancel_record(
        &self,
        request: Request<pb::CancelRecordRequest>,
    ) -> Result<Response<pb::CancelRecordResponse>, Status> {
        self.handle(SERVICE, "CancelRecord", self.cancel_checked(request))
            .await
    }

    async fn request_reappointment(
        &self,
        request: Request<pb::RequestReappointmentRequest>,
    ) -> Result<Response<pb::RequestReappointmentResponse>, Status> {
        self.handle(
            SERVICE,
            "RequestReappointment",
            self.reappointment_checked(request),
        )
        .await
    }
}
