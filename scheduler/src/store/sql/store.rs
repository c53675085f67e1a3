//! The store both back ends share: the writer thread with its group commit, reads on a pool of
//! connections off the async runtime, and the [`Store`] trait over the shared SQL.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use signq_signer::cms::TrustStore;
use time::OffsetDateTime;
use tokio::sync::broadcast;

use super::replicas::{self, Fence};
use super::writer::{self, JobQueue, WriteConn, WriteCx};
use super::{
    Sql, checkpoints, codec, config, confirmations, queries, records, sessions, values, webhooks,
};
use crate::model::{
    Actor, Confirmation, Decision, Delegation, Event, Procedure, Reappointment, Record, RecordMeta,
    RecordState, Signer, StoredSession, Transition, Ward,
};
use crate::store::audit::{self, AuditVerifyError, VerifyReport};
use crate::store::{AuditEntry, Checkpoint, Notice, Store, StoreError, WardCounts};
use crate::webhooks::{DeadLetter, Progress, Webhook};

/// Read connections of a back end, lent to one query at a time on a blocking thread.
pub(crate) trait ReadPool: Send + Sync + std::fmt::Debug + 'static {
    /// Runs `work` on a read connection, on the calling (blocking) thread.
    fn with_reader(&self, work: &mut dyn FnMut(&dyn Sql)) -> Result<(), StoreError>;
}

/// A store over SQL: the embedded SQLite file or a PostgreSQL database (see each back end's
/// constructor, `SqlStore::open` and `SqlStore::connect`).
pub struct SqlStore {
    /// What the store is, for logs: a file path or a database without its password.
    name: String,
    /// The writer thread's job queue; `None` only while dropping (closing it stops the thread).
    jobs: Option<JobQueue>,
    /// The writer thread, joined on drop so the database is closed when the store is gone.
    writer: Option<JoinHandle<()>>,
    /// Transactions the writer committed, shared with the writer thread: writes per commit
    /// shows how well group commit batches.
    commits: Arc<AtomicU64>,
    /// Read connections.
    readers: Arc<dyn ReadPool>,
    /// For a store several replicas share: what they announce, and this replica's wards.
    replication: Option<Replication>,
}

/// What a store several replicas share has beyond the SQL.
#[derive(Debug)]
pub(crate) struct Replication {
    /// Notices of every replica's committed changes (this one's too).
    pub(crate) notices: broadcast::Sender<Notice>,
    /// This replica's wards and their epochs, once it holds some.
    fence: Mutex<Option<Fence>>,
}

impl Replication {
    /// Replication announcing on `notices`.
    pub(crate) fn new(notices: broadcast::Sender<Notice>) -> Replication {
        Replication {
            notices,
            fence: Mutex::new(None),
        }
    }
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("name", &self.name)
            .field("commits", &self.commits())
            .finish()
    }
}

impl SqlStore {
    /// Starts the writer thread on `writer`; reads go to `readers`.
    pub(crate) fn start<W: WriteConn>(
        name: String,
        writer: W,
        readers: Arc<dyn ReadPool>,
        replication: Option<Replication>,
    ) -> Result<SqlStore, StoreError> {
        let commits = Arc::new(AtomicU64::new(0));
        let (jobs, writer) = writer::spawn(writer, Arc::clone(&commits))?;
        Ok(SqlStore {
            name,
            jobs: Some(jobs),
            writer: Some(writer),
            commits,
            readers,
            replication,
        })
    }

    /// The fence of this replica's wards, for a write the scheduler makes on its own.
    fn fence(&self, actor: &Actor) -> Option<Fence> {
        if *actor != Actor::System {
            return None;
        }
        let replication = self.replication.as_ref()?;
        replication
            .fence
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// How many transactions the writer has committed since open (each is one fsync and may
    /// carry many writes): compare with the number of writes to see group commit at work.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Verifies the store's audit chain, its checkpoints and every record against it, on a read
    /// connection beside the running writer (see [`audit::verify_store`]).
    pub async fn verify_audit(
        &self,
        trust: TrustStore,
        signer_state: Option<PathBuf>,
    ) -> Result<VerifyReport, AuditVerifyError> {
        self.read(move |conn| Ok(audit::verify_store(conn, &trust, signer_state.as_deref())))
            .await
            .map_err(|e| AuditVerifyError::Db(e.to_string()))?
    }

    /// Runs `work` on the writer thread in the next group commit; returns once it is durable.
    async fn write<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut WriteCx<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let stopped = || StoreError::Backend("the store writer has stopped".to_owned());
        let (job, reply) = writer::job(work);
        self.jobs
            .as_ref()
            .ok_or_else(stopped)?
            .try_send(job)
            .map_err(|e| match e {
                std::sync::mpsc::TrySendError::Full(_) => StoreError::Overloaded,
                std::sync::mpsc::TrySendError::Disconnected(_) => stopped(),
            })?;
        reply.await.map_err(|_| stopped())?
    }

