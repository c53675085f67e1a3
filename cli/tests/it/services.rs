//! The signing service and the scheduler as two separate `signq` processes over one data
//! directory, provisioned as `signq dev` provisions it: what the fault-injection suite
//! (`faults.rs`) kills, stops, starts again and damages underneath.
//!
//! Each service keeps its loopback port across restarts, so that the scheduler finds the signing
//! service again and clients find the scheduler again. A service counts as started once it
//! answers `grpc.health.v1.Health/Check` (whatever the status), since both print their
//! `listening on` line when they bind, before their stores are open. Every wait is bounded.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use signq_kit::tls::ClientTls;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use super::fixture::{Ward, signq};

/// How long a service may take to answer after it was started.
pub const START_LIMIT: Duration = Duration::from_secs(60);

/// How a start ended.
#[derive(Debug)]
pub enum Started {
    /// It answers Health/Check on its port.
    Ready,
    /// It exited before it answered.
    Exited {
        /// Its exit status.
        status: ExitStatus,
        /// What it printed (standard output and standard error).
        output: String,
    },
    /// It neither answered nor exited within [`START_LIMIT`] (it is still running).
    Unresponsive {
        /// What it printed so far.
        output: String,
    },
}

/// One running child process, its output collected as it comes.
struct Proc {
    child: Child,
    /// Its command line, to name it in a failing test's output.
    args: String,
    output: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// Lines of a process's output a failing test prints (its last ones).
const TAIL_ON_FAILURE: usize = 200;

impl Proc {
    /// Starts `signq <args>` with `env` added to its environment, and returns it with the
    /// channel of its standard output's lines.
    fn spawn(args: &[String], env: &[(String, String)]) -> (Proc, mpsc::Receiver<String>) {
        let mut child = signq()
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn signq");
        let output = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let out = output.clone();
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let Ok(mut o) = out.lock() {
                    o.push_str(&line);
                    o.push('\n');
                }
                let _ = tx.send(line);
            }
        });
        let out = output.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut stderr = stderr;
            let mut buf = [0u8; 4096];
            loop {
                match stderr.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if let Ok(mut o) = out.lock() {
                            o.push_str(&String::from_utf8_lossy(&buf[..n]));
                        }
                    }
                }
            }
        });
        (
            Proc {
                child,
                args: args.join(" "),
                output,
                readers: vec![stdout_reader, stderr_reader],
            },
            rx,
        )
    }

    fn output(&self) -> String {
        self.output.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Whether it has exited, and how; then everything it printed has been read.
    fn exited(&mut self) -> Option<ExitStatus> {
        let status = self.child.try_wait().expect("try_wait")?;
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        Some(status)
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn signal(&self, signal: &str) {
        let status = send_signal(signal, self.child.id());
        assert!(status.success(), "kill -{signal} {}", self.child.id());
    }
}

fn send_signal(signal: &str, pid: u32) -> ExitStatus {
    std::process::Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .expect("kill")
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test shows what its services said: on CI that is all there is to read.
        if std::thread::panicking() {
            let output = self.output();
            let lines: Vec<&str> = output.lines().collect();
            let tail = &lines[lines.len().saturating_sub(TAIL_ON_FAILURE)..];
            eprintln!(
                "--- signq {} (pid {}), its last {} lines:\n{}",
                self.args,
                self.child.id(),
                tail.len(),
                tail.join("\n")
            );
        }
    }
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

fn owned_pairs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Which service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Signer,
    Scheduler,
    /// Scheduler replica `n` on a shared store.
    Replica(usize),
}

/// One scheduler replica: its process while it runs, and its port (kept across restarts).
#[derive(Default)]
struct Replica {
    proc: Option<Proc>,
    port: u16,
}

