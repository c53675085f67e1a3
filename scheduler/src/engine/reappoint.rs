//! A new appointment date for a record that will be late: the intake system asks once, with a
//! reason, before the deadline; the ward's director approves it, signing the apology and new
//! appointment (form Mẫu 04) through the signing service with their own key, or refuses it. On
//! approval the record's deadline becomes the new date and the request keeps the original.

use signq_proto::v1::{Document, SignRequest};
use time::OffsetDateTime;

use super::{Engine, lock};
use crate::error::SchedError;
use crate::model::{
    Actor, Decision, Reappointment, ReappointmentState, Record, Signer, SignerRole,
};

/// How far ahead a new appointment may be.
const MAX_AHEAD: time::Duration = time::Duration::days(90);

/// The procedure code the apology is signed under.
const APOLOGY: &str = "MAU-04";

/// A time in Vietnam's time as the form prints it, e.g. "17:00 ngày 30/11/2026".
fn printed(t: OffsetDateTime) -> String {
    let t = t.to_offset(signq_calendar::VIETNAM);
    format!(
        "{:02}:{:02} ngày {:02}/{:02}/{}",
        t.hour(),
        t.minute(),
        t.day(),
        u8::from(t.month()),
        t.year()
    )
}

/// The apology and new appointment (form Mẫu 04) for `record`, from `ward`, signed by `director`.
fn apology(record: &Record, asked: &Reappointment, ward: &str, director: &Signer) -> Vec<u8> {
    format!(
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\n\n\
         PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ\n\n\
         {ward} xin lỗi Ông/Bà vì hồ sơ sau đây chưa được giải quyết đúng hạn.\n\n\
         Mã hồ sơ: {id}\nHồ sơ: {title} ({procedure})\n\
         Thời hạn trả kết quả đã hẹn: {original}\nLý do: {reason}\n\
         Thời hạn trả kết quả hẹn lại: {new}\n\n\
         {director}\n",
        id = record.meta.id,
        title = record.meta.title,
        procedure = record.meta.procedure_code,
        original = printed(asked.original_deadline),
        reason = asked.reason,
        new = printed(asked.new_deadline),
        director = director.display_name,
    )
    .into_bytes()
}

impl Engine {
    /// Stores a request for a new appointment date for record `id`, made by intake client
    /// `client`; pending until the director decides.
    pub async fn request_reappointment(
        &self,
        id: &str,
        reason: String,
        new_deadline: OffsetDateTime,
        client: String,
    ) -> Result<Reappointment, SchedError> {
        let now = OffsetDateTime::now_utc();
        if new_deadline > now + MAX_AHEAD {
            return Err(SchedError::invalid(
                "new_deadline",
                "is more than 90 days ahead",
            ));
        }
        // The store fills in the record's deadline, the time and the state as it stores it.
        let request = Reappointment {
            record_id: id.to_owned(),
            reason,
            original_deadline: now,
            new_deadline,
            requested_by: client.clone(),
            requested_at: now,
            state: ReappointmentState::Pending,
            decision: None,
        };
        let stored = self
            .store
            .request_reappointment(request, Actor::Intake(client))
            .await?;
        tracing::info!(record = id, "a new appointment date was asked for");
        Ok(stored)
    }

    /// The records of `director`'s ward whose request for a new appointment waits.
    pub async fn pending_reappointments(&self, director: &str) -> Result<Vec<Record>, SchedError> {
        let signer = self.director(director)?;
        Ok(self.store.pending_reappointments(&signer.ward).await?)
    }

    /// `director`'s decision on record `id`'s request: approved with the PIN (the apology is
    /// signed with their key and the deadline moves), or refused with a reason.
    pub async fn decide_reappointment(
        &self,
        director: &str,
        id: &str,
        approve: Option<String>,
        refusal: Option<String>,
    ) -> Result<Record, SchedError> {
        let signer = self.director(director)?;
        let record = self
            .store
            .get(id)
            .await?
            .filter(|r| r.meta.ward == signer.ward)
            .ok_or_else(|| {
                SchedError::NotFound(format!("record_id: no record {id} in your ward"))
            })?;
        let asked = record
            .reappointment
            .clone()
            .filter(|r| r.state == ReappointmentState::Pending)
            .ok_or_else(|| {
                SchedError::FailedPrecondition(format!(
                    "record {id} has no request for a new appointment waiting for a decision"
                ))
            })?;
        let now = OffsetDateTime::now_utc();
        let decision = match approve {
            Some(pin) => {
                let ward = self
                    .with_directory(|d| d.wards.get(&signer.ward).map(|w| w.name.clone()))
                    .unwrap_or_else(|| signer.ward.clone());
                let content = apology(&record, &asked, &ward, &signer);
                let reply = self
                    .signer()
                    .sign(SignRequest {
                        signer_id: signer.id.clone(),
                        pin,
                        delegation: Vec::new(),
                        documents: vec![Document {
                            record_id: format!("{id}/{APOLOGY}"),
                            procedure_code: APOLOGY.into(),
                            content: content.clone(),
                            attempt: 1,
                            // The apology is text: signed detached.
                            place: None,
                        }],
                        titles: None,
                        signature_image: Vec::new(),
                        confirmation_id: String::new(),
                    })
                    .await?;
                if reply.confirmation.is_some() {
                    return Err(SchedError::FailedPrecondition(format!(
                        "the key of {} is at a remote signing provider, which signs records of \
                         the queue only; the apology needs a key file or token",
                        signer.id
                    )));
                }
                let signature = reply.signatures.into_iter().next().ok_or_else(|| {
                    SchedError::Internal("the signing service returned no signature".into())
                })?;
                Decision {
                    by: signer.id.clone(),
                    at: now,
                    refusal: None,
                    apology: Some(content),
                    apology_signature: Some(signature.cms),
                }
            }
            None => Decision {
                by: signer.id.clone(),
                at: now,
                refusal,
                apology: None,
                apology_signature: None,
            },
        };
        let record = self
            .store
            .decide_reappointment(id, decision, Actor::Signer(signer.id.clone()))
            .await?;
        if record.reappointment.as_ref().map(|r| r.state) == Some(ReappointmentState::Approved) {
            lock(&self.balancer).set_deadline(id, record.meta.deadline, now);
        }
        self.notify(&record.meta.ward);
        Ok(record)
    }

    /// `id` as an enrolled director.
    fn director(&self, id: &str) -> Result<Signer, SchedError> {
        self.with_directory(|d| d.signers.get(id).cloned())
            .filter(|s| s.role == SignerRole::Director)
            .ok_or_else(|| {
                SchedError::PermissionDenied(format!(
                    "{id} is not a director: only the ward's director decides on a new appointment"
                ))
            })
    }
}
