//! The signer service's durable state (SQLite, WAL): wrong-PIN history and lockouts, so that a
//! lockout survives a restart; revoked delegations; signatures used per delegation and day; the
//! last audit checkpoint signed for each scheduler chain.
//!
//! Every method is one short transaction. Callers on the async runtime go through
//! `spawn_blocking`; the connection sits behind a mutex because SQLite serialises writers anyway.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;

use super::ledger::Capped;
use crate::pin::LockoutPolicy;

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database at `path` could not be opened or set up.
    #[error("signer state database {path}: {source}")]
    Open {
        path: std::path::PathBuf,
        source: rusqlite::Error,
    },
    /// A read or write failed.
    #[error("signer state database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StateError {
    fn code(&self) -> Option<rusqlite::ErrorCode> {
        match self {
            StateError::Open { source, .. } | StateError::Sqlite(source) => {
                source.sqlite_error_code()
            }
        }
    }

    /// Whether the disk under the database is full (writes succeed again once space is freed).
    pub fn is_disk_full(&self) -> bool {
        self.code() == Some(rusqlite::ErrorCode::DiskFull)
    }

    /// Whether the database file is damaged.
    pub fn is_damaged(&self) -> bool {
        matches!(
            self.code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase)
        )
    }
}

/// What one wrong PIN led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    /// Not locked yet; this many wrong PINs remain before the lock.
    AttemptsLeft(u32),
    /// This failure locked the key until the given time.
    LockedUntil(OffsetDateTime),
}

/// The durable state.
#[derive(Debug)]
pub struct State {
    conn: Mutex<Connection>,
}

pub(super) fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(super) fn from_ms(v: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(v) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl State {
    /// Opens (creating if needed) the database at `path`, and checks it (SQLite's quick check):
    /// a damaged file is refused here rather than found by a signature later.
    pub fn open(path: &Path) -> Result<State, StateError> {
        State::open_unchecked(path).map_err(|source| StateError::Open {
            path: path.to_owned(),
            source,
        })
    }

    fn open_unchecked(path: &Path) -> Result<State, rusqlite::Error> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS pin_failures (signer_id TEXT NOT NULL, at_ms INTEGER NOT NULL);
             CREATE INDEX IF NOT EXISTS pin_failures_by_signer ON pin_failures (signer_id, at_ms);
             CREATE TABLE IF NOT EXISTS lockouts (signer_id TEXT PRIMARY KEY, locked_until_ms INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS revoked_delegations (
                 id TEXT PRIMARY KEY, revoked_at_ms INTEGER NOT NULL, reason TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS checkpoints (
                 chain_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, head BLOB NOT NULL,
                 at_ms INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS daily_use (
                 delegation_id TEXT NOT NULL, day TEXT NOT NULL, used INTEGER NOT NULL,
                 PRIMARY KEY (delegation_id, day));
             CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY CHECK (id = 1), at_ms INTEGER NOT NULL);",
        )?;
        conn.execute_batch(super::ledger::SCHEMA)?;
        conn.execute_batch(super::confirmations::SCHEMA)?;
        super::ledger::migrate(&conn)?;
        check(&conn, "quick_check")?;
        Ok(State {
            conn: Mutex::new(conn),
        })
    }

    pub(super) fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a heartbeat: Ok while the database takes writes (the health probe).
    pub fn probe(&self, now: OffsetDateTime) -> Result<(), StateError> {
        self.conn().execute(
            "INSERT INTO probe (id, at_ms) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET at_ms = excluded.at_ms",
            params![ms(now)],
        )?;
        Ok(())
    }

    /// The end of the signer's lockout, if the key is locked at `now`.
    pub fn locked_until(
        &self,
        signer_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OffsetDateTime>, StateError> {
        let until: Option<i64> = self
            .conn()
            .query_row(
                "SELECT locked_until_ms FROM lockouts WHERE signer_id = ?1",
                params![signer_id],
                |r| r.get(0),
            )
            .optional()?;
        Ok(until.filter(|&u| u > ms(now)).map(from_ms))
    }

    /// Records a wrong PIN; locks the key when the policy says so.
    pub fn record_failure(
        &self,
        signer_id: &str,
        now: OffsetDateTime,
        policy: &LockoutPolicy,
    ) -> Result<FailureOutcome, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let since = ms(now) - policy.window.as_millis() as i64;
        tx.execute(
            "DELETE FROM pin_failures WHERE signer_id = ?1 AND at_ms <= ?2",
            params![signer_id, since],
        )?;
        tx.execute(
            "INSERT INTO pin_failures (signer_id, at_ms) VALUES (?1, ?2)",
            params![signer_id, ms(now)],
        )?;
        let failures: u32 = tx.query_row(
            "SELECT COUNT(*) FROM pin_failures WHERE signer_id = ?1",
            params![signer_id],
            |r| r.get(0),
        )?;
        let outcome = if failures >= policy.max_failures {
            let until = now + policy.lock_for;
            tx.execute(
                "INSERT INTO lockouts (signer_id, locked_until_ms) VALUES (?1, ?2)
                 ON CONFLICT (signer_id) DO UPDATE SET locked_until_ms = excluded.locked_until_ms",
                params![signer_id, ms(until)],
            )?;
            tx.execute(
                "DELETE FROM pin_failures WHERE signer_id = ?1",
                params![signer_id],
            )?;
            FailureOutcome::LockedUntil(until)
        } else {
            FailureOutcome::AttemptsLeft(policy.max_failures - failures)
        };
        tx.commit()?;
        Ok(outcome)
    }

    /// Forgets the signer's wrong PINs after a right one.
    pub fn clear_failures(&self, signer_id: &str) -> Result<(), StateError> {
        self.conn().execute(
            "DELETE FROM pin_failures WHERE signer_id = ?1",
            params![signer_id],
        )?;
        Ok(())
    }

    /// Revokes a delegation; returns when the (first) revocation took effect.
    pub fn revoke(
        &self,
        id: &str,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<OffsetDateTime, StateError> {
        let conn = self.conn();
        conn.execute(
            "INSERT OR IGNORE INTO revoked_delegations (id, revoked_at_ms, reason) VALUES (?1, ?2, ?3)",
            params![id, ms(now), reason],
        )?;
        let at: i64 = conn.query_row(
            "SELECT revoked_at_ms FROM revoked_delegations WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )?;
        Ok(from_ms(at))
    }

    /// When and why a delegation was revoked, if it was.
    pub fn revocation(&self, id: &str) -> Result<Option<(OffsetDateTime, String)>, StateError> {
        let row = self
            .conn()
            .query_row(
                "SELECT revoked_at_ms, reason FROM revoked_delegations WHERE id = ?1",
                params![id],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
            )
            .optional()?;
        Ok(row.map(|(at, reason)| (from_ms(at), reason)))
    }

    /// Counts `n` ad-hoc signatures (no lease: each counts) against `cap`; on refusal returns
    /// the number already counted today.
    pub fn reserve_daily(&self, cap: &Capped, n: u32) -> Result<Result<(), u32>, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let counted = count_against_cap(&tx, cap, n)?;
        tx.commit()?;
        Ok(counted)
    }
}

/// SQLite's `quick_check` or `integrity_check`: damage is an error (SQLITE_CORRUPT) naming it.
fn check(conn: &Connection, pragma: &str) -> Result<(), rusqlite::Error> {
    let found: String = conn.query_row(&format!("PRAGMA {pragma}(1)"), [], |r| r.get(0))?;
    if found == "ok" {
        return Ok(());
    }
    Err(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CORRUPT),
        Some(format!("SQLite's {pragma} found damage: {found}")),
    ))
}

