//! The `Intake` service: for intake systems with an intake-role certificate (operators may read).

use std::pin::Pin;

use signq_kit::identity::Role;
use signq_proto::v1 as pb;
use signq_proto::v1::intake_server::Intake;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::convert::{self, from_ts};
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

fn caller<T>(request: &Request<T>, roles: &[Role]) -> Result<String, SchedError> {
    peer(request, roles).map(|id| id.common_name)
}

impl Api {
    async fn submit_checked(
        &self,
        request: Request<pb::SubmitRequest>,
    ) -> Result<pb::SubmitResponse, SchedError> {
        let client = caller(&request, &[Role::Intake])?;
        let req = request.into_inner();
        fields::id("ward", &req.ward)?;
        fields::procedure_code("procedure_code", &req.procedure_code)?;
        fields::text("title", &req.title, MAX_TITLE)?;
        if req.document.is_empty() {
            return Err(SchedError::invalid("document", "is empty"));
        }
        fields::text("idempotency_key", &req.idempotency_key, 128)?;
        let priority = convert::from_priority(fields::known_enum("priority", req.priority)?);
        let deadline = match &req.deadline {
            Some(t) => {
                Some(from_ts(t).ok_or_else(|| SchedError::invalid("deadline", "is out of range"))?)
            }
            None => None,
        };
        self.limits.submit(&client, &req.ward)?;
        let submission = Submission {
            ward: req.ward,
            procedure_code: req.procedure_code,
            title: req.title,
            document: req.document,
            deadline,
            priority,
            idempotency_key: req.idempotency_key,
        };
        let (record, _) = self
            .engine
            .submit(submission, Actor::Intake(client))
            .await?;
        Ok(pb::SubmitResponse {
            record: Some(convert::record(&record, false)),
        })
    }

    async fn get_checked(
        &self,
        request: Request<pb::GetRecordRequest>,
    ) -> Result<pb::GetRecordResponse, SchedError> {
        caller(&request, &[Role::Intake, Role::Operator])?;
        let req = request.into_inner();
        fields::id("id", &req.id)?;
        let store = self.engine.store();
        let record = store
            .get(&req.id)
            .await?
            .ok_or_else(|| SchedError::NotFound(format!("id: no record {}", req.id)))?;
        let mut out = convert::record(&record, true);
        if req.include_document {
            out.document = store.document(&req.id).await?.unwrap_or_default();
        }
        Ok(pb::GetRecordResponse { record: Some(out) })
    }

    async fn list_checked(
        &self,
        request: Request<pb::ListRecordsRequest>,
    ) -> Result<pb::ListRecordsResponse, SchedError> {
        caller(&request, &[Role::Intake, Role::Operator])?;
        let req = request.into_inner();
        fields::id("ward", &req.ward)?;
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
        let client = caller(&request, &[Role::Intake, Role::Operator])?;
        let req = request.into_inner();
        fields::id("id", &req.id)?;
        fields::text("reason", &req.reason, MAX_REASON)?;
        let record = self
            .engine
            .cancel(&req.id, req.reason, Actor::Intake(client))
            .await?;
        Ok(pb::CancelRecordResponse {
            record: Some(convert::record(&record, false)),
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
            self.limits.global(SERVICE)?;
            caller(&request, &[Role::Intake, Role::Operator])?;
            let req = request.get_ref();
            fields::id("ward", &req.ward)?;
            if !self
                .engine
                .with_directory(|d| d.wards.contains_key(&req.ward))
            {
                return Err(SchedError::NotFound(format!(
                    "ward: no ward {:?}",
                    req.ward
                )));
            }
            Ok(())
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
}
