//! The scheduler's domain: records and their states, leases with fencing, wards, signers,
//! procedures and delegations. Plain data shared by the store, the balancer and the services.

use time::OffsetDateTime;

/// Where a record is in its life (the `.proto`'s `RecordState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordState {
    /// Waiting in the ward's pool (or, under an early-binding policy, in a signer's queue).
    Queued,
    /// Leased to one signer.
    Leased,
    /// Signed; final.
    Signed,
    /// Rejected by a signer; final.
    Rejected,
    /// Cancelled by intake; final.
    Cancelled,
}

impl RecordState {
    /// The name stored in the database and shown in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Queued => "queued",
            RecordState::Leased => "leased",
            RecordState::Signed => "signed",
            RecordState::Rejected => "rejected",
            RecordState::Cancelled => "cancelled",
        }
    }

    /// Parses [`RecordState::as_str`].
    pub fn parse(s: &str) -> Option<RecordState> {
        [
            Self::Queued,
            Self::Leased,
            Self::Signed,
            Self::Rejected,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// Whether no transition leaves this state.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RecordState::Signed | RecordState::Rejected | RecordState::Cancelled
        )
    }
}

/// Which signature a record waits for. A PDF of a ward that seals its results gets two, in
/// this order (Decree 30/2020, Art. 32.2): the competent person's, then the ward's seal applied
/// by a clerk. Everything else finishes with the person's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// A director or deputy signs it.
    Person,
    /// The person has signed; a clerk applies the ward's seal.
    Seal,
}

impl Stage {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Person => "person",
            Stage::Seal => "seal",
        }
    }

    /// Parses [`Stage::as_str`].
    pub fn parse(s: &str) -> Option<Stage> {
        [Stage::Person, Stage::Seal]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// How a ward applies its seal to signed PDFs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SealMode {
    /// Not by signq: a record is done once the person has signed.
    #[default]
    Off,
    /// A clerk approves each batch of seals in the tablet app, with their PIN.
    Clerk,
    /// The signing service applies it as soon as the person has signed, with a clerk's key it
    /// holds unlocked for that purpose.
    Automatic,
}

impl SealMode {
    /// As stored and typed (`off`, `clerk`, `automatic`).
    pub fn as_str(self) -> &'static str {
        match self {
            SealMode::Off => "off",
            SealMode::Clerk => "clerk",
            SealMode::Automatic => "automatic",
        }
    }

    /// Parses [`SealMode::as_str`].
    pub fn parse(s: &str) -> Option<SealMode> {
        [SealMode::Off, SealMode::Clerk, SealMode::Automatic]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// Urgency beside the deadline; higher first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    /// The default.
    Normal = 1,
    /// Ahead of normal records with the same deadline.
    High = 2,
    /// Ahead of everything with the same deadline.
    Urgent = 3,
}

impl Priority {
    /// From the stored number; unknown numbers are normal.
    pub fn from_i64(v: i64) -> Priority {
        match v {
            3 => Priority::Urgent,
            2 => Priority::High,
            _ => Priority::Normal,
        }
    }
}

/// A signer's role, as in the signing certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignerRole {
    /// Signs everything in the ward; takes deputy-signable records last.
    Director,
    /// Signs what a delegation covers.
    Deputy,
    /// A clerk (văn thư): applies the ward's seal after a person has signed, nothing else.
    Clerk,
}

/// The facts of a record fixed at submission.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordMeta {
    /// The record id (assigned by the scheduler).
    pub id: String,
    /// The ward.
    pub ward: String,
    /// The procedure code.
    pub procedure_code: String,
    /// A title for people.
    pub title: String,
    /// The priority.
    pub priority: Priority,
    /// The deadline.
    pub deadline: OffsetDateTime,
    /// When it was accepted.
    pub submitted_at: OffsetDateTime,
    /// The intake client's idempotency key (unique per ward).
    pub idempotency_key: String,
    /// The document's size in bytes.
    pub document_size: u64,
    /// The document's SHA-256, lowercase hex.
    pub document_sha256: String,
    /// For a PDF: where its visible signature goes, if intake asked for a place (`None`: the
    /// last page, bottom right).
    pub signature_place: Option<signq_pades::Place>,
}

