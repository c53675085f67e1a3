//! `signq pki`: the ward CA and the certificates it issues.

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use signq_kit::identity::Role;
use signq_signer::keystore::{Kek, Keystore};
use signq_signer::pki::{Pki, RevocationReason, SignerSpec, Validity, WardInfo};

use crate::layout::{DataDir, PinSource};

/// The `pki` subcommands.
#[derive(Debug, Subcommand)]
pub enum PkiCmd {
    /// Create a new ward CA.
    Init {
        /// The ward's id (e.g. cat-lai).
        #[arg(long)]
        ward_id: String,
        /// The ward's name (e.g. "Phường Cát Lái").
        #[arg(long)]
        ward_name: String,
        /// Validity of the CA certificate in days.
        #[arg(long, default_value_t = 3650)]
        days: u32,
    },
    /// Adopt an existing CA certificate and key (PEM).
    Import {
        /// The CA certificate, PEM.
        #[arg(long)]
        ca_cert: PathBuf,
        /// The CA key, PEM (PKCS#8, plain or encrypted).
        #[arg(long)]
        ca_key: PathBuf,
        /// A file with the password of an encrypted CA key.
        #[arg(long)]
        ca_key_password_file: Option<PathBuf>,
    },
    /// Issue a server certificate (scheduler or signer service); it also serves as a client certificate.
    Server {
        /// The certificate's name (also its file name).
        #[arg(long)]
        name: String,
        /// scheduler or signer-service.
        #[arg(long)]
        role: Role,
        /// Extra DNS names (localhost, 127.0.0.1 and ::1 are always included).
        #[arg(long = "dns")]
        dns: Vec<String>,
        /// Extra IP addresses.
        #[arg(long = "ip")]
        ips: Vec<IpAddr>,
        /// Validity in days.
        #[arg(long, default_value_t = 825)]
        days: u32,
    },
    /// Issue a client certificate for a service (scheduler, intake, operator).
    Client {
        /// The certificate's name (also its file name).
        #[arg(long)]
        name: String,
        /// scheduler, intake or operator.
        #[arg(long)]
        role: Role,
        /// Validity in days.
        #[arg(long, default_value_t = 825)]
        days: u32,
    },
    /// Issue a signing certificate and key for a director or deputy, installed in the signer
    /// service's keystore under the person's PIN (from SIGNQ_PIN or --pin-file).
    Signer {
        /// The signer id (e.g. cat-lai/deputy-1).
        #[arg(long)]
        id: String,
        /// The person's full name.
        #[arg(long)]
        name: String,
        /// director or deputy.
        #[arg(long)]
        role: Role,
        /// The ward's id.
        #[arg(long)]
        ward_id: String,
        /// The ward's name.
        #[arg(long)]
        ward_name: String,
        /// Validity in days.
        #[arg(long, default_value_t = 730)]
        days: u32,
        #[command(flatten)]
        pin: PinSource,
    },
    /// List every certificate issued.
    List,
    /// Revoke a certificate (by serial or name) and publish a new CRL.
    Revoke {
        /// The serial (hex) or name of the certificate.
        target: String,
        /// unspecified, key-compromise, affiliation-changed, superseded or cessation-of-operation.
        #[arg(long, default_value = "unspecified")]
        reason: RevocationReason,
    },
}

