//! `signq audit verify`: checks the scheduler's hash-chained audit log against itself and against
//! the checkpoints the signing service signed, and names the first entry that disagrees.

use std::path::PathBuf;

use clap::Subcommand;
use signq_scheduler::config::StoreLocation;
use signq_scheduler::store::SqlStore;

use crate::layout::DataDir;

/// The `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Verify the whole chain and its signed checkpoints; exits non-zero at the first broken
    /// entry.
    Verify {
        /// The scheduler's store: its SQLite file (default: the data directory's) or its
        /// PostgreSQL database (`postgres://…`), verified beside running replicas.
        #[arg(long, alias = "store", value_name = "PATH|URL")]
        database: Option<String>,
        /// The signing service's state database, whose memory of the last checkpoint it signed
        /// also catches deleted checkpoints (default: the data directory's, when present).
        #[arg(long)]
        signer_state: Option<PathBuf>,
    },
}

/// Runs an `audit` subcommand.
pub async fn run(cmd: AuditCmd, data: &DataDir) -> anyhow::Result<()> {
    let AuditCmd::Verify {
        database,
        signer_state,
    } = cmd;
    let state = signer_state.or_else(|| Some(data.signer_state()).filter(|p| p.exists()));
    let trust = signq_signer::trust::load(&data.ca_cert(), Some(&data.crl()))?;
    let location = database.map_or_else(
        || StoreLocation::Sqlite(data.scheduler_db()),
        |text| StoreLocation::parse(&text),
    );
    let report = match location {
        StoreLocation::Sqlite(path) => {
            signq_scheduler::store::audit::verify_database(&path, &trust, state.as_deref())
        }
        StoreLocation::Postgres(url) => {
            SqlStore::connect(&url)
                .await
                .map_err(|e| anyhow::anyhow!("opening the store: {e}"))?
                .verify_audit(trust, state)
                .await
        }
    }
    .map_err(|e| anyhow::anyhow!("audit chain BROKEN: {e}"))?;
    println!("audit chain OK: {} entries", report.entries);
    println!(
        "records OK: {} records agree with the chain (state, document, signature)",
        report.records
    );
    match &report.newest {
        Some((seq, at, by)) => println!(
            "checkpoints OK: {} signed by {by}, the newest at seq {seq} ({}); {} newer entries not yet checkpointed",
            report.checkpoints,
            signq_signer::delegation::signed::rfc3339(*at),
            report.entries - seq
        ),
        None => println!("checkpoints: none yet"),
    }
    if let Some(seq) = report.signer_last {
        println!("the signing service's last checkpoint (seq {seq}) agrees");
    }
    Ok(())
}
