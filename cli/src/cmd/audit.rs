//! `signq audit verify`: checks the scheduler's hash-chained audit log and names the first
//! broken entry.

use std::path::PathBuf;

use clap::Subcommand;

use crate::layout::DataDir;

/// The `audit` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// Verify the whole chain; exits non-zero at the first broken entry.
    Verify {
        /// The scheduler database (default: the data directory's).
        #[arg(long)]
        database: Option<PathBuf>,
    },
}

/// Runs an `audit` subcommand.
pub fn run(cmd: AuditCmd, data: &DataDir) -> anyhow::Result<()> {
    let AuditCmd::Verify { database } = cmd;
    let path = database.unwrap_or_else(|| data.scheduler_db());
    let n = signq_scheduler::store::audit::verify_database(&path)
        .map_err(|e| anyhow::anyhow!("audit chain BROKEN: {e}"))?;
    println!("audit chain OK: {n} entries");
    Ok(())
}
