//! `signq load`: benchmarks that drive real services. `signq load sign` provisions a throw-away
//! demo ward, starts `signq signer` as a child process on a loopback port, and measures signing
//! through it beside `openssl speed`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use signq_load_tests::sign_bench::{self, SignBench};
use signq_signer::keystore::{Kek, Keystore};

use super::client::SignerClientArgs;
use super::dev::{self, SIGNERS};
use crate::layout::DataDir;

/// The `load` subcommands.
#[derive(Debug, Subcommand)]
pub enum LoadCmd {
    /// Signatures per second per core through the signer service, beside openssl speed.
    Sign(SignLoadArgs),
}

/// Options of `signq load sign`.
#[derive(Debug, Clone, Args)]
pub struct SignLoadArgs {
    /// Seconds to measure each batch size.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Batch sizes.
    #[arg(long, value_delimiter = ',', default_value = "1,10,100")]
    pub batches: Vec<usize>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 2)]
    pub concurrency: usize,
    /// Bytes per document.
    #[arg(long, default_value_t = 1024)]
    pub document_bytes: usize,
}

/// Kills the child service when the benchmark ends, however it ends.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs a `load` subcommand.
pub async fn run(cmd: LoadCmd) -> anyhow::Result<()> {
    let LoadCmd::Sign(args) = cmd;
    let tmp = tempfile::tempdir()?;
    let data = DataDir {
        data_dir: tmp.path().to_path_buf(),
        passphrase_file: None,
    };
    dev::provision(&data)?;
    let exe = std::env::current_exe()?;
    let mut child = Command::new(&exe)
        .arg("--data-dir")
        .arg(tmp.path())
        .args([
            "signer",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .args([
            "--signatures-per-hour",
            "1000000000",
            "--signature-burst",
            "100000",
            "--pin-attempts-per-minute",
            "1000000",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .context("starting signq signer")?;
    let stdout = child.stdout.take().context("child stdout")?;
    let guard = ChildGuard(child);
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let Some(line) = lines.next() else {
            bail!("signq signer exited before listening")
        };
        if let Some(addr) = line?.strip_prefix("signer listening on ") {
            break addr.to_string();
        }
    };
    let client = SignerClientArgs {
        addr,
        client_cert: "scheduler".into(),
        cert: None,
        key: None,
    }
    .connect(&data)
    .await?;

    let director = SIGNERS[0];
    let bench = SignBench {
        signer_id: director.id.into(),
        pin: director.pin.into(),
        delegation: Vec::new(),
        procedure: "DD-BD".into(),
        batches: args.batches.clone(),
        duration: Duration::from_secs(args.seconds),
        document_bytes: args.document_bytes,
        concurrency: args.concurrency,
        server_pid: Some(guard.0.id()),
    };
    println!(
        "measuring through the signer service for {} s per batch size...",
        args.seconds
    );
    let figures = sign_bench::through_service(client, &bench).await?;
    drop(guard);

    let chain = signq_signer::trust::load(&data.ca_cert(), None)?.roots;
    let keystore = Keystore::open(&data.keystore(), Kek::load(&data.kek())?, chain)?;
    let key = keystore.unlock(director.id, director.pin)?;
    let core =
        sign_bench::signing_core(&key, args.document_bytes, Duration::from_secs(args.seconds))?;
    let openssl = sign_bench::openssl_speed(args.seconds.clamp(1, 10) as u32)?;
    println!();
    sign_bench::report(&figures, core, openssl);
    Ok(())
}
