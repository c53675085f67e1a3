//! Between the domain model and the `signq.v1` messages.

use prost_types::Timestamp;
use signq_proto::v1 as pb;
use signq_signer::delegation::Notation;
use time::OffsetDateTime;

use crate::model::{
    Confirmation, Delegation, EventKind, Priority, Procedure, Reappointment, ReappointmentState,
    Record, RecordState, SealMode, Signer, SignerRole, Stage, Ward,
};

/// A time as a protobuf timestamp.
pub fn ts(t: OffsetDateTime) -> Timestamp {
    Timestamp {
        seconds: t.unix_timestamp(),
        nanos: t.nanosecond() as i32,
    }
}

/// A protobuf timestamp as a time; `None` if out of range.
pub fn from_ts(t: &Timestamp) -> Option<OffsetDateTime> {
    let nanos = i128::from(t.seconds) * 1_000_000_000 + i128::from(t.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

/// The protobuf state.
pub fn state(s: RecordState) -> pb::RecordState {
    match s {
        RecordState::Queued => pb::RecordState::Queued,
        RecordState::Leased => pb::RecordState::Leased,
        RecordState::Signed => pb::RecordState::Signed,
        RecordState::Rejected => pb::RecordState::Rejected,
        RecordState::Cancelled => pb::RecordState::Cancelled,
    }
}

/// The model state of a protobuf state; `None` for unspecified.
pub fn from_state(s: pb::RecordState) -> Option<RecordState> {
    match s {
        pb::RecordState::Unspecified => None,
        pb::RecordState::Queued => Some(RecordState::Queued),
        pb::RecordState::Leased => Some(RecordState::Leased),
        pb::RecordState::Signed => Some(RecordState::Signed),
        pb::RecordState::Rejected => Some(RecordState::Rejected),
        pb::RecordState::Cancelled => Some(RecordState::Cancelled),
    }
}

/// The protobuf priority.
pub fn priority(p: Priority) -> pb::Priority {
    match p {
        Priority::Normal => pb::Priority::Normal,
        Priority::High => pb::Priority::High,
        Priority::Urgent => pb::Priority::Urgent,
    }
}

/// The model priority; unspecified is normal.
pub fn from_priority(p: pb::Priority) -> Priority {
    match p {
        pb::Priority::Unspecified | pb::Priority::Normal => Priority::Normal,
        pb::Priority::High => Priority::High,
        pb::Priority::Urgent => Priority::Urgent,
    }
}

/// A record as the API shows it; signature and chain only when `with_signature`.
pub fn record(r: &Record, with_signature: bool) -> pb::Record {
    let m = &r.meta;
    pb::Record {
        id: m.id.clone(),
        ward: m.ward.clone(),
        procedure_code: m.procedure_code.clone(),
        title: m.title.clone(),
        state: state(r.state) as i32,
        priority: priority(m.priority) as i32,
        deadline: Some(ts(m.deadline)),
        submitted_at: Some(ts(m.submitted_at)),
        idempotency_key: m.idempotency_key.clone(),
        document_size: m.document_size,
        document_sha256: m.document_sha256.clone(),
        signer_id: r.signer_id.clone().unwrap_or_default(),
        stage: stage(r.stage) as i32,
        signed_at: r.signed_at.map(ts),
        clerk_id: r.clerk_id.clone().unwrap_or_default(),
        lease_expires_at: r.lease.as_ref().map(|l| ts(l.expires_at)),
        finished_at: r.finished_at.map(ts),
        delegation_id: r.delegation_id.clone().unwrap_or_default(),
        signature: if with_signature {
            r.signature.clone().unwrap_or_default()
        } else {
            Vec::new()
        },
        certificate_chain: if with_signature {
            r.chain.clone()
        } else {
            Vec::new()
        },
        reason: r.reason.clone().unwrap_or_default(),
        escalated: r.escalated,
        document: Vec::new(),
        at_risk_at: r.at_risk_at.map(ts),
        reappointment: r.reappointment.as_ref().map(reappointment),
        signature_place: m.signature_place.as_ref().map(place),
        signed_document: Vec::new(),
        // Set by the inbox, which knows what its signer's remote confirmations wait for.
        confirmation: None,
    }
}

/// A batch waiting for its person's confirmation, as the tablet shows it.
pub fn confirmation(c: &Confirmation) -> pb::Confirmation {
    pb::Confirmation {
        id: c.id.clone(),
        code: c.code.clone(),
        expires_at: Some(ts(c.expires_at)),
        signatures: c.signatures,
    }
}

/// Where a PDF's signature goes.
pub fn place(p: &signq_pades::Place) -> pb::SignaturePlace {
    let rect = p.rect.map_or([0.0; 4], |r| [r.x, r.y, r.width, r.height]);
    pb::SignaturePlace {
        page: p.page.unwrap_or(0),
        x: rect[0],
        y: rect[1],
        width: rect[2],
        height: rect[3],
        field: p.field.clone().unwrap_or_default(),
    }
}

/// A ward's titles for signature blocks.
pub fn titles(t: &signq_pades::Titles) -> pb::SignatureTitles {
    pb::SignatureTitles {
        body: t.body.clone(),
        head: t.head.clone(),
        deputy: t.deputy.clone(),
    }
}

/// How a deputy signs under a delegation.
pub fn notation(n: Notation) -> pb::DelegationNotation {
    match n {
        Notation::ForHead => pb::DelegationNotation::Kt,
        Notation::Authorised => pb::DelegationNotation::Tuq,
    }
}

/// The notation of a protobuf one; unset is KT.
pub fn from_notation(n: pb::DelegationNotation) -> Notation {
    match n {
        pb::DelegationNotation::Unspecified | pb::DelegationNotation::Kt => Notation::ForHead,
        pb::DelegationNotation::Tuq => Notation::Authorised,
    }
}

/// A request for a new appointment date.
pub fn reappointment(r: &Reappointment) -> pb::Reappointment {
    let state = match r.state {
        ReappointmentState::Pending => pb::ReappointmentState::Pending,
        ReappointmentState::Approved => pb::ReappointmentState::Approved,
        ReappointmentState::Refused => pb::ReappointmentState::Refused,
    };
    pb::Reappointment {
        record_id: r.record_id.clone(),
        reason: r.reason.clone(),
        original_deadline: Some(ts(r.original_deadline)),
        new_deadline: Some(ts(r.new_deadline)),
        requested_by: r.requested_by.clone(),
        requested_at: Some(ts(r.requested_at)),
        state: state as i32,
        decided_by: r
            .decision
            .as_ref()
            .map(|d| d.by.clone())
            .unwrap_or_default(),
        decided_at: r.decision.as_ref().map(|d| ts(d.at)),
        refusal: r
            .decision
            .as_ref()
            .and_then(|d| d.refusal.clone())
            .unwrap_or_default(),
        apology: r
            .decision
            .as_ref()
            .and_then(|d| d.apology.clone())
            .unwrap_or_default(),
        apology_signature: r
            .decision
            .as_ref()
            .and_then(|d| d.apology_signature.clone())
            .unwrap_or_default(),
    }
}

/// The protobuf kind of a watch event.
pub fn event_kind(kind: EventKind) -> pb::RecordEventKind {
    match kind {
        EventKind::Changed => pb::RecordEventKind::Changed,
        EventKind::AtRisk => pb::RecordEventKind::AtRisk,
    }
}

/// The protobuf signer role.
pub fn role(r: SignerRole) -> pb::SignerRole {
    match r {
        SignerRole::Director => pb::SignerRole::Director,
        SignerRole::Deputy => pb::SignerRole::Deputy,
        SignerRole::Clerk => pb::SignerRole::Clerk,
    }
}

/// The protobuf record stage.
fn stage(s: Stage) -> pb::RecordStage {
    match s {
        Stage::Person => pb::RecordStage::Person,
        Stage::Seal => pb::RecordStage::Seal,
    }
}

/// The protobuf seal mode.
fn seal_mode(m: SealMode) -> pb::SealMode {
    match m {
        SealMode::Off => pb::SealMode::Off,
        SealMode::Clerk => pb::SealMode::Clerk,
        SealMode::Automatic => pb::SealMode::Automatic,
    }
}

/// A seal mode from the protobuf (unspecified: off).
pub fn from_seal_mode(m: pb::SealMode) -> SealMode {
    match m {
        pb::SealMode::Unspecified | pb::SealMode::Off => SealMode::Off,
        pb::SealMode::Clerk => SealMode::Clerk,
        pb::SealMode::Automatic => SealMode::Automatic,
    }
}

/// A ward.
pub fn ward(w: &Ward) -> pb::Ward {
    pb::Ward {
        id: w.id.clone(),
        name: w.name.clone(),
        office_hours: w
            .office_hours
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        signature_titles: w.signature_titles.as_ref().map(titles),
        seal: seal_mode(w.seal) as i32,
    }
}

/// A procedure.
pub fn procedure(p: &Procedure) -> pb::Procedure {
    use pb::cut_off::Kind as CutOffKind;
    use pb::working_time_limit::Kind as LimitKind;
    use signq_calendar::{CutOff, TimeLimit};
    let limit = match p.rule.limit {
        TimeLimit::SameDay => LimitKind::SameDay(true),
        TimeLimit::WorkingDays(n) => LimitKind::WorkingDays(n),
        TimeLimit::WorkingHours(n) => LimitKind::WorkingHours(n),
    };
    let cut_off = match p.rule.cut_off {
        CutOff::Closing => CutOffKind::AtClosing(true),
        at @ CutOff::At(_) => CutOffKind::After(at.to_string()),
        CutOff::HourBeforeClosing => CutOffKind::HourBeforeClosing(true),
    };
    pb::Procedure {
        code: p.code.clone(),
        name: p.name.clone(),
        limit: Some(pb::WorkingTimeLimit { kind: Some(limit) }),
        cut_off: Some(pb::CutOff {
            kind: Some(cut_off),
        }),
    }
}

/// A delegation as registered.
pub fn delegation(d: &Delegation) -> pb::DelegationInfo {
    pb::DelegationInfo {
        delegation: Some(pb::Delegation {
            id: d.id.clone(),
            ward: d.ward.clone(),
            director_id: d.director_id.clone(),
            deputy_id: d.deputy_id.clone(),
            procedure_codes: d.procedure_codes.clone(),
            not_before: Some(ts(d.not_before)),
            not_after: Some(ts(d.not_after)),
            daily_cap: d.daily_cap,
            notation: notation(d.notation) as i32,
        }),
        revoked_at: d.revoked_at.map(ts),
        revoke_reason: d.revoke_reason.clone().unwrap_or_default(),
    }
}

/// A signer with its live load.
pub fn signer(s: &Signer, leased: u32, signed_today: u32) -> pb::SignerInfo {
    pb::SignerInfo {
        signer_id: s.id.clone(),
        display_name: s.display_name.clone(),
        ward: s.ward.clone(),
        role: role(s.role) as i32,
        away: s.away,
        leased,
        signed_today,
        has_signature_image: s.signature_image.is_some(),
        locked_until: None,
        held: Vec::new(),
    }
}

/// A record a signer holds, as the ward screen lists it.
pub fn held(r: &Record) -> pb::HeldRecord {
    pb::HeldRecord {
        record_id: r.meta.id.clone(),
        title: r.meta.title.clone(),
        deadline: Some(ts(r.meta.deadline)),
        lease_expires_at: r.lease.as_ref().map(|l| ts(l.expires_at)),
    }
}
