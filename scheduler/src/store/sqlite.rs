//! The embedded store: SQLite in WAL mode, the default for a ward or a single-machine scheduler.
//!
//! Writes go to one writer thread that commits them in groups (one fsync for every write that
//! arrived meanwhile) and replies only after the commit: acknowledged means durable, even across
//! power loss. Reads run on a small pool of read-only connections on tokio's blocking threads,
//! so they never wait behind the writer and never stall the async runtime. The logic itself is
//! the shared SQL of [`super::sql`].
//!
//! # Layout
//! - [`schema`]: tables, indexes, migrations and connection settings.
//! - [`conn`]: the connection as the shared SQL sees it; SQLite's page checks.

mod conn;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::StoreError;
use super::sql::Sql;
use super::sql::store::{ReadPool, SqlStore};
pub(crate) use conn::SqliteConn;

/// Idle read connections kept for reuse; more are opened under load and closed afterwards.
const MAX_IDLE_READERS: usize = 8;

impl SqlStore {
    /// Opens the SQLite database at `path`, creating the file (and its directory) and the schema
    /// if needed, and starts the writer thread.
    pub fn open(path: &Path) -> Result<SqlStore, StoreError> {
        let writer = schema::open_writer(path).map_err(|e| e.context(path.display()))?;
        let readers = Arc::new(Readers {
            path: path.to_owned(),
            idle: Mutex::new(Vec::new()),
        });
        SqlStore::start(
            path.display().to_string(),
            SqliteConn(writer),
            readers,
            None,
        )
    }

    /// Runs SQLite's full integrity check on the database at `path` (read-only, beside a running
    /// scheduler): every page and every index. Slower than the quick check made at every open.
    pub fn check_file(path: &Path) -> Result<(), StoreError> {
        let conn = schema::open_reader(path)?;
        conn::integrity_check(&conn).map_err(|e| e.context(path.display()))
    }
}

/// Read-only connections, reused across queries.
#[derive(Debug)]
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<SqliteConn>>,
}

impl ReadPool for Readers {
    fn with_reader(&self, work: &mut dyn FnMut(&dyn Sql)) -> Result<(), StoreError> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => SqliteConn(schema::open_reader(&self.path)?),
        };
        work(&conn);
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < MAX_IDLE_READERS && conn.0.is_autocommit() {
            idle.push(conn);
        }
        Ok(())
    }
}

/// A read-only connection to the store's file at `path`, for tools beside a running scheduler
/// (`signq audit verify`).
pub(crate) fn reader(path: &Path) -> Result<SqliteConn, StoreError> {
    Ok(SqliteConn(schema::open_reader(path)?))
}
