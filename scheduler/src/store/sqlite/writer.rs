//! The writer thread: every mutation of the store goes through it, with group commit.
//!
//! SQLite has one writer at a time and every durable commit costs an fsync (milliseconds on real
//! disks), so committing each call alone caps the store at a few hundred writes a second. Here
//! one thread owns the write connection. Callers send a [`Job`] over a channel and await its
//! reply; the thread takes the first waiting job and whatever else is already queued (up to
//! [`MAX_BATCH`]), runs each job in its own SAVEPOINT inside one transaction, commits once, and
//! only then replies to every job: N concurrent writes cost one fsync, and acknowledged still
//! means durable. A job that fails (a fenced transition, an idempotency conflict) rolls back to
//! its savepoint alone and gets its own error while the others commit.
//!
//! The thread also keeps the head of the audit chain (last seq and hash) in memory, so appending
//! an entry never reads the log; a rolled-back job or batch restores the head it started from.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;

use rusqlite::{Connection, TransactionBehavior};
use time::OffsetDateTime;
use tokio::sync::oneshot;

use super::codec::backend;
use crate::model::Actor;
use crate::store::StoreError;
use crate::store::audit::{self, AUDIT_COLUMNS, AuditEntry, GENESIS_HASH};

/// The most jobs committed together: enough to absorb any burst a ward produces, small enough
/// that one batch's transaction stays short for readers checkpointing behind it.
const MAX_BATCH: usize = 256;

/// The last entry of the audit chain, as the next entry must link to it.
#[derive(Debug, Clone)]
pub(super) struct ChainHead {
    seq: u64,
    hash: String,
}

impl ChainHead {
    /// Reads the head from the database (the genesis head for an empty log).
    pub(super) fn load(conn: &Connection) -> Result<Self, StoreError> {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit ORDER BY seq DESC LIMIT 1"
            ))
            .map_err(backend("reading the audit head"))?;
        let mut rows = stmt.query([]).map_err(backend("reading the audit head"))?;
        match rows.next().map_err(backend("reading the audit head"))? {
            Some(row) => {
                let last = audit::entry_from_row(row).map_err(backend("reading the audit head"))?;
                Ok(ChainHead {
                    seq: last.seq,
                    hash: last.hash,
                })
            }
            None => Ok(ChainHead {
                seq: 0,
                hash: GENESIS_HASH.to_owned(),
            }),
        }
    }
}

/// What a job sees while it runs: the connection inside its savepoint, the audit head, the time.
#[derive(Debug)]
pub(super) struct WriteCx<'a> {
    /// The write connection, inside the job's savepoint.
    pub(super) conn: &'a Connection,
    /// The audit chain head, advanced by [`WriteCx::audit`].
    head: &'a mut ChainHead,
    /// The time of the change (one clock reading per job: the event and audit entry agree).
    pub(super) now: OffsetDateTime,
}

impl WriteCx<'_> {
    /// Appends the audit entry of this job's change, chained to the previous one.
    pub(super) fn audit(
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
        audit::insert_entry(self.conn, &entry).map_err(backend("appending the audit entry"))?;
        self.head.seq = entry.seq;
        self.head.hash = entry.hash;
        Ok(())
    }
}

/// One mutation waiting for the writer thread.
pub(super) trait Job: Send {
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
pub(super) fn job<T, F>(work: F) -> (Box<dyn Job>, oneshot::Receiver<Result<T, StoreError>>)
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
pub(super) const QUEUE_BOUND: usize = 32_768;

/// The writer thread's queue of jobs.
pub(super) type JobQueue = SyncSender<Box<dyn Job>>;

/// Starts the writer thread on `conn`; it runs until every sender of its channel is dropped.
pub(super) fn spawn(
    conn: Connection,
    commits: Arc<AtomicU64>,
) -> Result<(JobQueue, JoinHandle<()>), StoreError> {
    let head = ChainHead::load(&conn)?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Box<dyn Job>>(QUEUE_BOUND);
    let handle = std::thread::Builder::new()
        .name("signq-store-writer".to_owned())
        .spawn(move || run(conn, head, rx, &commits))
        .map_err(|e| StoreError::Backend(format!("starting the store writer thread: {e}")))?;
    Ok((tx, handle))
}

/// The thread's loop: wait for a job, gather the queue behind it, run them as one batch.
fn run(mut conn: Connection, mut head: ChainHead, rx: Receiver<Box<dyn Job>>, commits: &AtomicU64) {
    while let Ok(first) = rx.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let start = head.clone();
        match run_batch(&mut conn, &mut head, &mut batch) {
            Ok(()) => {
                commits.fetch_add(1, Ordering::Relaxed);
                batch.into_iter().for_each(|job| job.finish(None));
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = batch.len(), "store batch failed; nothing of it was written");
                head = start;
                batch.into_iter().for_each(|job| job.finish(Some(&e)));
            }
        }
    }
}

/// Runs `batch` in one transaction, each job in its own savepoint, and commits. An error means
/// nothing of the batch was written.
fn run_batch(
    conn: &mut Connection,
    head: &mut ChainHead,
    batch: &mut [Box<dyn Job>],
) -> Result<(), StoreError> {
    if !conn.is_autocommit() {
        // A previous failure left a transaction open: end it so this batch starts clean.
        conn.execute_batch("ROLLBACK")
            .map_err(backend("ending an abandoned transaction"))?;
    }
    let mut tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend("beginning the write transaction"))?;
    for job in batch.iter_mut() {
        let saved = head.clone();
        let sp = match tx.savepoint() {
            Ok(sp) => sp,
            Err(e) => {
                job.fail(backend("opening a savepoint")(e));
                continue;
            }
        };
        let ok = job.run(&mut WriteCx {
            conn: &sp,
            head,
            now: OffsetDateTime::now_utc(),
        });
        if ok {
            if let Err(e) = sp.commit() {
                // RELEASE failed: the savepoint may still be open, so the batch cannot go on.
                *head = saved;
                job.fail(backend("releasing a savepoint")(e));
                return Err(StoreError::Backend(
                    "releasing a savepoint failed".to_owned(),
                ));
            }
        } else {
            *head = saved;
            // Drop behaviour is rollback: ROLLBACK TO, then RELEASE. If that fails the job's
            // writes might linger, so the whole batch is abandoned rather than committed.
            sp.finish().map_err(backend("rolling back a failed job"))?;
        }
    }
    tx.commit().map_err(backend("committing"))
}
