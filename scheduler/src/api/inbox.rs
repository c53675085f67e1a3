//! The `Inbox` service: for directors and deputies, from the tablet (gRPC-web) or the CLI, on a
//! device enrolled for them. Calls after OpenSession carry the session's bearer token.
//!
//! Signing in proves the device as well as the PIN, so nobody without an enrolled device can try
//! PINs (and lock a director out) from the network, and the answer never depends on whether
//! another signer id exists: the device names its signer.

use std::pin::Pin;

use signq_proto::v1 as pb;
use signq_proto::v1::inbox_server::Inbox;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::convert::{self, ts};
use super::{Api, bearer, device, fields, observe};
use crate::error::SchedError;

const SERVICE: &str = "inbox";

/// Characters of a director's reason for refusing a new appointment, at most.
const MAX_REFUSAL: usize = 500;

/// Days of office sessions GetWorkingTime gives before today (for time past a deadline)...
const WORKING_TIME_PAST_DAYS: i64 = 31;
/// ...and after it (the longest time limits are a few weeks).
const WORKING_TIME_AHEAD_DAYS: i64 = 92;

impl Api {
    async fn get_device_checked(
        &self,
        request: Request<pb::GetDeviceRequest>,
    ) -> Result<pb::GetDeviceResponse, SchedError> {
        let device = device(&request)?;
        let (signer, ward_name) = self.engine.with_directory(|d| {
            let signer = d.signers.get(&device.signer_id).cloned();
            let ward = signer
                .as_ref()
                .and_then(|s| d.wards.get(&s.ward))
                .map(|w| w.name.clone());
            (signer, ward)
        });
        let signer = signer.ok_or_else(|| {
            SchedError::FailedPrecondition(format!(
                "this device is enrolled for {}, who is not enrolled in this scheduler; ask the operator",
                device.signer_id
            ))
        })?;
        Ok(pb::GetDeviceResponse {
            signer_id: signer.id,
            display_name: signer.display_name,
            role: convert::role(signer.role) as i32,
            ward: signer.ward,
            ward_name: ward_name.unwrap_or_default(),
            device: device.name,
        })
    }

    async fn open_session_checked(
        &self,
        request: Request<pb::OpenSessionRequest>,
    ) -> Result<pb::OpenSessionResponse, SchedError> {
        let device = device(&request)?;
        let req = request.into_inner();
        if !req.signer_id.is_empty() && req.signer_id != device.signer_id {
            // The same answer whether or not the id exists: nothing is learnt from it.
            return Err(SchedError::PermissionDenied(
                "signer_id: this device is enrolled for another signer".into(),
            ));
        }
        fields::pin(&req.pin)?;
        self.limits.session(&device.signer_id)?;
        let (token, session, signer) = self
            .engine
            .sign_in(&device.signer_id, &req.pin, &device.serial)
            .await?;
        Ok(pb::OpenSessionResponse {
            session: Some(pb::Session {
                token,
                signer_id: signer.id,
                display_name: signer.display_name,
                role: convert::role(signer.role) as i32,
                ward: signer.ward,
                expires_at: Some(ts(session.expires_at)),
            }),
        })
    }

    async fn approve_checked(
        &self,
        request: Request<pb::ApproveRequest>,
    ) -> Result<pb::ApproveResponse, SchedError> {
        let session = self.session(&request).await?;
        let req = request.into_inner();
        for (i, id) in req.record_ids.iter().enumerate() {
            fields::id(&format!("record_ids[{i}]"), id)?;
        }
        fields::pin(&req.pin)?;
        self.limits.approve(&session.signer_id)?;
        let approved = self
            .engine
            .approve(&session.signer_id, req.record_ids, req.pin)
            .await?;
        Ok(pb::ApproveResponse {
            records: approved
                .records
                .iter()
                .map(|r| self.engine.inbox_record(r, true))
                .collect(),
            confirmations: approved
                .confirmations
                .iter()
                .map(convert::confirmation)
                .collect(),
        })
    }

    async fn decide_reappointment_checked(
        &self,
        request: Request<pb::DecideReappointmentRequest>,
    ) -> Result<pb::DecideReappointmentResponse, SchedError> {
        let session = self.session(&request).await?;
        let req = request.into_inner();
        fields::id("record_id", &req.record_id)?;
        let (approve, refusal) = if req.approve {
            fields::pin(&req.pin)?;
            self.limits.approve(&session.signer_id)?;
            (Some(req.pin), None)
        } else {
            fields::text("refusal", &req.refusal, MAX_REFUSAL)?;
            (None, Some(req.refusal))
        };
        let record = self
            .engine
            .decide_reappointment(&session.signer_id, &req.record_id, approve, refusal)
            .await?;
        Ok(pb::DecideReappointmentResponse {
            record: Some(convert::record(&record, false)),
        })
    }

