//! The PostgreSQL store, for provinces that run several scheduler replicas on one database.
//!
//! The logic is the shared SQL of [`super::sql`], as for SQLite: one writer thread per replica
//! commits in groups, reads run on pooled connections. What differs is underneath: tokio-postgres
//! with a deadpool pool, on a small runtime of the store's own (so the blocking SQL never waits
//! on the caller's runtime, whatever its flavour), versioned migrations applied at start, and
//! the audit chain's lock taken in the database by every replica's batches.
//!
//! # Layout
//! - [`schema`]: the migrations.
//! - [`conn`]: the connection as the shared SQL sees it; errors classified.
//! - [`link`]: pooled connections for reads, the writer's own for its round trips.
//! - [`pipeline`]: statements sent with the next one, so a job costs few round trips.
//! - [`listen`]: the notices every replica's writes announce.

mod conn;
mod link;
mod listen;
mod pipeline;
mod schema;

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::runtime::{Handle, Runtime};
use tokio_postgres::NoTls;

use super::StoreError;
use super::sql::Sql;
use super::sql::store::{ReadPool, Replication, SqlStore};
use conn::PgConn;

/// Connections per replica: the writer's, readers for the API and the engine, and room for
/// streams following their wards.
const POOL_SIZE: usize = 16;

/// Notices a subscriber may lag behind before it misses some (and resynchronises).
const NOTICES: usize = 4096;

/// How long a connection is waited for (made, or free in the pool) before the call fails as
/// unavailable rather than hanging while the database is out of reach.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a session of this store may sit idle inside a transaction before the database ends
/// it. Every replica's writer takes the audit chain's lock for its batch and holds it until the
/// batch commits; a replica frozen in the middle of one (stopped, swapped out, its machine gone)
/// would otherwise hold every other replica's writes, their ward takeovers included, for as
/// long as it stays frozen. A healthy writer is idle in its transaction only between two round
/// trips of a batch, for milliseconds; this is well under the default ownership lease, so the
/// wards of a frozen replica are still taken over within that lease.
const IDLE_IN_TRANSACTION_LIMIT: Duration = Duration::from_secs(3);

impl SqlStore {
    /// Connects to the PostgreSQL database at `url` (`postgres://user@host:port/database`),
    /// applies the migrations it lacks, and starts the writer thread.
    pub async fn connect(url: &str) -> Result<SqlStore, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Backend(format!("the store URL is not valid: {e}")))?;
        config.connect_timeout(CONNECT_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("signq-scheduler");
        }
        add_option(
            &mut config,
            &format!(
                "-c idle_in_transaction_session_timeout={}",
                IDLE_IN_TRANSACTION_LIMIT.as_millis()
            ),
        );
        let name = describe(&config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("signq-postgres")
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("starting the store's runtime: {e}")))?;
        let handle = runtime.handle().clone();

        let migrate = {
            let config = config.clone();
            handle.spawn(async move {
                let (mut client, connection) = config
                    .connect(NoTls)
                    .await
                    .map_err(|e| conn::classify("connecting to the database", &e))?;
                tokio::spawn(connection);
                schema::migrate(&mut client).await
            })
        };
        migrate
            .await
            .map_err(|e| StoreError::Backend(format!("migrating the schema: {e}")))?
            .map_err(|e| e.context(&name))?;

        let listen_config = config.clone();
        // The writer keeps its plans, made again now and then (see `conn`); readers have each
        // query planned for its own parameters: a plan cached while a table was small (a new
        // store fills from empty) would scan the whole table long after it has grown.
        let writer_config = config.clone();
        add_option(&mut config, "-c plan_cache_mode=force_custom_plan");
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(CONNECT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Backend(format!("making the connection pool: {e}")))?;
        let writer = {
            tokio::task::spawn_blocking(move || PgConn::writer(&writer_config))
                .await
                .map_err(|e| StoreError::Backend(format!("connecting the writer: {e}")))??
        };
        let (notices, _) = tokio::sync::broadcast::channel(NOTICES);
        let (ready, listening) = tokio::sync::oneshot::channel();
        handle.spawn(listen::run(listen_config, notices.clone(), ready));
        // From here on no notice is missed: the store listens before it is used.
        tokio::time::timeout(CONNECT_TIMEOUT, listening)
            .await
            .map_err(|_| StoreError::Unavailable(format!("{name}: could not listen for notices")))?
            .map_err(|_| StoreError::Backend("the store's notices stopped".into()))?;
        let readers = Arc::new(Readers {
            pool,
            handle,
            runtime: Mutex::new(Some(runtime)),
        });
        SqlStore::start(name, writer, readers, Some(Replication::new(notices)))
    }
}

/// Adds a server setting to the connection's options, after any the store URL gave.
fn add_option(config: &mut tokio_postgres::Config, option: &str) {
    let options = match config.get_options() {
        Some(given) if !given.is_empty() => format!("{given} {option}"),
        _ => option.to_owned(),
    };
    config.options(&options);
}

/// The database's address without its password, for logs and errors.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// Pooled read connections, and the runtime they do their I/O on.
struct Readers {
    pool: Pool,
    handle: Handle,
    /// Shut down (in the background) when the store is dropped.
    runtime: Mutex<Option<Runtime>>,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("pool", &self.pool.status())
            .finish()
    }
}

impl ReadPool for Readers {
    fn with_reader(&self, work: &mut dyn FnMut(&dyn Sql)) -> Result<(), StoreError> {
        let conn = PgConn::take(&self.pool, &self.handle)?;
        work(&conn);
        Ok(())
    }
}

impl Drop for Readers {
    fn drop(&mut self) {
        let runtime = self
            .runtime
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(runtime) = runtime {
            runtime.shutdown_background();
        }
    }
}