    /// Runs `work` on a read connection on a blocking thread.
    async fn read<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Sql) -> Result<T, StoreError> + Send + 'static,
    {
        let readers = Arc::clone(&self.readers);
        tokio::task::spawn_blocking(move || {
            let mut work = Some(work);
            let mut result = None;
            readers.with_reader(&mut |conn| {
                if let Some(work) = work.take() {
                    result = Some(work(conn));
                }
            })?;
            result.unwrap_or_else(|| Err(StoreError::Backend("store read never ran".to_owned())))
        })
        .await
        .map_err(|e| StoreError::Backend(format!("store read task failed: {e}")))?
    }
}

impl Drop for SqlStore {
    fn drop(&mut self) {
        // Closing the queue ends the writer loop once the jobs already queued are committed.
        self.jobs.take();
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("the store writer thread panicked");
        }
    }
}

#[async_trait::async_trait]
impl Store for SqlStore {
    async fn submit(
        &self,
        meta: RecordMeta,
        document: Vec<u8>,
        actor: Actor,
    ) -> Result<(Record, bool), StoreError> {
        self.write(move |cx| records::submit(cx, meta, document, &actor))
            .await
    }

    async fn apply(&self, transition: Transition, actor: Actor) -> Result<Record, StoreError> {
        let fence = self.fence(&actor);
        self.write(move |cx| records::apply(cx, transition, &actor, fence.as_ref()))
            .await
    }