/// The signer holding a record, and the fencing token of that lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The signer.
    pub signer_id: String,
    /// The record's lease attempt number: incremented by every new lease, and required by every
    /// transition out of the lease, so that a stale holder can never overwrite a newer one.
    pub attempt: u32,
    /// When the lease returns to the pool if not acted on.
    pub expires_at: OffsetDateTime,
}

/// A signer's session as the store keeps it: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    /// The SHA-256 of the session's bearer token, hex.
    pub token_sha256: String,
    /// The signer.
    pub signer_id: String,
    /// The serial of the device certificate that opened it.
    pub device: String,
    /// When it ends unless used again.
    pub expires_at: OffsetDateTime,
}

/// A batch whose signer's key is at a remote provider, waiting for the person to confirm it in
/// their signing app: its records stay leased to them until the signing service says it was
/// confirmed (then they are signed) or refused or expired (then they return to the pool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// Its id in the signing service.
    pub id: String,
    /// The signer.
    pub signer_id: String,
    /// The short code the tablet and the signing app both show.
    pub code: String,
    /// When it expires unconfirmed.
    pub expires_at: OffsetDateTime,
    /// How many signatures it covers.
    pub signatures: u32,
    /// Its records and their lease attempts, in the batch's order.
    pub records: Vec<(String, u32)>,
    /// Whether the batch is the ward's seal (a clerk's) rather than a person's signature.
    pub seal: bool,
    /// The delegation a deputy's batch is signed under.
    pub delegation_id: Option<String>,
}

/// A record as stored (the document itself is kept apart and read only when needed).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The fixed facts.
    pub meta: RecordMeta,
    /// The state.
    pub state: RecordState,
    /// Which signature it waits for (or, once final, the last it waited for).
    pub stage: Stage,
    /// The last lease attempt number (0: never leased).
    pub attempt: u32,
    /// The current lease (state Leased only).
    pub lease: Option<Lease>,
    /// The person who signed or rejected it, or holds it (Leased at the person stage).
    pub signer_id: Option<String>,
    /// The delegation a deputy signed under.
    pub delegation_id: Option<String>,
    /// When the person signed it.
    pub signed_at: Option<OffsetDateTime>,
    /// The clerk who sealed it or refused the seal, or holds it (Leased at the seal stage).
    pub clerk_id: Option<String>,
    /// When it reached a final state.
    pub finished_at: Option<OffsetDateTime>,
    /// The person's detached CMS signature (once signed).
    pub signature: Option<Vec<u8>>,
    /// The certificate chain, signer first (Signed only).
    pub chain: Vec<Vec<u8>>,
    /// Why it was rejected or cancelled.
    pub reason: Option<String>,
    /// Whether the deadline guard escalated it to the director.
    pub escalated: bool,
    /// When it was found at risk of being late (less than the at-risk margin of working time
    /// left while unsigned); set once.
    pub at_risk_at: Option<OffsetDateTime>,
    /// Its request for a new appointment date, if any (at most one).
    pub reappointment: Option<Reappointment>,
}

impl Record {
    /// A record just submitted: queued for its person, never leased, nothing signed.
    pub fn queued(meta: RecordMeta) -> Record {
        Record {
            meta,
            state: RecordState::Queued,
            stage: Stage::Person,
            attempt: 0,
            lease: None,
            signer_id: None,
            delegation_id: None,
            signed_at: None,
            clerk_id: None,
            finished_at: None,
            signature: None,
            chain: Vec::new(),
            reason: None,
            escalated: false,
            at_risk_at: None,
            reappointment: None,
        }
    }
}

/// Where a request for a new appointment date stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReappointmentState {
    /// Waiting for the director.
    Pending,
    /// Approved: the deadline is the new date.
    Approved,
    /// Refused: the deadline stays.
    Refused,
}

