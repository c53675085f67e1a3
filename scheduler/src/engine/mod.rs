//! The engine: the one place where the store, the balancer, the signer service and the open inbox
//! streams meet. Every state change goes to the store first (durable, fenced), then to the
//! balancer and the watchers; a crash between the two loses nothing, because start-up rebuilds the
//! balancer from the store.
//!
//! # Layout
//! - [`admin`]: configuration changes and signing in.
//! - [`directory`]: wards, signers, procedures and delegations in memory.
//! - [`intake`]: submit, cancel, watch.
//! - [`dispatch`]: leasing records to ready signers, lease expiry, away, recovery.
//! - [`expiry`]: one timer for every lease's deadline.
//! - [`signing`]: approve (through the signer service, exactly once) and reject.
//! - [`confirm`]: batches waiting for a remote signing app's confirmation.
//! - [`seal`]: the ward's seal applied automatically.
//! - [`sessions`]: signer sessions.
//! - [`checkpoints`]: the audit chain's head, signed by the signing service.
//! - [`day`]: the wards' day, when daily caps start again.
//! - [`inboxes`]: the open inbox streams.
//! - [`ownership`]: which wards this replica runs, when several share a store.
//! - [`progress`]: how a signer's work stands: what more waits for them, what they signed today.
//! - [`follow`]: what the other replicas did, read from the store's event log.
//! - [`webhooks`]: delivering the wards' events to their webhooks.

pub mod admin;
pub mod checkpoints;
pub mod confirm;
pub mod day;
pub mod directory;
pub mod dispatch;
pub mod expiry;
pub mod follow;
pub mod inboxes;
pub mod intake;
pub mod ownership;
pub mod progress;
pub mod reappoint;
pub mod risk;
pub mod seal;
pub mod sessions;
pub mod signing;
#[cfg(test)]
pub(crate) mod testing;
pub mod webhooks;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use time::{OffsetDateTime, UtcOffset};
use tokio::sync::broadcast;

use crate::balancer::{Balancer, BalancerConfig, SignerView};
use crate::error::SchedError;
use crate::model::Signer;
use crate::signer_link::SignerLink;
use crate::store::Store;
use directory::Directory;
use inboxes::Inboxes;
use sessions::{Session, Sessions};

/// What the engine needs beyond its parts.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Bytes per document, at most.
    pub max_document_bytes: usize,
    /// How long a lease lasts.
    pub lease_timeout: Duration,
    /// How long a session lasts without use.
    pub session_ttl: Duration,
    /// The wards' time zone.
    pub utc_offset: UtcOffset,
    /// The ward CA and CRL files, for verifying delegations at registration.
    pub ca: std::path::PathBuf,
    /// The CRL file.
    pub crl: Option<std::path::PathBuf>,
    /// The largest request the signing service accepts (approvals are split to fit).
    pub signer_max_request_bytes: usize,
    /// The working days and office hours deadlines are counted on.
    pub calendar: signq_calendar::Calendar,
    /// A record with less working time than this left while unsigned is at risk of being late.
    pub at_risk: time::Duration,
    /// Measure the director guard's slack in clock time rather than working time: only for
    /// `signq load run`, whose compressed clock the calendar cannot follow.
    pub guard_in_clock_time: bool,
    /// This replica, and how long it holds a ward without renewing (when several share a store).
    pub ownership: ownership::Ownership,
    /// How webhooks are delivered.
    pub webhooks: crate::webhooks::WebhookSettings,
}

/// The current lease of a record, as the engine tracks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// The record's ward.
    pub ward: String,
    /// The signer holding it.
    pub signer: String,
    /// The lease attempt (fencing token).
    pub attempt: u32,
    /// When the lease ends if not acted on, as people read it.
    pub expires_at: OffsetDateTime,
    /// When the lease ends, on the monotonic clock: what ends it.
    pub due: tokio::time::Instant,
}

