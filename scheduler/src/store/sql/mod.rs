//! The store's logic, written once in the SQL that SQLite and PostgreSQL both speak.
//!
//! Submit, the fenced transitions, the configuration, the queries, the integrity checks and the
//! group-committing writer are the same for both back ends; each back end only supplies a
//! connection ([`Sql`]) that binds [`Value`]s and returns [`Row`]s, and its own schema. Statements
//! are written with SQLite's numbered parameters (`?1`); the PostgreSQL connection rewrites them
//! to `$1`. Times are unix nanoseconds in 64-bit integers and booleans are 0 or 1 in both.
//!
//! # Layout
//! - [`store`]: [`store::SqlStore`], the [`crate::store::Store`] over either back end.
//! - [`writer`]: the writer thread and its group commit; the audit chain head.
//! - [`records`]: submit and the fenced transitions (record, event and audit entry together).
//! - [`transition`]: the state machine and its fences, without a database.
//! - [`config`]: wards, signers, procedures and delegations.
//! - [`queries`]: record reads, events, statistics, the audit log.
//! - [`backlog`]: a ward's backlog at each of a series of instants.
//! - [`replicas`]: ward ownership, its fence, and signers' presence (several replicas).
//! - [`checkpoints`]: the audit chain's id and its signed checkpoints.
//! - [`confirmations`]: batches waiting for a remote signing app's confirmation.
//! - [`sessions`]: signers' sessions, by the hash of their token.
//! - [`webhooks`]: webhooks' cursors over the event log, and their dead letters.
//! - [`integrity`]: damage found, not served: hashes on every read, records against the chain.
//! - [`codec`]: rows to domain types and back.

pub(crate) mod backlog;
pub(crate) mod checkpoints;
pub(crate) mod codec;
pub(crate) mod config;
pub(crate) mod confirmations;
pub mod integrity;
pub(crate) mod queries;
pub(crate) mod records;
pub(crate) mod replicas;
pub(crate) mod sessions;
pub mod store;
pub(crate) mod transition;
pub(crate) mod webhooks;
pub(crate) mod writer;

use time::OffsetDateTime;

use crate::store::StoreError;

