//! `signq`: the signing queue between a ward's intake and the people who sign.
//!
//! `main` only parses the command line, sets up logging and runs one subcommand; every piece of
//! behaviour lives in the library crates (`signq-signer`, `signq-kit`, `signq-load-tests`).

// A binary exports nothing; `pub` marks what its modules offer each other.
#![allow(unreachable_pub)]

mod cmd;
mod layout;

use clap::{Parser, Subcommand};

use crate::layout::DataDir;

/// signq: gets public records signed on time.
#[derive(Debug, Parser)]
#[command(name = "signq", version, about)]
struct Cli {
    #[command(flatten)]
    data: DataDir,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a complete demo ward on this machine with embedded defaults.
    Dev(cmd::signer::SignerArgs),
    /// Run the signing service.
    Signer(cmd::signer::SignerArgs),
    /// The ward PKI: CA, certificates, revocation.
    #[command(subcommand)]
    Pki(cmd::pki::PkiCmd),
    /// Delegations: grant, check, revoke.
    #[command(subcommand)]
    Delegation(cmd::delegation::DelegationCmd),
    /// Sign documents through the signer service.
    Sign(cmd::sign::SignArgs),
    /// Verify a detached signature.
    Verify(cmd::verify::VerifyArgs),
    /// Benchmarks against real services.
    #[command(subcommand)]
    Load(cmd::load::LoadCmd),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    signq_kit::telemetry::init_logging();
    let data = cli.data;
    match cli.command {
        Command::Dev(args) => cmd::dev::run(args, &data).await,
        Command::Signer(args) => cmd::signer::run(args, &data, signq_kit::shutdown::signal()).await,
        Command::Pki(c) => cmd::pki::run(c, &data),
        Command::Delegation(c) => cmd::delegation::run(c, &data).await,
        Command::Sign(args) => cmd::sign::run(args, &data).await,
        Command::Verify(args) => cmd::verify::run(args, &data),
        Command::Load(c) => cmd::load::run(c).await,
    }
}
