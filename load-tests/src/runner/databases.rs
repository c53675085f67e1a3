//! Fresh PostgreSQL databases for runs against a shared store: each run (or test) gets a database
//! of its own on a server the operator (or the test command) gives.

use anyhow::Context;

/// Makes a new, empty database named after `prefix` on the server of `admin`
/// (`postgres://user@host:port/database`); its URL.
pub async fn fresh_database(admin: &str, prefix: &str) -> anyhow::Result<String> {
    let (client, connection) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
        .await
        .context("connecting to the PostgreSQL server")?;
    tokio::spawn(connection);
    let name = format!("{prefix}_{}", hex::encode(rand::random::<[u8; 8]>()));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .context("creating a database")?;
    let (base, _) = admin
        .rsplit_once('/')
        .context("the server's URL names no database")?;
    Ok(format!("{base}/{name}"))
}