impl ReappointmentState {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ReappointmentState::Pending => "pending",
            ReappointmentState::Approved => "approved",
            ReappointmentState::Refused => "refused",
        }
    }

    /// From its stored form.
    pub fn parse(s: &str) -> Option<ReappointmentState> {
        [
            ReappointmentState::Pending,
            ReappointmentState::Approved,
            ReappointmentState::Refused,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }
}

/// A request for a new appointment date because a record will be late (form Mẫu 04: the
/// apology and the new appointment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reappointment {
    /// The record.
    pub record_id: String,
    /// Why it will be late.
    pub reason: String,
    /// The deadline when it was asked for.
    pub original_deadline: OffsetDateTime,
    /// The new appointment asked for.
    pub new_deadline: OffsetDateTime,
    /// The intake client that asked.
    pub requested_by: String,
    /// When.
    pub requested_at: OffsetDateTime,
    /// Where it stands.
    pub state: ReappointmentState,
    /// The director's decision, once made.
    pub decision: Option<Decision>,
}

/// A director's decision on a request for a new appointment date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The director.
    pub by: String,
    /// When.
    pub at: OffsetDateTime,
    /// Refused: why.
    pub refusal: Option<String>,
    /// Approved: the apology and new appointment (Mẫu 04), UTF-8.
    pub apology: Option<Vec<u8>>,
    /// Approved: the director's detached CMS signature over the apology.
    pub apology_signature: Option<Vec<u8>>,
}

/// Who caused a state change, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An intake client, by certificate common name.
    Intake(String),
    /// A signer acting on their own authority.
    Signer(String),
    /// A deputy acting under a director's delegation ("B for A").
    Deputy {
        deputy: String,
        director: String,
        delegation: String,
    },
    /// An operator, by certificate common name.
    Operator(String),
    /// The scheduler itself (lease expiry, recovery, escalation).
    System,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Intake(cn) => write!(f, "intake:{cn}"),
            Actor::Signer(id) => write!(f, "signer:{id}"),
            Actor::Deputy {
                deputy,
                director,
                delegation,
            } => {
                write!(f, "signer:{deputy} for {director} under {delegation}")
            }
            Actor::Operator(cn) => write!(f, "operator:{cn}"),
            Actor::System => f.write_str("system"),
        }
    }
}

/// Why a lease ended without a signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseReason {
    /// Not acted on before it expired.
    Expired,
    /// The signer marked themself away or closed the session.
    Away,
    /// The balancer moved it (e.g. the delegation ended).
    Reassigned,
    /// Found leased at start-up with the lease already over.
    Recovered,
    /// Its remote signer's confirmation was refused or expired.
    Unconfirmed,
}

impl ReleaseReason {
    /// The name in events and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            ReleaseReason::Expired => "expired",
            ReleaseReason::Away => "away",
            ReleaseReason::Reassigned => "reassigned",
            ReleaseReason::Recovered => "recovered",
            ReleaseReason::Unconfirmed => "unconfirmed",
        }
    }
}

/// A state change asked of the store. Every variant but `Cancel` is fenced by the lease attempt.
#[derive(Debug, Clone)]
pub enum Transition {
    /// Queued -> Leased to `signer_id`; `attempt` must be the record's current attempt and becomes
    /// `attempt + 1`.
    Lease {
        id: String,
        attempt: u32,
        signer_id: String,
        expires_at: OffsetDateTime,
        escalated: bool,
    },
    /// Leased -> Queued.
    Release {
        id: String,
        attempt: u32,
        reason: ReleaseReason,
    },
    /// Leased at the person stage -> Signed, or Queued at the seal stage when `seal_next`.
    Sign {
        id: String,
        attempt: u32,
        signer_id: String,
        delegation_id: Option<String>,
        signature: Vec<u8>,
        chain: Vec<Vec<u8>>,
        /// For a PDF: the incremental update holding the signature (empty otherwise).
        pdf_update: Vec<u8>,
        /// Whether the ward's seal follows (a PDF of a ward that seals).
        seal_next: bool,
    },
    /// Leased at the seal stage -> Signed: the clerk's seal over the signed PDF.
    Seal {
        id: String,
        attempt: u32,
        clerk_id: String,
        signature: Vec<u8>,
        /// The second incremental update, holding the seal.
        pdf_update: Vec<u8>,
    },
    /// Leased -> Rejected.
    Reject {
        id: String,
        attempt: u32,
        signer_id: String,
        reason: String,
    },
    /// Queued or Leased -> Cancelled.
    Cancel { id: String, reason: String },
}

