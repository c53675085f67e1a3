//! A PostgreSQL connection as the shared SQL sees it ([`Sql`]): statements rewritten from `?1` to
//! `$1` and prepared once per connection, [`Value`]s bound by the column types PostgreSQL infers,
//! rows read into values, and errors classified (a full disk, damage, a database out of reach).
//!
//! The shared SQL is synchronous (it runs on the writer thread and on blocking threads), so each
//! call blocks on the store's own runtime, where tokio-postgres does the I/O. Statements whose
//! answer can wait go out with the next one ([`super::pipeline`]).

use std::cell::Cell;
use std::error::Error;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use deadpool_postgres::Pool;
use tokio::runtime::Handle;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::link::Link;
use super::pipeline::Pipeline;
use crate::store::StoreError;
use crate::store::sql::writer::WriteConn;
use crate::store::sql::{Row, Sql, Value};

/// Begins a batch and takes the advisory lock every replica's writer takes for its batch (held
/// until the transaction ends): the audit chain has one head, and a batch reads and extends it
/// under this lock. The key is "SIGNQ" and 1 in hex (0x5349474e51000001).
const BEGIN_WRITE: &str = "BEGIN; SELECT pg_advisory_xact_lock(6001406380139872257)";

/// [`BEGIN_WRITE`], the cached plans dropped first (see [`REPLAN`]).
const REPLAN_AND_BEGIN_WRITE: &str =
    "DISCARD PLANS; BEGIN; SELECT pg_advisory_xact_lock(6001406380139872257)";

/// Maps a tokio-postgres error to a [`StoreError`], saying what the store was doing.
pub(super) fn classify(context: &str, e: &tokio_postgres::Error) -> StoreError {
    let message = format!("{context}: {}", describe(e));
    match e.code() {
        Some(code) if *code == SqlState::DISK_FULL => {
            crate::metrics::store_full();
            StoreError::Full(message)
        }
        Some(code) if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED => {
            StoreError::Damaged(message)
        }
        Some(code) if code.code().starts_with("08") || code.code().starts_with("57P") => {
            StoreError::Unavailable(message)
        }
        Some(_) => StoreError::Backend(message),
        // No SQLSTATE: the connection itself failed (closed, refused, timed out).
        None => StoreError::Unavailable(message),
    }
}

/// The server's message and detail when it sent one, the driver's otherwise.
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        None => match e.source() {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// A pool error as a [`StoreError`]: the database could not be reached.
pub(super) fn unreachable(context: &str, e: deadpool_postgres::PoolError) -> StoreError {
    match e {
        deadpool_postgres::PoolError::Backend(e) => classify(context, &e),
        other => StoreError::Unavailable(format!("{context}: {other}")),
    }
}

/// Rewrites SQLite's numbered parameters (`?1`) to PostgreSQL's (`$1`); quoted text is left
/// alone.
pub(crate) fn dollar_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '?' && !quoted && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => Err(format!("an integer cannot be bound to a {ty} parameter").into()),
            },
            Value::Text(v) => v.to_sql(ty, out),
            Value::Blob(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Reads a row's columns into values.
fn row_values(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let bad = |idx: usize, e: tokio_postgres::Error| {
        StoreError::Backend(format!("unreadable column {idx}: {e}"))
    };
    let mut values = Vec::with_capacity(row.len());
    for (idx, column) in row.columns().iter().enumerate() {
        let value = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(idx).map(|v| v.into()),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(idx)
                .map(|v| v.map(i64::from).into()),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(idx)
                .map(|v| v.map(i64::from).into()),
            Type::BOOL => row.try_get::<_, Option<bool>>(idx).map(|v| v.into()),
            Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(idx).map(|v| v.into()),
            _ => row.try_get::<_, Option<String>>(idx).map(|v| v.into()),
        }
        .map_err(|e| bad(idx, e))?;
        values.push(value);
    }
    Ok(Row(values))
}

/// How soon, then how often at most, the writer's cached plans are made again: after 1 s, 2 s,
/// 4 s and so on up to every minute. A plan is made for a table as it is when the statement is
/// first used; on a new store that is an empty table, for which scanning it whole is the cheapest
/// plan, and stays the plan as the table grows (PostgreSQL makes plans again only once autovacuum
/// analyses the table). Planning anew at every execution would cost the writer a third of its
/// rate.
const REPLAN: (Duration, Duration) = (Duration::from_secs(1), Duration::from_secs(60));