/// Runs a `pki` subcommand.
pub fn run(cmd: PkiCmd, data: &DataDir) -> anyhow::Result<()> {
    let dir = data.pki();
    match cmd {
        PkiCmd::Init {
            ward_id,
            ward_name,
            days,
        } => {
            let pass = data.passphrase_or_create()?;
            let pki = Pki::init(
                &dir,
                &WardInfo {
                    id: ward_id,
                    name: ward_name,
                },
                &pass,
                Validity::days_from_now(days),
            )?;
            println!("ward CA created in {}", pki.dir().display());
        }
        PkiCmd::Import {
            ca_cert,
            ca_key,
            ca_key_password_file,
        } => {
            let pass = data.passphrase_or_create()?;
            let cert = std::fs::read_to_string(&ca_cert)
                .with_context(|| format!("reading {}", ca_cert.display()))?;
            let key = zeroize::Zeroizing::new(
                std::fs::read_to_string(&ca_key)
                    .with_context(|| format!("reading {}", ca_key.display()))?,
            );
            let key_password = ca_key_password_file
                .map(|p| {
                    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
                })
                .transpose()?
                .map(|s| {
                    zeroize::Zeroizing::new(s.trim_end_matches(['\n', '\r']).as_bytes().to_vec())
                });
            let pki = Pki::import(
                &dir,
                &cert,
                &key,
                key_password.as_ref().map(|p| p.as_slice()),
                &pass,
            )?;
            println!("CA imported into {}", pki.dir().display());
        }
        PkiCmd::Server {
            name,
            role,
            dns,
            ips,
            days,
        } => {
            let pki = Pki::open(&dir, &data.passphrase()?)?;
            let issued =
                pki.issue_server(&name, role, &dns, &ips, Validity::days_from_now(days))?;
            println!(
                "issued {} (serial {}) -> {}",
                issued.name,
                issued.serial,
                issued.cert_path.display()
            );
        }
        PkiCmd::Client { name, role, days } => {
            let pki = Pki::open(&dir, &data.passphrase()?)?;
            let issued = pki.issue_client(&name, role, Validity::days_from_now(days))?;
            println!(
                "issued {} (serial {}) -> {}",
                issued.name,
                issued.serial,
                issued.cert_path.display()
            );
        }
        PkiCmd::Signer {
            id,
            name,
            role,
            ward_id,
            ward_name,
            days,
            pin,
        } => {
            let pin = pin.pin()?;
            signq_signer::keystore::check_pin(&pin)?;
            let pki = Pki::open(&dir, &data.passphrase()?)?;
            let spec = SignerSpec {
                signer_id: id,
                display_name: name,
                role,
                ward: WardInfo {
                    id: ward_id,
                    name: ward_name,
                },
            };
            let entry = install_signer(&pki, data, &spec, &pin, Validity::days_from_now(days))?;
            println!(
                "signing key for {} ({}, {}) installed in {}",
                entry.0,
                entry.1,
                role,
                data.keystore().display()
            );
        }
        PkiCmd::List => {
            let pki = Pki::open(&dir, &data.passphrase()?)?;
            println!(
                "{:<34} {:<16} {:<15} {:<26} STATUS",
                "SERIAL", "KIND", "ROLE", "NAME"
            );
            for e in pki.list()? {
                let status = match &e.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => format!("valid until {}", e.not_after),
                };
                println!(
                    "{:<34} {:<16} {:<15} {:<26} {}",
                    e.serial, e.kind, e.role, e.name, status
                );
            }
        }
        PkiCmd::Revoke { target, reason } => {
            let pki = Pki::open(&dir, &data.passphrase()?)?;
            let entry = pki.revoke(&target, reason)?;
            println!(
                "revoked {} (serial {}); CRL updated at {}",
                entry.name,
                entry.serial,
                pki.crl_path().display()
            );
        }
    }
    Ok(())
}

/// Issues a signing certificate and installs its key in the keystore under `pin`.
pub fn install_signer(
    pki: &Pki,
    data: &DataDir,
    spec: &SignerSpec,
    pin: &str,
    validity: Validity,
) -> anyhow::Result<(String, String)> {
    let (issued, key) = pki.issue_signer(spec, validity)?;
    let kek = Kek::load_or_create(&data.kek())?;
    let keystore = Keystore::open(&data.keystore(), kek, vec![pki.ca_cert_der().to_vec()])?;
    let entry = keystore.install(&issued.cert_der, &key, pin)?;
    Ok((entry.signer_id, entry.display_name))
}
