//! Starting the real services as child processes on loopback ports (`signq signer`,
//! `signq scheduler`), and configuring the scheduler for a scenario through its Admin API.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};
use signq_kit::tls::ClientTls;
use signq_proto::v1 as pb;
use signq_proto::v1::admin_client::AdminClient;
use tonic::transport::Channel;

use super::provision::{OPERATOR, Provisioned};
use crate::scenario::Scenario;

/// A child process killed when dropped, with the lines it printed until it was ready.
#[derive(Debug)]
pub struct Service {
    child: Child,
    /// Its standard output up to and including the ready line.
    pub printed: Vec<String>,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Service {
    /// The process id (for its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What follows `prefix` in the first printed line that starts with it (an address).
    pub fn after(&self, prefix: &str) -> Option<&str> {
        self.printed
            .iter()
            .find_map(|line| line.strip_prefix(prefix))
    }
}

/// Starts `signq <args>` with `env` and reads its output until a line starts with `ready`; the
/// rest of its output is drained so that it never blocks on a full pipe.
pub fn spawn(
    exe: &Path,
    args: &[String],
    env: &[(&str, &str)],
    ready: &str,
) -> anyhow::Result<Service> {
    let mut child = Command::new(exe)
        .args(args)
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {} {}", exe.display(), args.join(" ")))?;
    let stdout = child.stdout.take().context("child stdout")?;
    let mut service = Service {
        child,
        printed: Vec::new(),
    };
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let Some(line) = lines.next() else {
            bail!("signq {} exited before it was ready", args.join(" "))
        };
        let line = line?;
        let done = line.starts_with(ready);
        service.printed.push(line);
        if done {
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    Ok(service)
}

/// Starts a service of the provisioned installation and returns it with the address it printed
/// after `prefix`.
pub fn start(
    exe: &Path,
    p: &Provisioned,
    args: &[String],
    prefix: &str,
) -> anyhow::Result<(Service, String)> {
    let (mut all, env) = p.child_args();
    all.extend(args.iter().cloned());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let service = spawn(exe, &all, &env, prefix)?;
    let addr = service.after(prefix).unwrap_or_default().to_string();
    Ok((service, addr))
}

/// Refuses any address but loopback: load is never sent elsewhere.
pub fn loopback(addr: &str) -> anyhow::Result<()> {
    let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
    if host == "localhost" || host == "[::1]" || host.starts_with("127.") {
        Ok(())
    } else {
        bail!("{addr}: load is sent to loopback addresses only")
    }
}

/// A client TLS identity (a client or device certificate) from the provisioned PKI.
pub fn client_tls(p: &Provisioned, name: &str) -> anyhow::Result<ClientTls> {
    Ok(ClientTls::new(&p.tls_files(name)?)?)
}

/// A channel to `addr` (loopback only).
pub async fn channel(addr: &str, tls: &ClientTls) -> anyhow::Result<Channel> {
    loopback(addr)?;
    Ok(signq_kit::tls::connect(addr, tls).await?)
}

/// Configures the scheduler at `addr`: wards, the mix's procedures, every signer, the delegations.
pub async fn configure(
    addr: &str,
    p: &Provisioned,
    scenario: &Scenario,
    delegations: Vec<Vec<u8>>,
) -> anyhow::Result<()> {
    let status = |s: tonic::Status| anyhow::anyhow!("{:?}: {}", s.code(), s.message());
    let mut admin = AdminClient::new(channel(addr, &client_tls(p, OPERATOR)?).await?);
    for (ward, template) in scenario.expanded_wards() {
        let name = format!("{} {ward}", template.name);
        admin
            .create_ward(pb::CreateWardRequest {
                ward: Some(pb::Ward {
                    id: ward,
                    name,
                    office_hours: String::new(),
                    signature_titles: None,
                    seal: pb::SealMode::Off as i32,
                }),
            })
            .await
            .map_err(status)?;
    }
    let catalogue = signq_scheduler::catalogue::procedures();
    // Every record is submitted with its scenario deadline (see `runner`); the rule is what the
    // ward's screens show.
    for mix in &scenario.procedures {
        let procedure = catalogue
            .iter()
            .find(|c| c.code == mix.code)
            .cloned()
            .unwrap_or_else(|| signq_scheduler::model::Procedure {
                code: mix.code.clone(),
                name: mix.code.clone(),
                rule: signq_calendar::Rule::working_days_15h(1),
            });
        admin
            .put_procedure(pb::PutProcedureRequest {
                procedure: Some(signq_scheduler::api::convert::procedure(&procedure)),
            })
            .await
            .map_err(status)?;
    }
    for s in &p.signers {
        admin
            .enroll_signer(pb::EnrollSignerRequest {
                certificate: s.certificate.clone(),
                registration: None,
            })
            .await
            .map_err(status)?;
    }
    for d in delegations {
        admin
            .register_delegation(pb::RegisterDelegationRequest {
                signed_delegation: d,
            })
            .await
            .map_err(status)?;
    }
    Ok(())
}
