//! `signq config check|example`: a configuration file judged without starting anything, and a
//! commented example made from the options themselves (so it lists every option, with its
//! default, and cannot fall behind them).

use std::path::PathBuf;

use clap::{CommandFactory, Subcommand};

use crate::config_file::{self, ConfigFile};

/// The `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// Check a configuration file as `signq scheduler` and `signq signer` would read it; exits
    /// non-zero naming the file, line and key of the first mistake.
    Check {
        /// The file.
        file: PathBuf,
    },
    /// Print a commented example: every option of both services, set to its default.
    Example,
}

/// Runs a `config` subcommand.
pub fn run(cmd: ConfigCmd) -> anyhow::Result<()> {
    let command = crate::Cli::command();
    match cmd {
        ConfigCmd::Check { file } => {
            ConfigFile::read(&file)?.check(&command)?;
            println!("{}: OK", file.display());
        }
        ConfigCmd::Example => print!("{}", config_file::example(&command)),
    }
    Ok(())
}