/// The two services of one ward, each its own process.
pub struct Services {
    /// The ward's directories (data, CA, secrets); its `addr` and `scheduler` name the two
    /// services' current addresses, so that the fixture's clients reach them.
    pub ward: Ward,
    /// The scheduler's database.
    pub database: PathBuf,
    signer_args: Vec<String>,
    scheduler_args: Vec<String>,
    signer_port: u16,
    scheduler_port: u16,
    signer: Option<Proc>,
    scheduler: Option<Proc>,
    /// Scheduler replicas on a shared (PostgreSQL) store, by number.
    replicas: std::collections::HashMap<usize, Replica>,
    /// TLS to the signing service's health (as the scheduler) and to the scheduler's (as intake).
    signer_health: ClientTls,
    scheduler_health: ClientTls,
}

impl Services {
    /// Provisions a ward as `signq dev` does (its PKI, signers, devices, delegations, and the
    /// scheduler configured with the ward, the catalogue, the signers and the delegations), with
    /// the scheduler's database at `database` if given, then stops `signq dev`. The services are
    /// started later, each with its extra options.
    pub fn provision(
        database: Option<&Path>,
        signer_args: &[&str],
        scheduler_args: &[&str],
    ) -> Services {
        let mut dev_args = Vec::new();
        if let Some(db) = database {
            dev_args.extend(["--database", db.to_str().expect("utf-8 path")]);
        }
        let mut ward = Ward::start(&dev_args);
        ward.kill();
        let database = database
            .map(Path::to_path_buf)
            .unwrap_or_else(|| ward.path("scheduler/signq.db"));
        let signer_health =
            ClientTls::new(&ward.tls_files("scheduler")).expect("the scheduler's TLS");
        let scheduler_health =
            ClientTls::new(&ward.tls_files("mot-cua")).expect("the intake client's TLS");
        Services {
            ward,
            database,
            signer_args: signer_args.iter().map(|s| s.to_string()).collect(),
            scheduler_args: scheduler_args.iter().map(|s| s.to_string()).collect(),
            signer_port: 0,
            scheduler_port: 0,
            signer: None,
            scheduler: None,
            replicas: Default::default(),
            signer_health,
            scheduler_health,
        }
    }

    /// Starts the signing service (on its port of the first start) and waits until it answers.
    pub async fn start_signer(&mut self) -> Started {
        self.start_signer_with(&[]).await
    }

    /// As [`Services::start_signer`], with `env` added to its environment.
    pub async fn start_signer_with(&mut self, env: &[(&str, &str)]) -> Started {
        assert!(self.signer.is_none(), "the signing service is running");
        let data = self.ward.data();
        let mut args = vec![
            "--data-dir".to_string(),
            data.display().to_string(),
            "signer".into(),
            "--listen".into(),
            format!("127.0.0.1:{}", self.signer_port),
            "--metrics-listen".into(),
            "127.0.0.1:0".into(),
        ];
        args.extend(self.signer_args.iter().cloned());
        self.start(Which::Signer, args, &owned_pairs(env)).await
    }

    /// Starts the scheduler (on its port of the first start), pointed at the signing service's
    /// port, and waits until it answers or exits.
    pub async fn start_scheduler(&mut self) -> Started {
        self.start_scheduler_with(&[], &[]).await
    }

    /// As [`Services::start_scheduler`], with the options `extra` and `env` added to its
    /// environment.
    pub async fn start_scheduler_with(&mut self, extra: &[&str], env: &[(&str, &str)]) -> Started {
        assert!(self.scheduler.is_none(), "the scheduler is running");
        assert!(self.signer_port != 0, "start the signing service first");
        let args = self.scheduler_command(self.scheduler_port, extra);
        self.start(Which::Scheduler, args, &owned_pairs(env)).await
    }

    /// Starts the signing service as `signq <args>` exactly (with `env` added), and waits until
    /// it answers or exits.
    pub async fn start_signer_as(&mut self, args: &[&str], env: &[(&str, &str)]) -> Started {
        self.start(Which::Signer, owned(args), &owned_pairs(env))
            .await
    }

