//! `signq store check`: SQLite's full integrity check (every page and every index) of the
//! scheduler's store and the signing service's state, read-only beside running services. The
//! services run the quicker check themselves at every start and refuse a damaged file.

use std::path::PathBuf;

use clap::Subcommand;

use crate::layout::DataDir;

/// The `store` subcommands.
#[derive(Debug, Subcommand)]
pub enum StoreCmd {
    /// The full integrity check; exits non-zero naming the damage.
    Check {
        /// The scheduler database (default: the data directory's).
        #[arg(long)]
        database: Option<PathBuf>,
        /// The signing service's state database (default: the data directory's, when present).
        #[arg(long)]
        signer_state: Option<PathBuf>,
    },
}

/// Runs a `store` subcommand.
pub fn run(cmd: StoreCmd, data: &DataDir) -> anyhow::Result<()> {
    let StoreCmd::Check {
        database,
        signer_state,
    } = cmd;
    let database = database.unwrap_or_else(|| data.scheduler_db());
    signq_scheduler::store::SqlStore::check_file(&database)
        .map_err(|e| anyhow::anyhow!("scheduler store DAMAGED: {e}"))?;
    println!("scheduler store OK: {}", database.display());
    if let Some(state) = signer_state.or_else(|| Some(data.signer_state()).filter(|p| p.exists())) {
        signq_signer::service::state::State::check_file(&state)
            .map_err(|e| anyhow::anyhow!("signing service state DAMAGED: {e}"))?;
        println!("signing service state OK: {}", state.display());
    }
    Ok(())
}