    async fn reject_checked(
        &self,
        request: Request<pb::RejectRequest>,
    ) -> Result<pb::RejectResponse, SchedError> {
        let session = self.session(&request).await?;
        let req = request.into_inner();
        fields::id("record_id", &req.record_id)?;
        fields::text("reason", &req.reason, 500)?;
        let record = self
            .engine
            .reject(&session.signer_id, &req.record_id, req.reason)
            .await?;
        Ok(pb::RejectResponse {
            record: Some(convert::record(&record, false)),
        })
    }

    async fn get_document_checked(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<pb::GetDocumentResponse, SchedError> {
        let session = self.session(&request).await?;
        let req = request.into_inner();
        fields::id("record_id", &req.record_id)?;
        let store = self.engine.store();
        let record = store.get(&req.record_id).await?.ok_or_else(|| {
            SchedError::NotFound(format!("record_id: no record {}", req.record_id))
        })?;
        // The store's lease decides, whichever replica runs the record's ward.
        let me = session.signer_id.as_str();
        let leased_here = record.state == crate::model::RecordState::Leased
            && record.lease.as_ref().is_some_and(|l| l.signer_id == me);
        let signed_by_me = (record.signed_at.is_some() && record.signer_id.as_deref() == Some(me))
            || (record.state == crate::model::RecordState::Signed
                && record.clerk_id.as_deref() == Some(me));
        if !leased_here && !signed_by_me {
            return Err(SchedError::FailedPrecondition(format!(
                "record_id: {} is neither in your inbox nor signed by you",
                req.record_id
            )));
        }
        let mut out = convert::record(&record, signed_by_me);
        out.document = store.document(&req.record_id).await?.unwrap_or_default();
        // A clerk sees what they seal: the PDF as its person signed it.
        if let Some(update) = store.pdf_update(&req.record_id).await? {
            out.signed_document = [out.document.as_slice(), &update].concat();
        }
        Ok(pb::GetDocumentResponse { record: Some(out) })
    }
}

/// The StreamInbox stream type.
pub type InboxStream = Pin<Box<dyn Stream<Item = Result<pb::StreamInboxResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Inbox for Api {
    async fn get_device(
        &self,
        request: Request<pb::GetDeviceRequest>,
    ) -> Result<Response<pb::GetDeviceResponse>, Status> {
        self.handle(SERVICE, "GetDevice", self.get_device_checked(request))
            .await
    }

    async fn open_session(
        &self,
        request: Request<pb::OpenSessionRequest>,
    ) -> Result<Response<pb::OpenSessionResponse>, Status> {
        self.handle(SERVICE, "OpenSession", self.open_session_checked(request))
            .await
    }

    async fn close_session(
        &self,
        request: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionResponse>, Status> {
        self.handle(SERVICE, "CloseSession", async {
            let session = self.session(&request).await?;
            self.engine.end_session(bearer(&request)?).await?;
            // A signer who signs out is no longer there to act on their leases.
            self.engine
                .release_all(&session.signer_id, crate::model::ReleaseReason::Away)
                .await;
            Ok(pb::CloseSessionResponse {})
        })
        .await
    }

    type StreamInboxStream = InboxStream;

    async fn stream_inbox(
        &self,
        request: Request<pb::StreamInboxRequest>,
    ) -> Result<Response<InboxStream>, Status> {
        let result = async {
            let session = self.session(&request).await?;
            self.engine.open_inbox(&session.signer_id).await
        }
        .await;
        let rx = observe(SERVICE, "StreamInbox", result)?;
        let stream =
            tokio_stream::StreamExt::map(tokio_stream::wrappers::ReceiverStream::new(rx), Ok);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn pull_next(
        &self,
        request: Request<pb::PullNextRequest>,
    ) -> Result<Response<pb::PullNextResponse>, Status> {
        self.handle(SERVICE, "PullNext", async {
            let session = self.session(&request).await?;
            let max = request.get_ref().max;
            if max < 0 {
                return Err(SchedError::invalid("max", "is negative"));
            }
            let max = if max == 0 { usize::MAX } else { max as usize };
            let records = self.engine.dispatch_signer(&session.signer_id, max).await;
            Ok(pb::PullNextResponse {
                records: records.iter().map(|r| convert::record(r, false)).collect(),
            })
        })
        .await
    }

    async fn approve(
        &self,
        request: Request<pb::ApproveRequest>,
    ) -> Result<Response<pb::ApproveResponse>, Status> {
        self.handle(SERVICE, "Approve", self.approve_checked(request))
            .await
    }

    async fn reject(
        &self,
        request: Request<pb::RejectRequest>,
    ) -> Result<Response<pb::RejectResponse>, Status> {
        self.handle(SERVICE, "Reject", self.reject_checked(request))
            .await
    }

    async fn set_away(
        &self,
        request: Request<pb::SetAwayRequest>,
    ) -> Result<Response<pb::SetAwayResponse>, Status> {
        self.handle(SERVICE, "SetAway", async {
            let session = self.session(&request).await?;
            let away = self
                .engine
                .set_away(&session.signer_id, request.get_ref().away)
                .await?;
            Ok(pb::SetAwayResponse { away })
        })
        .await
    }

    async fn get_document(
        &self,
        request: Request<pb::GetDocumentRequest>,
    ) -> Result<Response<pb::GetDocumentResponse>, Status> {
        self.handle(SERVICE, "GetDocument", self.get_document_checked(request))
            .await
    }

    async fn get_progress(
        &self,
        request: Request<pb::GetProgressRequest>,
    ) -> Result<Response<pb::GetProgressResponse>, Status> {
        self.handle(SERVICE, "GetProgress", async {
            let session = self.session(&request).await?;
            let progress = self.engine.progress(&session.signer_id).await?;
            Ok(pb::GetProgressResponse {
                waiting: u32::try_from(progress.waiting).unwrap_or(u32::MAX),
                lease_size: u32::try_from(progress.lease_size).unwrap_or(u32::MAX),
                signed_today: progress
                    .signed_today
                    .iter()
                    .map(|r| convert::record(r, true))
                    .collect(),
            })
        })
        .await
    }

    async fn list_reappointments(
        &self,
        request: Request<pb::ListReappointmentsRequest>,
    ) -> Result<Response<pb::ListReappointmentsResponse>, Status> {
        self.handle(SERVICE, "ListReappointments", async {
            let session = self.session(&request).await?;
            let records = self
                .engine
                .pending_reappointments(&session.signer_id)
                .await?;
            Ok(pb::ListReappointmentsResponse {
                records: records.iter().map(|r| convert::record(r, false)).collect(),
            })
        })
        .await
    }

    async fn decide_reappointment(
        &self,
        request: Request<pb::DecideReappointmentRequest>,
    ) -> Result<Response<pb::DecideReappointmentResponse>, Status> {
        self.handle(
            SERVICE,
            "DecideReappointment",
            self.decide_reappointment_checked(request),
        )
        .await
    }

    async fn get_working_time(
        &self,
        request: Request<pb::GetWorkingTimeRequest>,
    ) -> Result<Response<pb::GetWorkingTimeResponse>, Status> {
        self.handle(SERVICE, "GetWorkingTime", async {
            let session = self.session(&request).await?;
            let ward = self
                .engine
                .with_directory(|d| d.signers.get(&session.signer_id).map(|s| s.ward.clone()))
                .unwrap_or_default();
            let calendar = self.engine.calendar_for(&ward);
            let today = time::OffsetDateTime::now_utc()
                .to_offset(signq_calendar::VIETNAM)
                .date();
            let (first, last) = (
                today - time::Duration::days(WORKING_TIME_PAST_DAYS),
                today + time::Duration::days(WORKING_TIME_AHEAD_DAYS),
            );
            let sessions = std::iter::successors(Some(first), |d| d.next_day())
                .take_while(|d| *d <= last)
                .flat_map(|d| calendar.sessions(d))
                .map(|(start, end)| pb::WorkingSession {
                    start: Some(ts(start)),
                    end: Some(ts(end)),
                })
                .collect();
            Ok(pb::GetWorkingTimeResponse {
                sessions,
                from: Some(ts(calendar
                    .opening(first)
                    .replace_time(time::Time::MIDNIGHT))),
                until: Some(ts(calendar
                    .opening(last)
                    .replace_time(time::Time::MIDNIGHT)
                    + time::Duration::DAY)),
            })
        })
        .await
    }
}