/// A PostgreSQL connection of the store, used from a blocking thread.
pub(crate) struct PgConn {
    /// The connection.
    link: Link,
    /// Statements waiting to go out with the next one.
    pipeline: Pipeline,
    /// When its cached plans were last dropped, and when they will be next.
    planned: Cell<(Instant, Duration)>,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgConn")
            .field("closed", &self.link.client().is_closed())
            .finish()
    }
}

impl PgConn {
    /// A reader's connection from `pool`, waiting on `runtime` (from a blocking thread).
    pub(super) fn take(pool: &Pool, runtime: &Handle) -> Result<PgConn, StoreError> {
        Ok(PgConn::over(Link::pooled(pool, runtime)?))
    }

    /// The writer's connection, of its own (from a blocking thread).
    pub(super) fn writer(config: &tokio_postgres::Config) -> Result<PgConn, StoreError> {
        Ok(PgConn::over(Link::own(config)?))
    }

    fn over(link: Link) -> PgConn {
        PgConn {
            link,
            pipeline: Pipeline::default(),
            planned: Cell::new((Instant::now(), REPLAN.0)),
        }
    }

    fn params(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
        params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
    }

    /// Runs `work` on the store's runtime, after the statements waiting, in one round trip.
    fn run<T>(
        &self,
        context: &str,
        work: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<T, StoreError> {
        self.link
            .block_on(self.pipeline.flush_with(&self.link, async {
                work.await.map_err(|e| classify(context, &e))
            }))
    }
}

impl Sql for PgConn {
    fn query(&self, context: &str, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let sql = dollar_params(sql);
        let rows = self.run(context, async {
            let stmt = self.link.prepare(&sql).await?;
            self.link.client().query(&stmt, &Self::params(params)).await
        })?;
        rows.iter().map(row_values).collect()
    }

    fn execute(&self, context: &str, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let sql = dollar_params(sql);
        self.run(context, async {
            let stmt = self.link.prepare(&sql).await?;
            self.link
                .client()
                .execute(&stmt, &Self::params(params))
                .await
        })
    }

    fn execute_later(&self, context: &str, sql: &str, params: &[Value]) -> Result<(), StoreError> {
        self.pipeline.execute(context, dollar_params(sql), params);
        Ok(())
    }

    fn batch(&self, context: &str, sql: &str) -> Result<(), StoreError> {
        // The answer of a transaction's or a savepoint's beginning can wait: the next statement
        // meets its failure anyway.
        if sql.starts_with("SAVEPOINT ") || sql.starts_with("BEGIN") || sql.starts_with("DISCARD") {
            self.pipeline.simple(sql);
            return Ok(());
        }
        self.run(context, self.link.client().batch_execute(sql))
    }

    fn begin_read(&self) -> &'static str {
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    }
}

impl WriteConn for PgConn {
    fn begin_write(&self) -> &'static str {
        let (at, after) = self.planned.get();
        if at.elapsed() >= after {
            self.planned
                .set((Instant::now(), (after * 2).min(REPLAN.1)));
            return REPLAN_AND_BEGIN_WRITE;
        }
        BEGIN_WRITE
    }

    fn publish(&self, notices: &[String]) -> Result<(), StoreError> {
        // Sent with the COMMIT that delivers them.
        for notice in notices {
            self.execute_later(
                "announcing a change",
                "SELECT pg_notify('signq', ?1)",
                &[Value::Text(notice.clone())],
            )?;
        }
        Ok(())
    }

    fn recover(&mut self) -> Result<(), StoreError> {
        self.pipeline.clear();
        if self.link.client().is_closed() {
            self.link = self.link.reconnect()?;
            return Ok(());
        }
        self.batch("ending an abandoned transaction", "ROLLBACK")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_parameters_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_params("SELECT '?1', x FROM t WHERE a = ?1 AND b = ?12 AND c LIKE 'r?%'"),
            "SELECT '?1', x FROM t WHERE a = $1 AND b = $12 AND c LIKE 'r?%'"
        );
    }

    #[test]
    fn the_chain_lock_key_spells_signq() {
        let key = 0x5349_474e_5100_0001_i64.to_string();
        assert!(BEGIN_WRITE.contains(&key) && REPLAN_AND_BEGIN_WRITE.ends_with(BEGIN_WRITE));
    }
}