/// One value bound to a statement or read from a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit integer (also times in nanoseconds and booleans as 0 or 1).
    Int(i64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl From<&Vec<u8>> for Value {
    fn from(v: &Vec<u8>) -> Self {
        Value::Blob(v.clone())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
impl From<&Option<String>> for Value {
    fn from(v: &Option<String>) -> Self {
        v.as_ref().map_or(Value::Null, Into::into)
    }
}
impl From<&Option<Vec<u8>>> for Value {
    fn from(v: &Option<Vec<u8>>) -> Self {
        v.as_ref().map_or(Value::Null, Into::into)
    }
}

/// The values of a statement's parameters, in order: `values![a, b]`.
macro_rules! values {
    ($($v:expr),* $(,)?) => { &[$($crate::store::sql::Value::from($v)),*] };
}
pub(crate) use values;

/// One row of a query's result.
#[derive(Debug, Clone)]
pub struct Row(pub Vec<Value>);

/// A column that does not hold what the code reads from it: damage, never a panic.
fn unreadable(idx: usize, what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("unreadable column {idx}: {what}"))
}

impl Row {
    fn at(&self, idx: usize) -> Result<&Value, StoreError> {
        self.0
            .get(idx)
            .ok_or_else(|| unreadable(idx, "no such column"))
    }

    /// An integer column, NULL as `None`.
    pub fn opt_int(&self, idx: usize) -> Result<Option<i64>, StoreError> {
        match self.at(idx)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            other => Err(unreadable(idx, format!("{other:?} is not an integer"))),
        }
    }

    /// An integer column.
    pub fn int(&self, idx: usize) -> Result<i64, StoreError> {
        self.opt_int(idx)?
            .ok_or_else(|| unreadable(idx, "NULL where an integer belongs"))
    }

    /// A non-negative integer that must fit `T` (sizes, attempts, counts).
    pub fn uint<T: TryFrom<i64>>(&self, idx: usize) -> Result<T, StoreError> {
        let v = self.int(idx)?;
        T::try_from(v).map_err(|_| unreadable(idx, format!("{v} is out of range")))
    }

    /// A boolean stored as 0 or 1.
    pub fn bool(&self, idx: usize) -> Result<bool, StoreError> {
        Ok(self.int(idx)? != 0)
    }

    /// A text column, NULL as `None`.
    pub fn opt_text(&self, idx: usize) -> Result<Option<String>, StoreError> {
        match self.at(idx)? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v.clone())),
            other => Err(unreadable(idx, format!("{other:?} is not text"))),
        }
    }

    /// A text column.
    pub fn text(&self, idx: usize) -> Result<String, StoreError> {
        self.opt_text(idx)?
            .ok_or_else(|| unreadable(idx, "NULL where text belongs"))
    }

    /// A bytes column, NULL as `None`.
    pub fn opt_blob(&self, idx: usize) -> Result<Option<Vec<u8>>, StoreError> {
        match self.at(idx)? {
            Value::Null => Ok(None),
            Value::Blob(v) => Ok(Some(v.clone())),
            other => Err(unreadable(idx, format!("{other:?} is not bytes"))),
        }
    }

    /// A bytes column.
    pub fn blob(&self, idx: usize) -> Result<Vec<u8>, StoreError> {
        self.opt_blob(idx)?
            .ok_or_else(|| unreadable(idx, "NULL where bytes belong"))
    }

    /// A time stored as unix nanoseconds, NULL as `None`.
    pub fn opt_time(&self, idx: usize) -> Result<Option<OffsetDateTime>, StoreError> {
        self.opt_int(idx)?
            .map(|n| {
                OffsetDateTime::from_unix_timestamp_nanos(n.into()).map_err(|e| unreadable(idx, e))
            })
            .transpose()
    }

    /// A time stored as unix nanoseconds.
    pub fn time(&self, idx: usize) -> Result<OffsetDateTime, StoreError> {
        self.opt_time(idx)?
            .ok_or_else(|| unreadable(idx, "NULL where a time belongs"))
    }

    /// A text column written by `Display` and read back by `FromStr`.
    pub fn parsed<T: std::str::FromStr>(&self, idx: usize) -> Result<T, StoreError>
    where
        T::Err: std::fmt::Display,
    {
        let text = self.text(idx)?;
        text.parse()
            .map_err(|e| unreadable(idx, format!("{text:?}: {e}")))
    }
}

/// A connection of either back end, inside whatever transaction its owner began.
pub trait Sql {
    /// Runs a query and returns its rows; `context` says what the store was doing, for errors.
    fn query(&self, context: &str, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError>;
    /// Runs a statement and returns how many rows it changed.
    fn execute(&self, context: &str, sql: &str, params: &[Value]) -> Result<u64, StoreError>;
    /// Runs a statement whose row count nobody reads; a back end may send it with the next
    /// statement (its error then comes with that statement's, at the latest with the end of the
    /// job's savepoint).
    fn execute_later(&self, context: &str, sql: &str, params: &[Value]) -> Result<(), StoreError> {
        self.execute(context, sql, params).map(|_| ())
    }
    /// Runs statements without parameters (transaction control).
    fn batch(&self, context: &str, sql: &str) -> Result<(), StoreError>;
    /// The statement that begins a read transaction: one consistent snapshot for several queries.
    fn begin_read(&self) -> &'static str;

    /// The first row of a query, if any.
    fn query_opt(
        &self,
        context: &str,
        sql: &str,
        params: &[Value],
    ) -> Result<Option<Row>, StoreError> {
        Ok(self.query(context, sql, params)?.into_iter().next())
    }
}

/// Runs `work` in one read transaction of `conn` (a snapshot), ending it either way.
pub(crate) fn snapshot<T>(
    conn: &dyn Sql,
    context: &str,
    work: impl FnOnce(&dyn Sql) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    conn.batch(context, conn.begin_read())?;
    let result = work(conn);
    let end = conn.batch(context, "ROLLBACK");
    let value = result?;
    end?;
    Ok(value)
}