impl Transition {
    /// The record the transition is about.
    pub fn record_id(&self) -> &str {
        match self {
            Transition::Lease { id, .. }
            | Transition::Release { id, .. }
            | Transition::Sign { id, .. }
            | Transition::Seal { id, .. }
            | Transition::Reject { id, .. }
            | Transition::Cancel { id, .. } => id,
        }
    }
}

/// What an event of the log tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The record's state changed.
    Changed,
    /// The record is at risk of being late (once per record).
    AtRisk,
}

impl EventKind {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Changed => "change",
            EventKind::AtRisk => "at_risk",
        }
    }
}

/// One state change, or a warning, as watchers see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Position in the event log (global, increasing; per-ward streams filter by ward).
    pub cursor: u64,
    /// The record after the change, without signature and chain.
    pub record: Record,
    /// When it happened.
    pub at: OffsetDateTime,
    /// What it tells.
    pub kind: EventKind,
}

/// A ward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ward {
    /// The id (e.g. `cat-lai`).
    pub id: String,
    /// The name (e.g. `Phường Cát Lái`).
    pub name: String,
    /// Its own office hours, if not the scheduler's.
    pub office_hours: Option<signq_calendar::OfficeHours>,
    /// Its titles for signature blocks, if not a People's Committee's.
    pub signature_titles: Option<signq_pades::Titles>,
    /// How its seal is applied to signed PDFs.
    pub seal: SealMode,
}

/// A director, deputy or clerk enrolled with the scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signer {
    /// The signer id (e.g. `cat-lai/deputy-1`).
    pub id: String,
    /// The person's name.
    pub display_name: String,
    /// The ward.
    pub ward: String,
    /// Director, deputy or clerk.
    pub role: SignerRole,
    /// The signing certificate, DER (a clerk's: the ward's organisation certificate).
    pub certificate: Vec<u8>,
    /// Marked away by themself.
    pub away: bool,
    /// The image of their own signature (PNG) for the blocks of signed PDFs; a clerk's is the
    /// ward's red seal.
    pub signature_image: Option<Vec<u8>>,
}

/// A procedure of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure {
    /// The code (e.g. `HT-KS`).
    pub code: String,
    /// The name (e.g. `Đăng ký khai sinh`).
    pub name: String,
    /// The statutory time limit, in working time, and its cut-off.
    pub rule: signq_calendar::Rule,
}

/// A delegation registered with the scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The id.
    pub id: String,
    /// The ward.
    pub ward: String,
    /// The granting director.
    pub director_id: String,
    /// The deputy.
    pub deputy_id: String,
    /// The procedures covered.
    pub procedure_codes: Vec<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity (exclusive).
    pub not_after: OffsetDateTime,
    /// Signatures per day at most; 0 for no cap.
    pub daily_cap: u32,
    /// How the deputy signs under it ("KT." or "TUQ.").
    pub notation: signq_signer::delegation::Notation,
    /// The director-signed CMS, as registered.
    pub signed: Vec<u8>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// Why.
    pub revoke_reason: Option<String>,
}

impl Delegation {
    /// Whether it lets its deputy sign `procedure` at `now` (ignoring the daily cap).
    pub fn covers(&self, procedure: &str, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none()
            && self.not_before <= now
            && now < self.not_after
            && self.procedure_codes.iter().any(|c| c == procedure)
    }
}
