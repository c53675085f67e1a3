//! The writer thread: every mutation of the store goes through it, with group commit.
//!
//! Every durable commit costs an fsync (milliseconds on real disks), and the audit chain has one
//! head that each write extends, so committing each call alone caps the store at a few hundred
//! writes a second. Here one thread owns the write connection. Callers send a [`Job`] over a channel and await its
//! reply; the thread takes the first waiting job and whatever else is already queued (up to
//! [`MAX_BATCH`]), runs each job in its own SAVEPOINT inside one transaction, commits once, and
//! only then replies to every job: N concurrent writes cost one fsync, and acknowledged still
//! means durable. A job that fails (a fenced transition, an idempotency conflict) rolls back to
//! its savepoint alone and gets its own error while the others commit.
//!
//! Each batch begins by taking the audit chain's lock in the database (SQLite's one writer; a
//! PostgreSQL advisory lock shared by every replica) and reading the head (last seq and hash)
//! under it, so the chain stays one chain however many writers there are, and the watch
//! events a batch appends are numbered after every batch committed before it. A rolled-back job
//! restores the head it started from.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;

use time::OffsetDateTime;
use tokio::sync::oneshot;

use super::Sql;
use crate::model::Actor;
use crate::store::Notice;
use crate::store::StoreError;
use crate::store::audit::{self, AuditEntry};

/// The write connection of a back end.
pub(crate) trait WriteConn: Sql + Send + 'static {
    /// The statements that begin a batch's transaction and take the audit chain's lock.
    fn begin_write(&self) -> &'static str;
    /// Makes the connection usable after a failed batch: ends a transaction left open, or
    /// reconnects a connection that broke.
    fn recover(&mut self) -> Result<(), StoreError>;
    /// Sends the batch's notices (distinct, in order) inside its transaction, so that they are
    /// delivered when and only when it commits. Nothing to do where one process is the only
    /// writer.
    fn publish(&self, notices: &[String]) -> Result<(), StoreError>;
}

/// The most jobs committed together: enough to absorb any burst a ward produces, small enough
/// that one batch's transaction stays short for readers checkpointing behind it.
const MAX_BATCH: usize = 256;

/// The last entry of the audit chain, as the next entry must link to it.
#[derive(Debug, Clone)]
pub(crate) struct ChainHead {
    seq: u64,
    hash: String,
}

impl ChainHead {
    /// Reads the head from the database (the genesis head for an empty log).
    fn load(conn: &dyn Sql) -> Result<Self, StoreError> {
        let (seq, hash) = super::checkpoints::audit_head(conn)?;
        Ok(ChainHead { seq, hash })
    }
}

/// What a job sees while it runs: the connection inside its savepoint, the audit head, the time.
pub(crate) struct WriteCx<'a> {
    /// The write connection, inside the job's savepoint.
    pub(crate) conn: &'a dyn Sql,
    /// The audit chain head, advanced by [`WriteCx::audit`].
    head: &'a mut ChainHead,
    /// The time of the change (one clock reading per job: the event and audit entry agree).
    pub(crate) now: OffsetDateTime,
    /// What the batch will announce to every replica once it commits (see [`Notice`]).
    notices: &'a mut Vec<String>,
}

impl WriteCx<'_> {
    /// Announces `notice` to every replica when the batch commits (nothing if this job rolls
    /// back).
    pub(crate) fn notice(&mut self, notice: Notice) {
        self.notices.push(notice.payload());
    }

    /// Appends the audit entry of this job's change, chained to the previous one.
    pub(crate) fn audit(
        &mut self,
        actor: &Actor,
        action: &str,
        subject: &str,
        detail: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let seq = (self.head.seq.checked_add(1))
            .ok_or_else(|| StoreError::Backend("the audit log is full".to_owned()))?;
        let mut entry = AuditEntry {
            seq,
            at: self.now,
            actor: actor.to_string(),
            action: action.to_owned(),
            subject: subject.to_owned(),
            detail: detail.to_string(),
            prev_hash: self.head.hash.clone(),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        audit::insert_entry(self.conn, &entry)?;
        self.head.seq = entry.seq;
        self.head.hash = entry.hash;
        Ok(())
    }
}

