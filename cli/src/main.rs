//! `signq`: the signing queue between a ward's intake and the people who sign.
//!
//! `main` only parses the command line, sets up logging and runs one subcommand; every piece of
//! behaviour lives in the library crates (`signq-scheduler`, `signq-signer`, `signq-kit`,
//! `signq-load-tests`).

// A binary exports nothing; `pub` marks what its modules offer each other.
#![allow(unreachable_pub)]

mod calendar_files;
mod cmd;
mod config_file;
mod layout;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::layout::DataDir;

/// The version and the commit the binary was built from (`signq --version`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SIGNQ_COMMIT"),
    ")"
);

/// signq: gets public records signed on time.
#[derive(Debug, Parser)]
#[command(name = "signq", version = VERSION, about)]
pub struct Cli {
    /// A configuration file (TOML): top-level keys for these shared options, `[scheduler]` and
    /// `[signer]` for those services' options (`signq config example` prints one). Flags and
    /// environment variables override it.
    #[arg(long, env = config_file::CONFIG_ENV, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Where the scheduler and the signing service export their traces: an OpenTelemetry
    /// collector's OTLP/gRPC endpoint, such as `http://127.0.0.1:4317`. Without it (nor the
    /// standard `OTEL_EXPORTER_OTLP_ENDPOINT`) traces are not exported; their ids are still
    /// logged and passed from the scheduler to the signing service.
    #[arg(long, env = "SIGNQ_OTLP_ENDPOINT", global = true, value_name = "URL")]
    otlp_endpoint: Option<String>,
    #[command(flatten)]
    data: DataDir,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a complete demo ward on this machine with embedded defaults.
    Dev(Box<cmd::dev::DevArgs>),
    /// Run the scheduler.
    Scheduler(cmd::dev::SchedulerOnly),
    /// Run the signing service.
    Signer(Box<cmd::dev::SignerOnly>),
    /// The ward PKI: CA, certificates, revocation.
    #[command(subcommand)]
    Pki(cmd::pki::PkiCmd),
    /// Delegations: grant, check, revoke.
    #[command(subcommand)]
    Delegation(cmd::delegation::DelegationCmd),
    /// Submit a record to the scheduler (as an intake system).
    Submit(cmd::records::SubmitArgs),
    /// Show a record; write its document and signature.
    Get(cmd::records::GetArgs),
    /// Ask for a new appointment date for a record that will be late (as an intake system).
    Reappoint(cmd::records::ReappointArgs),
    /// A ward's webhooks: register, list, remove; their dead letters.
    #[command(subcommand)]
    Webhooks(cmd::webhooks::WebhooksCmd),
    /// A signer's inbox: list the leased records.
    Inbox(cmd::inbox::InboxArgs),
    /// Approve (sign) leased records with the PIN.
    Approve(cmd::inbox::ApproveArgs),
    /// Reject a leased record with a reason.
    Reject(cmd::inbox::RejectArgs),
    /// Sign documents directly through the signer service.
    Sign(cmd::sign::SignArgs),
    /// Verify a detached signature.
    Verify(cmd::verify::VerifyArgs),
    /// The audit log.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCmd),
    /// Take a consistent copy of the data directory (and a PostgreSQL store) beside the running
    /// services.
    Backup(cmd::backup::BackupArgs),
    /// Put a backup back into a new data directory (and an empty PostgreSQL database).
    Restore(cmd::backup::RestoreArgs),
    /// The databases themselves.
    #[command(subcommand)]
    Store(cmd::store::StoreCmd),
    /// The ward's calendar: working days, holidays and the year files.
    #[command(subcommand)]
    Calendar(cmd::calendar::CalendarCmd),
    /// Load tests and benchmarks against the real services.
    #[command(subcommand)]
    Load(cmd::load::LoadCmd),
    /// The balancer under virtual time: scenarios, policies, what-ifs.
    Simulate(cmd::simulate::SimulateArgs),
    /// Configuration files: check one, print an example.
    #[command(subcommand)]
    Config(cmd::config::ConfigCmd),
    /// Print the shell completion script for a shell.
    Completions(cmd::manuals::CompletionsArgs),
    /// Write the man pages.
    Man(cmd::manuals::ManArgs),
}

impl Cli {
    /// The command line, with the configuration file's settings where no flag or environment
    /// variable gave one. `--help`, `--version` and a bad command line exit here, as clap does.
    fn parse_with_config() -> anyhow::Result<Cli> {
        let argv: Vec<OsString> = std::env::args_os().collect();
        let command = Cli::command();
        let matches = command.clone().get_matches_from(&argv);
        let matches = match matches.get_one::<PathBuf>("config") {
            Some(path) => {
                let file = config_file::ConfigFile::read(path)?;
                let argv = file.apply(&command, &matches, argv)?;
                command.get_matches_from(argv)
            }
            None => matches,
        };
        Cli::from_arg_matches(&matches).map_err(|e| e.exit())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse_with_config()?;
    // The services export traces (as `service.name`); other commands only log.
    let service = match cli.command {
        Command::Scheduler(_) => Some("signq-scheduler"),
        Command::Signer(_) => Some("signq-signer"),
        Command::Dev(_) => Some("signq-dev"),
        _ => None,
    };
    let telemetry = match service {
        Some(service) => Some(signq_kit::telemetry::init(
            service,
            cli.otlp_endpoint.as_deref(),
        )?),
        None => {
            signq_kit::telemetry::init_logging();
            None
        }
    };
    let result = run(cli.command, cli.data).await;
    // After the services have drained (SIGTERM): the spans still buffered go out.
    if let Some(telemetry) = telemetry {
        telemetry.shutdown().await;
    }
    result
}

/// Runs one subcommand.
async fn run(command: Command, data: DataDir) -> anyhow::Result<()> {
    let shutdown = signq_kit::shutdown::signal;
    match command {
        Command::Dev(args) => cmd::dev::run(*args, &data).await,
        Command::Scheduler(args) => args.run(&data, shutdown()).await,
        Command::Signer(args) => args.run(&data, shutdown()).await,
        Command::Pki(c) => cmd::pki::run(c, &data),
        Command::Delegation(c) => cmd::delegation::run(c, &data).await,
        Command::Submit(args) => cmd::records::submit(args, &data).await,
        Command::Get(args) => cmd::records::get(args, &data).await,
        Command::Reappoint(args) => cmd::records::reappoint(args, &data).await,
        Command::Webhooks(c) => cmd::webhooks::run(c, &data).await,
        Command::Inbox(args) => cmd::inbox::inbox(args, &data).await,
        Command::Approve(args) => cmd::inbox::approve(args, &data).await,
        Command::Reject(args) => cmd::inbox::reject(args, &data).await,
        Command::Sign(args) => cmd::sign::run(args, &data).await,
        Command::Verify(args) => cmd::verify::run(args, &data),
        Command::Audit(c) => cmd::audit::run(c, &data).await,
        Command::Store(c) => cmd::store::run(c, &data),
        Command::Backup(args) => cmd::backup::backup(args, &data),
        Command::Restore(args) => cmd::backup::restore(args, &data).await,
        Command::Calendar(c) => cmd::calendar::run(c, &data),
        Command::Load(c) => cmd::load::run(c, &data).await,
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Config(c) => cmd::config::run(c),
        Command::Completions(args) => cmd::manuals::completions(args),
        Command::Man(args) => cmd::manuals::man(args),
    }
}