    async fn get(&self, id: &str) -> Result<Option<Record>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| queries::get(conn, &id)).await
    }

    async fn document(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| queries::document(conn, &id)).await
    }

    async fn pdf_update(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| queries::pdf_update(conn, &id)).await
    }

    async fn list(
        &self,
        ward: &str,
        state: Option<RecordState>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let (ward, after) = (ward.to_owned(), after.map(str::to_owned));
        self.read(move |conn| queries::list(conn, &ward, state, after.as_deref(), limit))
            .await
    }

    async fn request_reappointment(
        &self,
        request: Reappointment,
        actor: Actor,
    ) -> Result<Reappointment, StoreError> {
        self.write(move |cx| records::request_reappointment(cx, request, &actor))
            .await
    }

    async fn decide_reappointment(
        &self,
        id: &str,
        decision: Decision,
        actor: Actor,
    ) -> Result<Record, StoreError> {
        let id = id.to_owned();
        self.write(move |cx| records::decide_reappointment(cx, &id, decision, &actor))
            .await
    }

    async fn signed_by_since(
        &self,
        ward: &str,
        signer: &str,
        since: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let (ward, signer) = (ward.to_owned(), signer.to_owned());
        self.read(move |conn| queries::signed_by_since(conn, &ward, &signer, since, limit))
            .await
    }

    async fn pending_reappointments(&self, ward: &str) -> Result<Vec<Record>, StoreError> {
        let ward = ward.to_owned();
        self.read(move |conn| queries::pending_reappointments(conn, &ward))
            .await
    }

    async fn flag_at_risk(
        &self,
        wards: Vec<(String, OffsetDateTime)>,
        limit: usize,
    ) -> Result<Vec<Record>, StoreError> {
        let fence = self.fence(&Actor::System);
        self.write(move |cx| {
            let mut flagged = Vec::new();
            for (ward, due_before) in &wards {
                if let Some(fence) = &fence {
                    fence.check(cx.conn, ward)?;
                }
                flagged.extend(records::flag_at_risk(cx, ward, *due_before, limit)?);
            }
            Ok(flagged)
        })
        .await
    }

    async fn open_records(&self) -> Result<Vec<Record>, StoreError> {
        self.read(queries::open_records).await
    }

    async fn events_after(
        &self,
        ward: &str,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<Event>, StoreError> {
        let ward = ward.to_owned();
        self.read(move |conn| queries::events_after(conn, &ward, cursor, limit))
            .await
    }

    async fn signed_per_delegation_since(
        &self,
        since: OffsetDateTime,
    ) -> Result<HashMap<String, u32>, StoreError> {
        self.read(move |conn| queries::signed_per_delegation_since(conn, since))
            .await
    }

    async fn signed_per_signer_since(
        &self,
        ward: &str,
        since: OffsetDateTime,
    ) -> Result<HashMap<String, u32>, StoreError> {
        let ward = ward.to_string();
        self.read(move |conn| queries::signed_per_signer_since(conn, &ward, since))
            .await
    }

    async fn ward_counts(&self, ward: &str) -> Result<WardCounts, StoreError> {
        let ward = ward.to_owned();
        self.read(move |conn| queries::ward_counts(conn, &ward))
            .await
    }

    async fn backlog_at(
        &self,
        ward: &str,
        instants: Vec<OffsetDateTime>,
    ) -> Result<Vec<u32>, StoreError> {
        let ward = ward.to_owned();
        self.read(move |conn| super::backlog::backlog_at(conn, &ward, &instants))
            .await
    }

    async fn put_ward(&self, ward: Ward, actor: Actor) -> Result<Ward, StoreError> {
        self.write(move |cx| config::put_ward(cx, ward, &actor))
            .await
    }

    async fn wards(&self) -> Result<Vec<Ward>, StoreError> {
        self.read(|conn| config::wards(conn)).await
    }

    async fn put_signer(&self, signer: Signer, actor: Actor) -> Result<Signer, StoreError> {
        self.write(move |cx| config::put_signer(cx, signer, &actor))
            .await
    }

    async fn set_away(
        &self,
        signer_id: &str,
        away: bool,
        actor: Actor,
    ) -> Result<Signer, StoreError> {
        let id = signer_id.to_owned();
        self.write(move |cx| config::set_away(cx, &id, away, &actor))
            .await
    }

    async fn set_signature_image(
        &self,
        signer_id: &str,
        image: Option<Vec<u8>>,
        actor: Actor,
    ) -> Result<Signer, StoreError> {
        let id = signer_id.to_owned();
        self.write(move |cx| config::set_signature_image(cx, &id, image, &actor))
            .await
    }

    async fn signers(&self, ward: Option<&str>) -> Result<Vec<Signer>, StoreError> {
        let ward = ward.map(str::to_owned);
        self.read(move |conn| config::signers(conn, ward.as_deref()))
            .await
    }

    async fn put_procedure(
        &self,
        procedure: Procedure,
        actor: Actor,
    ) -> Result<Procedure, StoreError> {
        self.write(move |cx| config::put_procedure(cx, procedure, &actor))
            .await
    }

    async fn procedures(&self) -> Result<Vec<Procedure>, StoreError> {
        self.read(|conn| config::procedures(conn)).await
    }

    async fn put_delegation(
        &self,
        delegation: Delegation,
        actor: Actor,
    ) -> Result<Delegation, StoreError> {
        self.write(move |cx| config::put_delegation(cx, delegation, &actor))
            .await
    }

    async fn revoke_delegation(
        &self,
        id: &str,
        reason: &str,
        actor: Actor,
    ) -> Result<Delegation, StoreError> {
        let (id, reason) = (id.to_owned(), reason.to_owned());
        self.write(move |cx| config::revoke_delegation(cx, &id, &reason, &actor))
            .await
    }

    async fn delegations(&self, ward: Option<&str>) -> Result<Vec<Delegation>, StoreError> {
        let ward = ward.map(str::to_owned);
        self.read(move |conn| config::delegations(conn, ward.as_deref()))
            .await
    }

    async fn audit_entries(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        self.read(move |conn| queries::audit_entries(conn, after, limit))
            .await
    }

    async fn chain_id(&self) -> Result<String, StoreError> {
        self.read(|conn| checkpoints::chain_id(conn)).await
    }

    async fn audit_head(&self) -> Result<(u64, String), StoreError> {
        self.read(|conn| checkpoints::audit_head(conn)).await
    }

    async fn put_checkpoint(&self, checkpoint: Checkpoint) -> Result<(), StoreError> {
        self.write(move |cx| checkpoints::put(cx.conn, &checkpoint))
            .await
    }

    async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.read(|conn| checkpoints::latest(conn)).await
    }

    async fn put_confirmation(&self, confirmation: Confirmation) -> Result<(), StoreError> {
        self.write(move |cx| confirmations::put(cx.conn, &confirmation))
            .await
    }

    async fn end_confirmation(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_string();
        self.write(move |cx| confirmations::end(cx.conn, &id)).await
    }

    async fn confirmations(&self) -> Result<Vec<Confirmation>, StoreError> {
        self.read(|conn| confirmations::all(conn)).await
    }

    async fn put_session(&self, session: StoredSession) -> Result<(), StoreError> {
        self.write(move |cx| {
            let now = codec::db_time(cx.now, "now")?;
            sessions::put(cx.conn, &session, now)
        })
        .await
    }

    async fn session(&self, token_sha256: &str) -> Result<Option<StoredSession>, StoreError> {
        let key = token_sha256.to_string();
        self.read(move |conn| sessions::get(conn, &key)).await
    }

    async fn end_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        let key = token_sha256.to_string();
        self.write(move |cx| {
            sessions::end(cx.conn, &key)?;
            cx.notice(Notice::SessionEnded(key));
            Ok(())
        })
        .await
    }

    async fn probe(&self) -> Result<(), StoreError> {
        self.write(|cx| {
            let at = codec::db_time(cx.now, "the probe's time")?;
            cx.conn.execute(
                "writing the health probe",
                "INSERT INTO meta (key, value) VALUES ('probed_at', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                values![at.to_string()],
            )?;
            Ok(())
        })
        .await
    }

    async fn put_webhook(&self, webhook: Webhook, actor: Actor) -> Result<Webhook, StoreError> {
        self.write(move |cx| webhooks::put(cx, webhook, &actor))
            .await
    }

    async fn delete_webhook(&self, id: &str, actor: Actor) -> Result<Webhook, StoreError> {
        let id = id.to_owned();
        self.write(move |cx| webhooks::delete(cx, &id, &actor))
            .await
    }

    async fn webhooks(&self, ward: Option<&str>) -> Result<Vec<Webhook>, StoreError> {
        let ward = ward.map(str::to_owned);
        self.read(move |conn| webhooks::list(conn, ward.as_deref()))
            .await
    }

    async fn webhook_progress(
        &self,
        webhook: &Webhook,
        progress: Progress,
    ) -> Result<(), StoreError> {
        let fence = self.fence(&Actor::System);
        let (id, ward) = (webhook.id.clone(), webhook.ward.clone());
        self.write(move |cx| {
            if let Some(fence) = &fence {
                fence.check(cx.conn, &ward)?;
            }
            webhooks::progress(cx, &id, &progress)
        })
        .await
    }

    async fn dead_letters(
        &self,
        webhook_id: &str,
        limit: usize,
    ) -> Result<Vec<DeadLetter>, StoreError> {
        let id = webhook_id.to_owned();
        self.read(move |conn| webhooks::dead_letters(conn, &id, limit))
            .await
    }

    async fn redeliver_dead_letters(
        &self,
        webhook_id: &str,
        cursor: Option<u64>,
        actor: Actor,
    ) -> Result<u64, StoreError> {
        let id = webhook_id.to_owned();
        self.write(move |cx| webhooks::redeliver(cx, &id, cursor, &actor))
            .await
    }

    async fn hold_wards(
        &self,
        replica: &str,
        ttl: std::time::Duration,
    ) -> Result<Vec<(String, u64)>, StoreError> {
        let Some(replication) = &self.replication else {
            let wards = self.wards().await?;
            return Ok(wards.into_iter().map(|w| (w.id, 0)).collect());
        };
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let who = replica.to_string();
        let held = self
            .write(move |cx| replicas::hold_wards(cx, &who, ttl_ms))
            .await?;
        let mut fence = replication.fence.lock().unwrap_or_else(|p| p.into_inner());
        let fence = fence.get_or_insert_with(|| Fence {
            replica: replica.to_string(),
            held: Arc::new(RwLock::new(HashMap::new())),
        });
        *fence.held.write().unwrap_or_else(|p| p.into_inner()) = held.iter().cloned().collect();
        Ok(held)
    }

    fn notices(&self) -> Option<broadcast::Receiver<Notice>> {
        self.replication.as_ref().map(|r| r.notices.subscribe())
    }

    async fn last_event(&self, ward: &str) -> Result<u64, StoreError> {
        let ward = ward.to_string();
        self.read(move |conn| {
            conn.query_opt(
                "reading a ward's newest event",
                "SELECT COALESCE(MAX(cursor), 0) FROM events WHERE ward = ?1",
                values![ward],
            )?
            .map_or(Ok(0), |row| row.uint(0))
        })
        .await
    }

    async fn put_presence(
        &self,
        signer: &Signer,
        replica: &str,
        until: OffsetDateTime,
    ) -> Result<(), StoreError> {
        if self.replication.is_none() {
            return Ok(());
        }
        let (id, ward, replica) = (signer.id.clone(), signer.ward.clone(), replica.to_string());
        self.write(move |cx| {
            replicas::put_presence(cx.conn, &id, &ward, &replica, until)?;
            cx.notice(Notice::Ward(ward));
            Ok(())
        })
        .await
    }

    async fn end_presence(&self, signer: &Signer, replica: &str) -> Result<(), StoreError> {
        if self.replication.is_none() {
            return Ok(());
        }
        let (id, ward, replica) = (signer.id.clone(), signer.ward.clone(), replica.to_string());
        self.write(move |cx| {
            replicas::end_presence(cx.conn, &id, &replica)?;
            cx.notice(Notice::Ward(ward));
            Ok(())
        })
        .await
    }

    async fn present(
        &self,
        ward: &str,
        now: OffsetDateTime,
    ) -> Result<std::collections::HashSet<String>, StoreError> {
        if self.replication.is_none() {
            return Ok(Default::default());
        }
        let ward = ward.to_string();
        self.read(move |conn| replicas::present(conn, &ward, now))
            .await
    }
}