/// One mutation waiting for the writer thread.
pub(crate) trait Job: Send {
    /// Runs the mutation inside its savepoint; returns whether it succeeded (so it is kept).
    fn run(&mut self, cx: &mut WriteCx<'_>) -> bool;
    /// Records a failure that kept the job from running or being kept.
    fn fail(&mut self, error: StoreError);
    /// Replies to the caller, once the batch is committed (`None`) or has failed.
    fn finish(self: Box<Self>, batch_error: Option<&StoreError>);
}

/// A [`Job`] made of a closure and the channel its result goes back on.
struct Pending<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&mut WriteCx<'_>) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, cx: &mut WriteCx<'_>) -> bool {
        let result = match self.work.take() {
            Some(work) => work(cx),
            None => Err(StoreError::Backend("store job ran twice".to_owned())),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn fail(&mut self, error: StoreError) {
        self.result = Some(Err(error));
    }

    fn finish(self: Box<Self>, batch_error: Option<&StoreError>) {
        let result = match (self.result, batch_error) {
            // A job that failed on its own wrote nothing either way: its own error says more.
            (Some(Err(e)), _) => Err(e),
            (_, Some(e)) => Err(e.clone()),
            (Some(Ok(v)), None) => Ok(v),
            (None, None) => Err(StoreError::Backend("store job never ran".to_owned())),
        };
        // The caller may have gone away (a cancelled request); the change stands regardless.
        let _ = self.reply.send(result);
    }
}

/// Wraps `work` as a job, with the receiver of its result.
pub(crate) fn job<T, F>(work: F) -> (Box<dyn Job>, oneshot::Receiver<Result<T, StoreError>>)
where
    T: Send + 'static,
    F: FnOnce(&mut WriteCx<'_>) -> Result<T, StoreError> + Send + 'static,
{
    let (reply, rx) = oneshot::channel();
    (
        Box::new(Pending {
            work: Some(work),
            result: None,
            reply,
        }),
        rx,
    )
}

/// Jobs waiting for the writer at most: past this, writes are shed with
/// [`StoreError::Overloaded`] instead of queueing without bound (a few seconds of work at the
/// writer's rate of about ten thousand jobs a second).
pub(crate) const QUEUE_BOUND: usize = 32_768;

/// The writer thread's queue of jobs.
pub(crate) type JobQueue = SyncSender<Box<dyn Job>>;

/// Starts the writer thread on `conn`; it runs until every sender of its channel is dropped.
pub(crate) fn spawn<W: WriteConn>(
    conn: W,
    commits: Arc<AtomicU64>,
) -> Result<(JobQueue, JoinHandle<()>), StoreError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Box<dyn Job>>(QUEUE_BOUND);
    let handle = std::thread::Builder::new()
        .name("signq-store-writer".to_owned())
        .spawn(move || run(conn, rx, &commits))
        .map_err(|e| StoreError::Backend(format!("starting the store writer thread: {e}")))?;
    Ok((tx, handle))
}

/// The thread's loop: wait for a job, gather the queue behind it, run them as one batch.
fn run<W: WriteConn>(mut conn: W, rx: Receiver<Box<dyn Job>>, commits: &AtomicU64) {
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        match run_batch(&conn, &mut batch) {
            Ok(()) => {
                commits.fetch_add(1, Ordering::Relaxed);
                batch.into_iter().for_each(|job| job.finish(None));
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = batch.len(), "store batch failed; nothing of it was written");
                batch.into_iter().for_each(|job| job.finish(Some(&e)));
                if let Err(e) = conn.recover() {
                    tracing::error!(error = %e, "the store's write connection did not recover");
                }
            }
        }
    }
}

/// Runs `batch` in one transaction, each job in its own savepoint, and commits. An error means
/// nothing of the batch was written.
fn run_batch<W: WriteConn>(conn: &W, batch: &mut [Box<dyn Job>]) -> Result<(), StoreError> {
    const SAVEPOINT: &str = "SAVEPOINT job";
    conn.batch("beginning the write transaction", conn.begin_write())?;
    let mut head = ChainHead::load(conn)?;
    let mut notices = Vec::new();
    for job in batch.iter_mut() {
        let saved = head.clone();
        let announced = notices.len();
        if let Err(e) = conn.batch("opening a savepoint", SAVEPOINT) {
            job.fail(e);
            continue;
        }
        let ok = job.run(&mut WriteCx {
            conn,
            head: &mut head,
            now: OffsetDateTime::now_utc(),
            notices: &mut notices,
        });
        // The release also answers for the job's writes sent without waiting (see
        // `Sql::execute_later`): if it fails, the job is rolled back alone.
        let kept = ok
            && match conn.batch("releasing a savepoint", "RELEASE SAVEPOINT job") {
                Ok(()) => true,
                Err(e) => {
                    job.fail(e);
                    false
                }
            };
        if !kept {
            head = saved;
            notices.truncate(announced);
            // If the rollback fails the job's writes might linger, so the whole batch is
            // abandoned rather than committed.
            conn.batch(
                "rolling back a failed job",
                "ROLLBACK TO SAVEPOINT job; RELEASE SAVEPOINT job",
            )?;
        }
    }
    let mut seen = std::collections::HashSet::new();
    notices.retain(|n| seen.insert(n.clone()));
    conn.publish(&notices)?;
    conn.batch("committing", "COMMIT")
}
