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

use super::provision::{OPERATOR, PASSPHRASE, Provisioned};
use crate::scenario::Scenario;

/// A child process killed when dropped.
#[derive(Debug)]
pub struct Service {
    child: Child,
    /// The gRPC address it printed.
    pub addr: String,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `signq <args>` and waits for the line `<prefix><address>`.
pub fn start(exe: &Path, data: &Path, args: &[String], prefix: &str) -> anyhow::Result<Service> {
    let mut child = Command::new(exe)
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("RUST_LOG", "error")
        .env("SIGNQ_PKI_PASSPHRASE", PASSPHRASE)
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {} {}", exe.display(), args.join(" ")))?;
    let stdout = child.stdout.take().context("child stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let addr = loop {
        let Some(line) = lines.next() else {
            bail!("signq {} exited before listening", args.join(" "))
        };
        if let Some(a) = line?.strip_prefix(prefix) {
            break a.to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok(Service { child, addr })
}

/// A client TLS identity from the provisioned PKI, or none.
pub fn client_tls(p: &Provisioned, name: Option<&str>) -> anyhow::Result<ClientTls> {
    let ca = p.dir.join("pki").join("ca.crt.pem");
    match name {
        Some(name) => Ok(ClientTls::new(&signq_kit::tls::TlsFiles {
            ca,
            crl: None,
            cert: p
                .dir
                .join("pki")
                .join("issued")
                .join(format!("{name}.crt.pem")),
            key: p
                .dir
                .join("pki")
                .join("issued")
                .join(format!("{name}.key.pem")),
            key_password: zeroize::Zeroizing::new(PASSPHRASE.as_bytes().to_vec()),
        })?),
        None => Ok(ClientTls::with_identity(
            &*signq_kit::tls::Trust::load(ca, None)?,
            None,
        )?),
    }
}

/// A channel to `addr` (loopback only).
pub async fn channel(addr: &str, tls: &ClientTls) -> anyhow::Result<Channel> {
    let host = addr.rsplit_once(':').map(|(h, _)| h).unwrap_or(addr);
    if !(host == "localhost" || host == "[::1]" || host.starts_with("127.")) {
        bail!("{addr}: load is sent to loopback addresses only");
    }
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
    let mut admin = AdminClient::new(channel(addr, &client_tls(p, Some(OPERATOR))?).await?);
    for (ward, template) in scenario.expanded_wards() {
        let name = format!("{} {ward}", template.name);
        admin
            .create_ward(pb::CreateWardRequest {
                ward: Some(pb::Ward { id: ward, name }),
            })
            .await
            .map_err(status)?;
    }
    let catalogue = signq_scheduler::catalogue::procedures();
    for mix in &scenario.procedures {
        let limit = mix
            .time_limit_secs
            .or_else(|| {
                catalogue
                    .iter()
                    .find(|c| c.code == mix.code)
                    .map(|c| c.time_limit.as_secs_f64())
            })
            .unwrap_or(86_400.0);
        let procedure = pb::Procedure {
            code: mix.code.clone(),
            name: catalogue
                .iter()
                .find(|c| c.code == mix.code)
                .map(|c| c.name.clone())
                .unwrap_or_else(|| mix.code.clone()),
            time_limit: Some(prost_types::Duration {
                seconds: limit.max(1.0) as i64,
                nanos: 0,
            }),
        };
        admin
            .put_procedure(pb::PutProcedureRequest {
                procedure: Some(procedure),
            })
            .await
            .map_err(status)?;
    }
    for s in &p.signers {
        admin
            .enroll_signer(pb::EnrollSignerRequest {
                certificate: s.certificate.clone(),
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