    /// Starts the scheduler as `signq <args>` exactly (with `env` added), and waits until it
    /// answers or exits.
    pub async fn start_scheduler_as(&mut self, args: &[&str], env: &[(&str, &str)]) -> Started {
        self.start(Which::Scheduler, owned(args), &owned_pairs(env))
            .await
    }

    /// `signq scheduler` on `port` over the ward's store, pointed at the signing service, with
    /// the options given at provisioning and `extra`.
    fn scheduler_command(&self, port: u16, extra: &[&str]) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_string(),
            self.ward.data().display().to_string(),
            "scheduler".into(),
            "--scheduler-listen".into(),
            format!("127.0.0.1:{port}"),
            "--metrics-listen".into(),
            "127.0.0.1:0".into(),
            "--signer-addr".into(),
            format!("localhost:{}", self.signer_port),
            "--store".into(),
            self.database.display().to_string(),
        ];
        args.extend(self.scheduler_args.iter().cloned());
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// Starts scheduler replica `n` on the shared store (on its port of its first start), as
    /// `replica-<n>`, with `extra` options, and waits until it answers or exits.
    pub async fn start_replica(&mut self, n: usize, extra: &[&str]) -> Started {
        let replica = self.replicas.entry(n).or_default();
        assert!(replica.proc.is_none(), "replica {n} is running");
        let port = replica.port;
        assert!(self.signer_port != 0, "start the signing service first");
        let id = format!("replica-{n}");
        let args = self.scheduler_command(port, &[&["--replica-id", &id], extra].concat());
        self.start(Which::Replica(n), args, &[]).await
    }

    /// The address of replica `n` (once started).
    pub fn replica_addr(&self, n: usize) -> String {
        format!("localhost:{}", self.replicas[&n].port)
    }

    /// The metrics page of replica `n`, as it printed it.
    pub fn replica_metrics(&self, n: usize) -> String {
        let output = self.replicas[&n]
            .proc
            .as_ref()
            .expect("replica running")
            .output();
        output
            .lines()
            .find_map(|l| l.strip_prefix("metrics on "))
            .expect("the metrics address")
            .to_string()
    }

    /// SIGKILL of replica `n`.
    pub fn kill_replica(&mut self, n: usize) {
        if let Some(p) = self.replicas.get_mut(&n).and_then(|r| r.proc.take()) {
            tokio::task::block_in_place(|| p.kill());
        }
    }

    /// Sends `signal` (`STOP`, `CONT`) to replica `n`.
    pub fn signal_replica(&self, n: usize, signal: &str) {
        self.replicas[&n]
            .proc
            .as_ref()
            .expect("replica running")
            .signal(signal);
    }

    async fn start(
        &mut self,
        which: Which,
        args: Vec<String>,
        env: &[(String, String)],
    ) -> Started {
        let prefix = match which {
            Which::Signer => "signer listening on ",
            Which::Scheduler | Which::Replica(_) => "scheduler listening on ",
        };
        // The port of a killed process is free again at once; another process may take it in
        // the meantime, rarely: try again a few times.
        for attempt in 0.. {
            let (mut proc, lines) = tokio::task::block_in_place(|| Proc::spawn(&args, env));
            let deadline = Instant::now() + START_LIMIT;
            let mut addr = None;
            while addr.is_none() && Instant::now() < deadline {
                match tokio::task::block_in_place(|| lines.recv_timeout(Duration::from_millis(200)))
                {
                    Ok(line) => addr = line.strip_prefix(prefix).map(str::to_string),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                }
            }
            // Keep draining standard output so that the child never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            let Some(addr) = addr else {
                let status =
                    tokio::task::block_in_place(|| wait_exit(&mut proc, Duration::from_secs(10)));
                let output = proc.output();
                match status {
                    Some(status) => {
                        if output.contains("in use") && attempt < 20 {
                            tokio::time::sleep(Duration::from_millis(250)).await;
                            continue;
                        }
                        return Started::Exited { status, output };
                    }
                    None => {
                        self.put(which, proc);
                        return Started::Unresponsive { output };
                    }
                }
            };
            let port = addr
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse().ok())
                .expect("a port");
            let tls = match which {
                Which::Signer => {
                    self.signer_port = port;
                    self.ward.addr = addr.clone();
                    self.signer_health.clone()
                }
                Which::Scheduler => {
                    self.scheduler_port = port;
                    self.ward.scheduler = addr.clone();
                    self.scheduler_health.clone()
                }
                Which::Replica(n) => {
                    self.replicas.entry(n).or_default().port = port;
                    self.scheduler_health.clone()
                }
            };
            loop {
                if let Some(status) = proc.exited() {
                    return Started::Exited {
                        status,
                        output: proc.output(),
                    };
                }
                if answers(&addr, &tls).await {
                    self.put(which, proc);
                    return Started::Ready;
                }
                if Instant::now() > deadline {
                    let output = proc.output();
                    self.put(which, proc);
                    return Started::Unresponsive { output };
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        unreachable!("the loop returns")
    }

    fn put(&mut self, which: Which, proc: Proc) {
        match which {
            Which::Signer => self.signer = Some(proc),
            Which::Scheduler => self.scheduler = Some(proc),
            Which::Replica(n) => self.replicas.entry(n).or_default().proc = Some(proc),
        }
    }

    /// What the signing service and the scheduler have printed so far.
    pub fn outputs(&self) -> (String, String) {
        let of = |p: &Option<Proc>| p.as_ref().map(Proc::output).unwrap_or_default();
        (of(&self.signer), of(&self.scheduler))
    }

    /// SIGKILL of the signing service.
    pub fn kill_signer(&mut self) {
        if let Some(p) = self.signer.take() {
            tokio::task::block_in_place(|| p.kill());
        }
    }

    /// SIGKILL of the scheduler.
    pub fn kill_scheduler(&mut self) {
        if let Some(p) = self.scheduler.take() {
            tokio::task::block_in_place(|| p.kill());
        }
    }

    /// SIGSTOP of the signing service: it keeps its connections and answers nothing.
    pub fn stop_signer(&self) {
        self.signer.as_ref().expect("signer running").signal("STOP");
    }

    /// SIGCONT of the signing service.
    pub fn continue_signer(&self) {
        self.signer.as_ref().expect("signer running").signal("CONT");
    }

    /// Whether the scheduler process is running (it may have exited by itself), and if it
    /// exited, how, with what it printed.
    pub fn scheduler_exited(&mut self) -> Option<(ExitStatus, String)> {
        let proc = self.scheduler.as_mut()?;
        let status = proc.exited()?;
        let output = proc.output();
        self.scheduler = None;
        Some((status, output))
    }
}

/// Waits up to `limit` for `proc` to exit.
fn wait_exit(proc: &mut Proc, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = proc.exited() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Whether Health/Check at `addr` answers at all (serving or not) within a few seconds.
pub async fn answers(addr: &str, tls: &ClientTls) -> bool {
    let check = async {
        let channel = signq_kit::tls::connect(addr, tls).await.ok()?;
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .ok()
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(5), check).await,
        Ok(Some(_))
    )
}

/// A small tmpfs mounted for the test's lifetime (root only), unmounted when dropped.
pub struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `mib` MiB, or says why it cannot.
    pub fn mount(mib: u64) -> Result<Tmpfs, String> {
        let uid = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|l| l.split_whitespace().nth(1).map(str::to_string))
            });
        match uid.as_deref() {
            Some("0") => {}
            Some(uid) => return Err(format!("not running as root (effective uid {uid})")),
            None => return Err("cannot tell the effective uid (/proc/self/status)".into()),
        }
        let dir = tempfile::tempdir().map_err(|e| format!("tempdir: {e}"))?;
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={mib}m,mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let unmounted = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if !unmounted {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}
