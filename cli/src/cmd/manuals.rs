//! `signq completions SHELL` and `signq man DIR`: shell completions and man pages made from the
//! command-line definition itself, so they list exactly the options this binary takes. The
//! Debian package ships both.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory};
use clap_complete::Shell;

/// Options of `signq completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    pub shell: Shell,
}

/// Options of `signq man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory the pages are written to (`signq.1`, `signq-scheduler.1`, …).
    pub out_dir: PathBuf,
}

/// Prints the completion script for one shell.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut command = crate::Cli::command();
    // Into memory first: the generator panics on a failed write (a closed pipe), this does not.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "signq", &mut script);
    std::io::Write::write_all(&mut std::io::stdout(), &script)
        .context("writing the completion script")
}

/// Writes a man page for `signq` and one for each subcommand.
pub fn man(args: ManArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    clap_mangen::generate_to(crate::Cli::command(), &args.out_dir)
        .with_context(|| format!("writing the man pages to {}", args.out_dir.display()))?;
    println!("man pages written to {}", args.out_dir.display());
    Ok(())
}
