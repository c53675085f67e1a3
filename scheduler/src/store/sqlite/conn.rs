//! A SQLite connection as the shared SQL sees it ([`Sql`]): values bound by position, rows read
//! into [`Value`]s, prepared statements cached, errors classified (a full disk, a damaged file),
//! and SQLite's own checks of its pages.

use rusqlite::Connection;
use rusqlite::types::{ToSqlOutput, ValueRef};

use crate::store::StoreError;
use crate::store::sql::writer::WriteConn;
use crate::store::sql::{Row, Sql, Value};

/// Maps a rusqlite error to a [`StoreError`], saying what the store was doing: a full disk is
/// [`StoreError::Full`], a damaged file [`StoreError::Damaged`], anything else
/// [`StoreError::Backend`].
pub(super) fn backend(context: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| {
        let message = format!("{context}: {e}");
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => {
                crate::metrics::store_full();
                StoreError::Full(message)
            }
            Some(rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase) => {
                StoreError::Damaged(message)
            }
            _ => StoreError::Backend(message),
        }
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
            Value::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

/// Reads a row's columns into values.
fn row_values(row: &rusqlite::Row<'_>, columns: usize) -> rusqlite::Result<Row> {
    let mut values = Vec::with_capacity(columns);
    for idx in 0..columns {
        values.push(match row.get_ref(idx)? {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(v) => Value::Int(v),
            ValueRef::Real(v) => Value::Int(v as i64),
            ValueRef::Text(v) => Value::Text(String::from_utf8_lossy(v).into_owned()),
            ValueRef::Blob(v) => Value::Blob(v.to_vec()),
        });
    }
    Ok(Row(values))
}

/// A SQLite connection of the store (the writer's or a reader).
#[derive(Debug)]
pub(crate) struct SqliteConn(pub(super) Connection);

impl Sql for SqliteConn {
    fn query(&self, context: &str, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(backend(context))?;
        let columns = stmt.column_count();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |row| {
                row_values(row, columns)
            })
            .map_err(backend(context))?;
        rows.collect::<Result<_, _>>().map_err(backend(context))
    }

    fn execute(&self, context: &str, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let changed = self
            .0
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(params)))
            .map_err(backend(context))?;
        Ok(changed as u64)
    }

    fn batch(&self, context: &str, sql: &str) -> Result<(), StoreError> {
        self.0.execute_batch(sql).map_err(backend(context))
    }

    fn begin_read(&self) -> &'static str {
        "BEGIN DEFERRED"
    }
}

impl WriteConn for SqliteConn {
    fn begin_write(&self) -> &'static str {
        // The write lock at once: the chain head read next cannot change under the batch.
        "BEGIN IMMEDIATE"
    }

    fn publish(&self, _: &[String]) -> Result<(), StoreError> {
        // One scheduler writes this store: it tells its own parts directly.
        Ok(())
    }

    fn recover(&mut self) -> Result<(), StoreError> {
        if !self.0.is_autocommit() {
            self.0
                .execute_batch("ROLLBACK")
                .map_err(backend("ending an abandoned transaction"))?;
        }
        Ok(())
    }
}

/// SQLite's quick check (pages, no index contents), as at every open.
pub(super) fn quick_check(conn: &Connection) -> Result<(), StoreError> {
    pragma_check(conn, "PRAGMA quick_check(20)", "quick check")
}

/// SQLite's full integrity check (pages and every index): slower, on demand.
pub(super) fn integrity_check(conn: &Connection) -> Result<(), StoreError> {
    pragma_check(conn, "PRAGMA integrity_check(20)", "integrity check")
}

fn pragma_check(conn: &Connection, pragma: &str, name: &str) -> Result<(), StoreError> {
    let mut stmt = conn.prepare(pragma).map_err(backend(name))?;
    let found = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .map_err(backend(name))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend(name))?;
    if found.len() == 1 && found[0] == "ok" {
        return Ok(());
    }
    Err(StoreError::Damaged(format!(
        "SQLite's {name} found damage: {}",
        found.join("; ")
    )))
}
