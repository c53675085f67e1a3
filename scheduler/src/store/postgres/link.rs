//! How a connection of the store reaches PostgreSQL, and where its I/O runs.
//!
//! Readers borrow pooled connections whose I/O runs on the store's runtime. The writer, whose
//! round trips set how many writes a second a replica commits, has a connection of its own on a
//! runtime of its own, on its own thread: a round trip then never hands off between threads.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;

use deadpool_postgres::{Object, Pool};
use tokio::runtime::{Handle, Runtime};
use tokio_postgres::{Client, NoTls, Statement};

use super::conn::{classify, unreachable};
use crate::store::StoreError;

/// A connection to PostgreSQL.
#[allow(clippy::large_enum_variant)] // one per connection; the writer's is the large one
pub(super) enum Link {
    /// Borrowed from the pool (returned when dropped); its I/O on the store's runtime.
    Pooled {
        client: Object,
        pool: Pool,
        runtime: Handle,
    },
    /// The writer's own: the connection task runs on `runtime`, driven by every call.
    Own {
        client: Client,
        statements: RefCell<HashMap<String, Statement>>,
        runtime: Runtime,
        config: tokio_postgres::Config,
    },
}

impl Link {
    /// A connection from `pool` (from a blocking thread).
    pub(super) fn pooled(pool: &Pool, runtime: &Handle) -> Result<Link, StoreError> {
        let client = runtime
            .block_on(pool.get())
            .map_err(|e| unreachable("connecting to the database", e))?;
        Ok(Link::Pooled {
            client,
            pool: pool.clone(),
            runtime: runtime.clone(),
        })
    }

    /// A connection of its own to the database of `config`, on a runtime of its own (from a
    /// blocking thread).
    pub(super) fn own(config: &tokio_postgres::Config) -> Result<Link, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("starting the writer's runtime: {e}")))?;
        let (client, connection) = runtime
            .block_on(config.connect(NoTls))
            .map_err(|e| classify("connecting the writer to the database", &e))?;
        runtime.spawn(connection);
        Ok(Link::Own {
            client,
            statements: RefCell::new(HashMap::new()),
            runtime,
            config: config.clone(),
        })
    }

    /// The client.
    pub(super) fn client(&self) -> &Client {
        match self {
            Link::Pooled { client, .. } => client,
            Link::Own { client, .. } => client,
        }
    }

    /// `sql` prepared, from the connection's cache after the first time.
    pub(super) async fn prepare(&self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        match self {
            Link::Pooled { client, .. } => client.prepare_cached(sql).await,
            Link::Own {
                client, statements, ..
            } => {
                if let Some(statement) = statements.borrow().get(sql) {
                    return Ok(statement.clone());
                }
                let statement = client.prepare(sql).await?;
                statements
                    .borrow_mut()
                    .insert(sql.to_string(), statement.clone());
                Ok(statement)
            }
        }
    }

    /// Runs `future` to its end where this connection's I/O runs.
    pub(super) fn block_on<F: Future>(&self, future: F) -> F::Output {
        match self {
            Link::Pooled { runtime, .. } => runtime.block_on(future),
            Link::Own { runtime, .. } => runtime.block_on(future),
        }
    }

    /// A new connection like this one, after it broke.
    pub(super) fn reconnect(&self) -> Result<Link, StoreError> {
        match self {
            Link::Pooled { pool, runtime, .. } => Link::pooled(pool, runtime),
            Link::Own { config, .. } => Link::own(config),
        }
    }
}