/// Records of a delegation counted against its cap on a day.
fn used(conn: &Connection, cap: &Capped) -> Result<u32, rusqlite::Error> {
    Ok(conn
        .query_row(
            "SELECT used FROM daily_use WHERE delegation_id = ?1 AND day = ?2",
            params![cap.delegation_id, cap.day],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Counts `n` more records against the cap (0: no cap), unless that would pass it; then returns
/// the count so far.
pub(super) fn count_against_cap(
    conn: &Connection,
    cap: &Capped,
    n: u32,
) -> Result<Result<(), u32>, rusqlite::Error> {
    let used = used(conn, cap)?;
    if cap.daily_cap > 0 && used.saturating_add(n) > cap.daily_cap {
        return Ok(Err(used));
    }
    conn.execute(
        "INSERT INTO daily_use (delegation_id, day, used) VALUES (?1, ?2, ?3)
         ON CONFLICT (delegation_id, day) DO UPDATE SET used = used + ?3",
        params![cap.delegation_id, cap.day, n],
    )?;
    Ok(Ok(()))
}

/// Why a checkpoint was not signed: the chain would go backwards or fork.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointRefusal {
    /// The chain already had a later entry signed: entries were removed since.
    #[error("the chain went backwards: seq {seq} was asked after seq {last} was signed")]
    Backwards { seq: u64, last: u64 },
    /// The same entry was signed with another hash: the chain was rewritten since.
    #[error("the chain forked: seq {seq} was signed before with another hash")]
    Fork { seq: u64 },
}

impl State {
    /// Records that `chain_id` reached `seq` with hash `head`, unless that contradicts the last
    /// head signed for it. The outer `Result` is the database's; the inner one the verdict.
    pub fn advance_checkpoint(
        &self,
        chain_id: &str,
        seq: u64,
        head: &[u8],
        now: OffsetDateTime,
    ) -> Result<Result<(), CheckpointRefusal>, StateError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let last: Option<(i64, Vec<u8>)> = tx
            .query_row(
                "SELECT seq, head FROM checkpoints WHERE chain_id = ?1",
                params![chain_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        if let Some((last, last_head)) = last {
            let last = u64::try_from(last).unwrap_or(0);
            if seq < last {
                return Ok(Err(CheckpointRefusal::Backwards { seq, last }));
            }
            if seq == last && last_head != head {
                return Ok(Err(CheckpointRefusal::Fork { seq }));
            }
        }
        let seq_i = i64::try_from(seq).unwrap_or(i64::MAX);
        tx.execute(
            "INSERT INTO checkpoints (chain_id, seq, head, at_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (chain_id) DO UPDATE SET seq = excluded.seq, head = excluded.head,
                 at_ms = excluded.at_ms",
            params![chain_id, seq_i, head, ms(now)],
        )?;
        tx.commit()?;
        Ok(Ok(()))
    }

    /// SQLite's full integrity check of the state database at `path`, opened read-only.
    pub fn check_file(path: &Path) -> Result<(), StateError> {
        let open = |source| StateError::Open {
            path: path.to_owned(),
            source,
        };
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(open)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(open)?;
        check(&conn, "integrity_check").map_err(open)
    }

    /// The last checkpoint signed for `chain_id` according to the state database at `path`,
    /// opened read-only (for `signq audit verify` beside a running service).
    pub fn last_checkpoint_in(
        path: &Path,
        chain_id: &str,
    ) -> Result<Option<(u64, Vec<u8>)>, StateError> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        let state = State {
            conn: Mutex::new(conn),
        };
        state.last_checkpoint(chain_id)
    }

    /// The last checkpoint signed for `chain_id`: its sequence number and head hash.
    pub fn last_checkpoint(&self, chain_id: &str) -> Result<Option<(u64, Vec<u8>)>, StateError> {
        let row: Option<(i64, Vec<u8>)> = self
            .conn()
            .query_row(
                "SELECT seq, head FROM checkpoints WHERE chain_id = ?1",
                params![chain_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.map(|(seq, head)| (u64::try_from(seq).unwrap_or(0), head)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_and_lock_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state.db");
        let policy = LockoutPolicy::default();
        let now = OffsetDateTime::now_utc();
        {
            let state = State::open(&path).expect("open");
            for left in (1..5).rev() {
                assert_eq!(
                    state.record_failure("s", now, &policy).expect("fail"),
                    FailureOutcome::AttemptsLeft(left)
                );
            }
            assert!(matches!(
                state.record_failure("s", now, &policy).expect("fail"),
                FailureOutcome::LockedUntil(_)
            ));
        }
        let state = State::open(&path).expect("reopen");
        assert!(state.locked_until("s", now).expect("read").is_some());
        assert!(
            state
                .locked_until("s", now + policy.lock_for)
                .expect("read")
                .is_none()
        );
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(&dir.path().join("s.db")).expect("open");
        let policy = LockoutPolicy::default();
        let start = OffsetDateTime::now_utc();
        for i in 0..4 {
            state
                .record_failure("s", start + Duration::from_secs(i), &policy)
                .expect("fail");
        }
        let later = start + policy.window + Duration::from_secs(10);
        assert_eq!(
            state.record_failure("s", later, &policy).expect("fail"),
            FailureOutcome::AttemptsLeft(4)
        );
    }

    fn cap(day: &str) -> Capped {
        Capped {
            delegation_id: "d".into(),
            daily_cap: 5,
            day: day.into(),
        }
    }

    #[test]
    fn daily_cap_and_revocation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(&dir.path().join("s.db")).expect("open");
        assert_eq!(
            state.reserve_daily(&cap("2026-11-21"), 3).expect("db"),
            Ok(())
        );
        assert_eq!(
            state.reserve_daily(&cap("2026-11-21"), 3).expect("db"),
            Err(3)
        );
        assert_eq!(
            state.reserve_daily(&cap("2026-11-22"), 5).expect("db"),
            Ok(())
        );
        let now = OffsetDateTime::now_utc();
        let first = state.revoke("d", "left the post", now).expect("revoke");
        let again = state
            .revoke("d", "again", now + Duration::from_secs(5))
            .expect("revoke");
        assert_eq!(first, again);
        assert_eq!(
            state.revocation("d").expect("db").map(|r| r.1),
            Some("left the post".to_string())
        );
    }

    #[test]
    fn checkpoints_only_move_forward_on_one_chain() {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = State::open(&dir.path().join("s.db")).expect("open");
        let now = OffsetDateTime::now_utc();
        assert_eq!(
            state
                .advance_checkpoint("c", 10, &[1; 32], now)
                .expect("db"),
            Ok(())
        );
        assert_eq!(
            state
                .advance_checkpoint("c", 10, &[1; 32], now)
                .expect("db"),
            Ok(())
        );
        assert_eq!(
            state
                .advance_checkpoint("c", 10, &[2; 32], now)
                .expect("db"),
            Err(CheckpointRefusal::Fork { seq: 10 })
        );
        assert_eq!(
            state.advance_checkpoint("c", 9, &[1; 32], now).expect("db"),
            Err(CheckpointRefusal::Backwards { seq: 9, last: 10 })
        );
        assert_eq!(
            state
                .advance_checkpoint("c", 11, &[3; 32], now)
                .expect("db"),
            Ok(())
        );
        assert_eq!(
            state
                .advance_checkpoint("other", 1, &[3; 32], now)
                .expect("db"),
            Ok(())
        );
        assert_eq!(
            state.last_checkpoint("c").expect("db"),
            Some((11, vec![3; 32]))
        );
        assert_eq!(state.last_checkpoint("none").expect("db"), None);
    }
}