/// The scheduler's engine.
#[derive(Debug)]
pub struct Engine {
    store: Arc<dyn Store>,
    balancer: Mutex<Balancer>,
    directory: RwLock<Directory>,
    signer: SignerLink,
    ca_chain: Vec<Vec<u8>>,
    settings: EngineSettings,
    sessions: Sessions,
    inboxes: Inboxes,
    /// Wakes watchers of a ward (the ward id) after a change is stored; they read the store's
    /// event log from their cursor, so a missed wake-up never loses an event.
    changes: broadcast::Sender<String>,
    /// Records whose approval is in flight (a second approve waits its turn: ABORTED).
    approving: Mutex<HashSet<String>>,
    /// Records whose batch waits for its person's confirmation in a remote signing app.
    confirming: Mutex<HashMap<String, Arc<crate::model::Confirmation>>>,
    /// Wards whose waiting records a task is sealing automatically.
    auto_sealing: Mutex<HashSet<String>>,
    /// Open leases by record id.
    leases: Mutex<HashMap<String, Held>>,
    /// Their deadlines.
    expiries: expiry::Expiries,
    /// Held while a checkpoint is asked for, so requests reach the signing service in order.
    checkpointing: tokio::sync::Mutex<()>,
    /// The wards' date whose signatures the balancer's daily caps count.
    day: Mutex<time::Date>,
    /// Set when the scheduler is shutting down: open streams end at once.
    closing: tokio::sync::watch::Sender<bool>,
    /// Whether other replicas share the store (then wards are owned, and followed).
    replicated: bool,
    /// Changes made here to the directory (so that a reload read before one does not undo it).
    directory_version: std::sync::atomic::AtomicU64,
    /// The wards this replica owns, with their epochs.
    owned: Mutex<HashMap<String, u64>>,
    /// When this replica last renewed its wards.
    held_at: Mutex<Option<tokio::time::Instant>>,
    /// Followed wards, and the cursor of the last event applied from each.
    cursors: Mutex<HashMap<String, u64>>,
    /// Signers of owned wards with an inbox open on some replica, by ward.
    present: Mutex<HashMap<String, HashSet<String>>>,
    /// Signers this replica said are present (their inbox is open here).
    announced: Mutex<HashSet<String>>,
    /// The lease each record an inbox here was last told of: (signer, attempt).
    relayed: Mutex<HashMap<String, (String, u32)>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Engine {
    /// Builds the engine from the store's contents and recovers every open record: queued records
    /// return to the pool; leases that expired while the scheduler was down return too.
    pub async fn start(
        store: Arc<dyn Store>,
        signer: SignerLink,
        ca_chain: Vec<Vec<u8>>,
        balancer: BalancerConfig,
        settings: EngineSettings,
    ) -> Result<Arc<Engine>, SchedError> {
        let directory = Directory::load(store.as_ref()).await?;
        let replicated = store.notices().is_some();
        let (changes, _) = broadcast::channel(4096);
        let settings_offset = settings.utc_offset;
        let engine = Arc::new(Engine {
            store,
            balancer: Mutex::new(Balancer::new(
                balancer,
                if settings.guard_in_clock_time {
                    crate::balancer::Slack::Clock
                } else {
                    crate::balancer::Slack::working(settings.calendar.clone())
                },
            )),
            directory: RwLock::new(Directory::default()),
            signer,
            ca_chain,
            sessions: Sessions::new(settings.session_ttl),
            settings,
            inboxes: Inboxes::default(),
            changes,
            approving: Mutex::new(HashSet::new()),
            auto_sealing: Mutex::new(HashSet::new()),
            confirming: Mutex::new(HashMap::new()),
            leases: Mutex::new(HashMap::new()),
            expiries: expiry::Expiries::default(),
            checkpointing: tokio::sync::Mutex::new(()),
            closing: tokio::sync::watch::Sender::new(false),
            day: Mutex::new(OffsetDateTime::now_utc().to_offset(settings_offset).date()),
            replicated,
            directory_version: Default::default(),
            owned: Mutex::new(HashMap::new()),
            held_at: Mutex::new(None),
            cursors: Mutex::new(HashMap::new()),
            present: Mutex::new(HashMap::new()),
            announced: Mutex::new(HashSet::new()),
            relayed: Mutex::new(HashMap::new()),
        });
        expiry::spawn(Arc::downgrade(&engine));
        engine.spawn_webhooks()?;
        engine.install_directory(directory, None).await?;
        if replicated {
            // The follower first, so that nothing committed while the wards are adopted is
            // missed; then the wards this replica gets.
            engine.spawn_follower();
            engine.hold_wards().await?;
            engine.spawn_ownership();
        } else {
            let wards = engine.owned_wards().into_iter().collect();
            engine.recover(&wards).await?;
            engine.resume_confirmations(&wards).await?;
        }
        Ok(engine)
    }

    /// Replaces the in-memory directory and tells the balancer.
    /// With `since`, only if no change was made here since that [`Engine::directory_version`]
    /// (a directory read before it would undo it); returns whether it was installed.
    async fn install_directory(
        &self,
        directory: Directory,
        since: Option<u64>,
    ) -> Result<bool, SchedError> {
        let today = self.today_start(OffsetDateTime::now_utc());
        let used = self.store.signed_per_delegation_since(today).await?;
        {
            let mut current = self.directory.write().unwrap_or_else(|p| p.into_inner());
            if since.is_some_and(|v| v != self.directory_version()) {
                return Ok(false);
            }
            *current = directory;
        }
        // From the directory as it is now: a change made here meanwhile is in it.
        let mut balancer = lock(&self.balancer);
        self.with_directory(|directory| {
            for s in directory.signers.values() {
                balancer.upsert_signer(self.view(s));
            }
            for (id, ward) in &directory.wards {
                balancer.set_delegations(id, directory.ward_delegations(id));
                balancer.set_ward_calendar(id, self.own_calendar(ward));
            }
        });
        for (delegation, n) in used {
            balancer.set_used_today(&delegation, n);
        }
        Ok(true)
    }

    /// How many changes this scheduler made to its directory.
    pub(super) fn directory_version(&self) -> u64 {
        self.directory_version
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    fn view(&self, s: &Signer) -> SignerView {
        SignerView {
            id: s.id.clone(),
            ward: s.ward.clone(),
            role: s.role,
            away: s.away,
            online: self.signer_online(&s.ward, &s.id),
        }
    }

    /// Runs `f` on the directory without copying it.
    pub fn with_directory<T>(&self, f: impl FnOnce(&Directory) -> T) -> T {
        f(&self.directory.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn update_directory(&self, f: impl FnOnce(&mut Directory)) {
        let mut directory = self.directory.write().unwrap_or_else(|p| p.into_inner());
        f(&mut directory);
        self.directory_version
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The link to the signing service.
    pub fn signer(&self) -> &SignerLink {
        &self.signer
    }

    /// The calendar `ward`'s deadlines are counted on: the scheduler's days with the ward's
    /// office hours (the scheduler's when it has none of its own).
    pub fn calendar_for(&self, ward: &str) -> signq_calendar::Calendar {
        self.with_directory(|d| d.wards.get(ward).and_then(|w| self.own_calendar(w)))
            .unwrap_or_else(|| self.settings.calendar.clone())
    }

    /// A ward's calendar when it has office hours of its own.
    fn own_calendar(&self, ward: &crate::model::Ward) -> Option<signq_calendar::Calendar> {
        ward.office_hours.as_ref().map(|hours| {
            signq_calendar::Calendar::new(self.settings.calendar.days().clone(), hours.clone())
        })
    }

    /// The open session of the bearer `token`, renewed by this use.
    pub async fn session(&self, token: &str) -> Result<Option<Session>, SchedError> {
        Ok(self
            .sessions
            .check(self.store.as_ref(), token, OffsetDateTime::now_utc())
            .await?)
    }

    /// Ends the session of the bearer `token`.
    pub async fn end_session(&self, token: &str) -> Result<(), SchedError> {
        Ok(self.sessions.close(self.store.as_ref(), token).await?)
    }

    /// The start of today in the wards' time zone, as UTC.
    pub fn today_start(&self, now: OffsetDateTime) -> OffsetDateTime {
        let local = now.to_offset(self.settings.utc_offset);
        local
            .replace_time(time::Time::MIDNIGHT)
            .to_offset(UtcOffset::UTC)
    }

    /// Records leased to `signer` now.
    pub fn leased_to(&self, signer: &str) -> Vec<String> {
        let mut ids: Vec<String> = lock(&self.leases)
            .iter()
            .filter(|(_, h)| h.signer == signer)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// Forgets a lease that ended, and its deadline.
    fn forget_lease(&self, id: &str) -> Option<Held> {
        let held = lock(&self.leases).remove(id)?;
        self.expiries.remove(id, held.attempt, held.due);
        Some(held)
    }

    /// Ends every open stream, inbox and watch alike, so that a shutdown does not wait for them
    /// and their clients resume at once (elsewhere, or here once the scheduler is back).
    pub fn close_streams(&self) {
        self.closing.send_replace(true);
        self.inboxes.close_all();
    }

    /// Tells watchers of `ward` that its event log grew.
    fn notify(&self, ward: &str) {
        let _ = self.changes.send(ward.to_string());
    }
}
