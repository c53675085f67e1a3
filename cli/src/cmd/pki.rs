//! `signq pki`: the ward CA and the certificates it issues. It runs offline, with the CA
//! passphrase, on the CA directory; what the services need is published into the data directory.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Subcommand;
use signq_kit::identity::{PeerIdentity, Role};
use signq_signer::keys::csc::CscClient;
use signq_signer::keystore::{Keystore, Registration, RemoteKey};
use signq_signer::pki::{
    CertKind, IssuedCert, Pki, RevocationReason, SignerSpec, Validity, WardInfo,
};
use signq_signer::service::remote::ProviderSettings;
use zeroize::Zeroizing;

use crate::layout::{DataDir, PinSource};

/// The signing service's holder name: its certificate's and its key-encryption key's.
pub const SIGNER_SERVICE: &str = "signer";
/// The default name of the timestamp authority's certificate.
pub const TIMESTAMPING: &str = "timestamping";

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
        /// A ward the holder may act for (repeat for several); an intake system acts only for
        /// the wards its certificate names.
        #[arg(long = "ward")]
        wards: Vec<String>,
        /// Validity in days.
        #[arg(long, default_value_t = 825)]
        days: u32,
        /// Also write the certificate and key as a PKCS#12 file with a random password into the
        /// secrets directory (`clients/<name>.p12`), for an HTTP client (Java, .NET, curl).
        #[arg(long)]
        p12: bool,
    },
    /// Issue a signing certificate and key for a director, deputy or clerk, installed in the
    /// signer service's keystore under the person's PIN (from SIGNQ_PIN or --pin-file); with
    /// --token, the key is generated on that PKCS#11 token, never leaves it, and the PIN is the
    /// token's own user PIN; with --remote, the key is a credential at a remote provider. With
    /// --certificate (and --key), or --remote with --provider-certificate, the certificate is
    /// not issued but comes from an outside CA (the government's) listed by `signq pki trust
    /// add`, and this command registers who it belongs to.
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
        /// Generate the key on the PKCS#11 token with this label (a USB token, an HSM slot).
        #[arg(long, requires = "token_module")]
        token: Option<String>,
        /// The token vendor's PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so).
        #[arg(long, requires = "token")]
        token_module: Option<PathBuf>,
        /// The key is at a remote signing provider (CSC API v2), as `NAME=FILE` (the name the
        /// signing service's `--remote-provider` gives it, and its file): the certificate is
        /// issued for the key of `--credential` there; the PIN approves batches, which the
        /// person then confirms in their signing app.
        #[arg(
            long,
            requires = "credential",
            conflicts_with = "token",
            value_name = "NAME=FILE"
        )]
        remote: Option<String>,
        /// The credential's id at the remote provider (`credentialID`).
        #[arg(long, requires = "remote")]
        credential: Option<String>,
        /// Use the certificate the remote provider holds for the credential (issued by an
        /// outside CA) instead of issuing a ward certificate for its key.
        #[arg(long, requires = "remote")]
        provider_certificate: bool,
        /// The person's certificate from an outside CA (PEM; any certificates after the first
        /// are its chain), to register instead of issuing one; its key is --key, or with
        /// --token the key already on the token (as the CA put it there).
        #[arg(long, conflicts_with = "remote")]
        certificate: Option<PathBuf>,
        /// An existing private key (PKCS#8 PEM): sealed into the keystore under the PIN, or with
        /// --token imported onto the token (never to leave it).
        #[arg(long, conflicts_with = "remote")]
        key: Option<PathBuf>,
    },
    /// The outside CAs (the government's) whose certificates signers may sign with.
    #[command(subcommand)]
    Trust(TrustCmd),
    /// Enrol a device (a tablet) for a director or deputy: a client certificate naming the
    /// signer, as a PKCS#12 file for the tablet (in the secrets directory) and as a certificate
    /// and sealed key for `signq inbox|approve|reject`. Signing in needs it.
    Device {
        /// The signer the device is for (issued with `signq pki signer`).
        #[arg(long)]
        signer: String,
        /// The device's name (default: `<signer>/tablet`).
        #[arg(long)]
        name: Option<String>,
        /// Validity in days.
        #[arg(long, default_value_t = 730)]
        days: u32,
    },
    /// Issue the certificate of the signing service's timestamp authority (RFC 3161): every PDF
    /// signature then carries a signature timestamp. Its key is sealed under the signing
    /// service's key-encryption key.
    Timestamping {
        /// The certificate's name (also its file name).
        #[arg(long, default_value = TIMESTAMPING)]
        name: String,
        /// The signing service's certificate name, whose key-encryption key seals the key.
        #[arg(long, default_value = SIGNER_SERVICE)]
        service: String,
        /// Validity in days.
        #[arg(long, default_value_t = 825)]
        days: u32,
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
    /// Copy the CA certificate and the current CRL into the data directory again.
    Publish,
    /// Renew certificates of services and intake systems before they expire (the same name,
    /// role, wards and addresses; a new key), and the CRL before its nextUpdate. The services
    /// take the new files without a restart.
    Renew {
        /// The certificates to renew, by name.
        names: Vec<String>,
        /// Also every service or intake certificate that expires within this many days.
        #[arg(long, value_name = "DAYS")]
        expiring_within: Option<u32>,
        /// Re-sign and publish the CRL (same revocations, a fresh nextUpdate).
        #[arg(long)]
        crl: bool,
        /// Validity of the renewed certificates, in days.
        #[arg(long, default_value_t = 825)]
        days: u32,
    },
}

/// Runs a `pki` subcommand.
pub fn run(cmd: PkiCmd, data: &DataDir) -> anyhow::Result<()> {
    let dir = data.ca_dir();
    match cmd {
        PkiCmd::Init {
            ward_id,
            ward_name,
            days,
        } => {
            let pass = data.passphrase_or_create()?;
            let ward = WardInfo {
                id: ward_id,
                name: ward_name,
            };
            let pki = Pki::init(&dir, &ward, &pass, Validity::days_from_now(days))?;
            data.published().ca_and_crl(&pki)?;
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
            let key = Zeroizing::new(
                std::fs::read_to_string(&ca_key)
                    .with_context(|| format!("reading {}", ca_key.display()))?,
            );
            let key_password = ca_key_password_file
                .map(|p| {
                    std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
                })
                .transpose()?
                .map(|s| Zeroizing::new(s.trim_end_matches(['\n', '\r']).as_bytes().to_vec()));
            let pki = Pki::import(
                &dir,
                &cert,
                &key,
                key_password.as_ref().map(|p| p.as_slice()),
                &pass,
            )?;
            data.published().ca_and_crl(&pki)?;
            println!("CA imported into {}", pki.dir().display());
        }
        PkiCmd::Server {
            name,
            role,
            dns,
            ips,
            days,
        } => {
            let pki = open(data)?;
            let (issued, key) =
                pki.issue_server(&name, role, &dns, &ips, Validity::days_from_now(days))?;
            print_issued(&issued, &publish_identity(&pki, data, &issued, &key)?);
        }
        PkiCmd::Timestamping {
            name,
            service,
            days,
        } => {
            let pki = open(data)?;
            let path = issue_timestamping(&pki, data, &name, &service, days)?;
            println!(
                "timestamp authority certificate {name} -> {}",
                path.display()
            );
        }
        PkiCmd::Client {
            name,
            role,
            wards,
            days,
            p12,
        } => {
            let pki = open(data)?;
            let (issued, key) =
                pki.issue_client(&name, role, &wards, Validity::days_from_now(days))?;
            print_issued(&issued, &publish_identity(&pki, data, &issued, &key)?);
            if p12 {
                let (p12, password_file) = data.client_p12(&name);
                write_p12(&pki, &issued, &key, &p12, &password_file)?;
                println!(
                    "  for an HTTP client: {} (password in {})",
                    p12.display(),
                    password_file.display()
                );
            }
        }
        PkiCmd::Signer {
            id,
            name,
            role,
            ward_id,
            ward_name,
            days,
            pin,
            token,
            token_module,
            remote,
            credential,
            provider_certificate,
            certificate,
            key,
        } => {
            let pin = pin.pin()?;
            signq_signer::pin::check(&pin)?;
            let pki = open(data)?;
            let spec = SignerSpec {
                signer_id: id,
                display_name: name,
                role,
                ward: WardInfo {
                    id: ward_id,
                    name: ward_name,
                },
            };
            let validity = Validity::days_from_now(days);
            let entry = match (token.zip(token_module), remote.zip(credential)) {
                (Some((token, module)), _) => {
                    let on_token = OnToken {
                        module: &module,
                        token: &token,
                        certificate: certificate.as_deref(),
                        key: key.as_deref(),
                    };
                    install_token_signer(&pki, data, &spec, &pin, validity, on_token)?
                }
                (None, Some((remote, credential))) => {
                    let issue = (!provider_certificate).then_some(validity);
                    install_remote_signer(&pki, data, &spec, &pin, issue, &remote, &credential)?
                }
                (None, None) => match (certificate, key) {
                    (Some(certificate), Some(key)) => {
                        install_outside_signer(&pki, data, &spec, &pin, &certificate, &key)?
                    }
                    (None, None) => install_signer(&pki, data, &spec, &pin, validity)?,
                    _ => anyhow::bail!(
                        "--certificate and --key go together (or --certificate with --token, \
                         whose key it is)"
                    ),
                },
            };
            println!(
                "signing key for {} ({}, {}) installed in {}",
                entry.0,
                entry.1,
                role,
                data.keystore().display()
            );
        }
        PkiCmd::Device { signer, name, days } => {
            let pki = open(data)?;
            let name = name.unwrap_or_else(|| format!("{signer}/tablet"));
            let device = enrol_device(&pki, data, &signer, &name, Validity::days_from_now(days))?;
            println!(
                "device {name} enrolled for {signer} (serial {})",
                device.serial
            );
            println!(
                "  for the tablet: {} (password in {})",
                device.p12.display(),
                device.password_file.display()
            );
        }
        PkiCmd::List => {
            let pki = open(data)?;
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
            let pki = open(data)?;
            let entry = pki.revoke(&target, reason)?;
            data.published().ca_and_crl(&pki)?;
            println!(
                "revoked {} (serial {}); CRL updated at {} and published to {}",
                entry.name,
                entry.serial,
                pki.crl_path().display(),
                data.crl().display()
            );
        }
        PkiCmd::Renew {
            mut names,
            expiring_within,
            crl,
            days,
        } => {
            anyhow::ensure!(
                !names.is_empty() || expiring_within.is_some() || crl,
                "name the certificates to renew, or give --expiring-within DAYS or --crl"
            );
            let pki = open(data)?;
            if let Some(within) = expiring_within {
                let by = time::OffsetDateTime::now_utc() + time::Duration::days(within.into());
                for entry in pki.expiring(by)? {
                    if !names.contains(&entry.name) {
                        names.push(entry.name);
                    }
                }
            }
            for name in &names {
                let (issued, key) = pki.renew(name, Validity::days_from_now(days))?;
                print_issued(&issued, &publish_identity(&pki, data, &issued, &key)?);
            }
            if crl {
                pki.refresh_crl()?;
                data.published().ca_and_crl(&pki)?;
                println!("CRL re-signed and published to {}", data.crl().display());
            }
            if names.is_empty() && !crl {
                println!(
                    "nothing expires within {} days",
                    expiring_within.unwrap_or(0)
                );
            }
        }
        PkiCmd::Publish => {
            let pki = open(data)?;
            data.published().ca_and_crl(&pki)?;
            println!(
                "CA certificate and CRL published to {}",
                data.published().dir().display()
            );
        }
        PkiCmd::Trust(TrustCmd::Add { file }) => {
            let added = signq_signer::trust::add_outside(&data.ca_cert(), &file)?;
            for subject in &added {
                println!("trusted for signers: {subject}");
            }
            if added.is_empty() {
                println!("already trusted; nothing added");
            }
        }
        PkiCmd::Trust(TrustCmd::List) => {
            let list = signq_signer::trust::outside_list(&data.ca_cert());
            if list.exists() {
                for cert in signq_kit::tls::material::read_certs(&list)? {
                    println!(
                        "{}",
                        signq_signer::trust::subject(&cert).map_err(anyhow::Error::msg)?
                    );
                }
            }
        }
    }
    Ok(())
}

/// The `pki trust` subcommands.
#[derive(Debug, Subcommand)]
pub enum TrustCmd {
    /// Trust the CA certificates in a PEM file for signers' certificates (not for the services'
    /// TLS): the signing service, the scheduler and `signq verify` accept signatures made with
    /// certificates they issued.
    Add {
        /// The CA certificates, PEM.
        file: PathBuf,
    },
    /// List the outside CAs trusted for signers.
    List,
}

/// Opens the CA directory with the CA passphrase.
fn open(data: &DataDir) -> anyhow::Result<Pki> {
    Ok(Pki::open(&data.ca_dir(), &data.passphrase()?)?)
}

/// Publishes a new certificate with its key sealed under its holder's KEK (made in the secrets
/// directory if the holder has none yet), and the CA certificate and CRL with it. Returns where
/// the certificate went.
fn publish_identity(
    pki: &Pki,
    data: &DataDir,
    issued: &IssuedCert,
    key: &[u8],
) -> anyhow::Result<PathBuf> {
    let kek = data.kek_or_create(&issued.name)?;
    let published = data.published();
    published.ca_and_crl(pki)?;
    Ok(published.identity(issued, key, &kek)?.0)
}

/// Issues the timestamp authority's certificate `name` and publishes it with its key sealed
/// under the key-encryption key of the signing service `service`.
pub fn issue_timestamping(
    pki: &Pki,
    data: &DataDir,
    name: &str,
    service: &str,
    days: u32,
) -> anyhow::Result<PathBuf> {
    let (issued, key) = pki.issue_timestamping(name, Validity::days_from_now(days))?;
    let kek = data.kek_or_create(service)?;
    let published = data.published();
    published.ca_and_crl(pki)?;
    Ok(published.identity(&issued, &key, &kek)?.0)
}

fn print_issued(issued: &IssuedCert, cert: &std::path::Path) {
    println!(
        "issued {} (serial {}) -> {}",
        issued.name,
        issued.serial,
        cert.display()
    );
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
    let entry = signer_keystore(pki, data)?.install(&issued.cert_der, &key, pin)?;
    Ok((entry.signer_id, entry.display_name))
}

/// Where a signer's key on a PKCS#11 token comes from.
pub struct OnToken<'a> {
    /// The token vendor's module.
    pub module: &'a std::path::Path,
    /// The token's label.
    pub token: &'a str,
    /// An outside CA's certificate for a key already on the token (or for `key`).
    pub certificate: Option<&'a std::path::Path>,
    /// A key (PKCS#8 PEM) to import onto the token.
    pub key: Option<&'a std::path::Path>,
}

/// Puts a signer's key on a PKCS#11 token (generated there, imported, or found there by its
/// outside certificate), issues its ward certificate unless it has an outside one, and registers
/// the token's key in the keystore (the token's login checks `pin`).
pub fn install_token_signer(
    pki: &Pki,
    data: &DataDir,
    spec: &SignerSpec,
    pin: &str,
    validity: Validity,
    on: OnToken<'_>,
) -> anyhow::Result<(String, String)> {
    use signq_signer::keys::pkcs11;
    let outside = on
        .certificate
        .map(|path| -> anyhow::Result<_> {
            let certs = signq_kit::tls::material::read_certs(path)?;
            let (leaf, chain) = certs
                .split_first()
                .with_context(|| format!("{}: no PEM certificate", path.display()))?;
            let chain = chain.iter().map(|c| c.to_vec()).collect();
            let registration = outside_registration(data, spec, leaf, chain)?;
            Ok((leaf.to_vec(), registration))
        })
        .transpose()?;
    let (key, spki) = match (on.key, &outside) {
        (Some(key), _) => {
            let pkcs8 = read_pkcs8(key)?;
            pkcs11::import(on.module, on.token, pin, &spec.signer_id, &pkcs8)?
        }
        (None, Some((leaf, _))) => {
            let point = signq_signer::cms::public_point(leaf)?;
            let key = pkcs11::find(on.module, on.token, pin, &point)?;
            (key, Vec::new())
        }
        (None, None) => pkcs11::generate(on.module, on.token, pin, &spec.signer_id)?,
    };
    let keystore = signer_keystore(pki, data)?;
    let entry = match outside {
        Some((leaf, registration)) => {
            keystore.install_token(&leaf, Some(&registration), key, pin)?
        }
        None => {
            let issued = pki.issue_signer_for(spec, validity, &spki)?;
            keystore.install_token(&issued.cert_der, None, key, pin)?
        }
    };
    Ok((entry.signer_id, entry.display_name))
}

/// A PKCS#8 private key from a PEM file, in zeroizing memory.
fn read_pkcs8(path: &std::path::Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    let pem =
        Zeroizing::new(std::fs::read(path).with_context(|| format!("reading {}", path.display()))?);
    let (label, pkcs8) = der::pem::decode_vec(&pem)
        .map_err(|e| anyhow::anyhow!("{}: not a PEM key: {e}", path.display()))?;
    let pkcs8 = Zeroizing::new(pkcs8);
    anyhow::ensure!(
        label == "PRIVATE KEY",
        "{}: a PKCS#8 key (BEGIN PRIVATE KEY) is expected, not {label}",
        path.display()
    );
    Ok(pkcs8)
}

/// Registers a signer whose key is a credential at a remote signing provider with the signer's
/// PIN: with `issue`, under a ward certificate issued for the credential's key; without, under
/// the provider's own certificate (an outside CA's, which must be trusted).
pub fn install_remote_signer(
    pki: &Pki,
    data: &DataDir,
    spec: &SignerSpec,
    pin: &str,
    issue: Option<Validity>,
    remote: &str,
    credential: &str,
) -> anyhow::Result<(String, String)> {
    let (name, file) = remote
        .split_once('=')
        .with_context(|| format!("--remote {remote}: expected NAME=FILE"))?;
    let settings = ProviderSettings::from_file(std::path::Path::new(file))
        .map_err(|e| anyhow::anyhow!("--remote {remote}: {e}"))?;
    let client = CscClient::new(settings.csc)?;
    let info = tokio::task::block_in_place(|| {
        tokio::runtime::Handle::current().block_on(client.credential_info(credential))
    })
    .with_context(|| format!("asking {name} about credential {credential}"))?;
    let (certificate, chain) = info
        .certificates
        .split_first()
        .context("the provider gave no certificate")?;
    let key = RemoteKey {
        provider: name.to_string(),
        credential_id: credential.to_string(),
    };
    let keystore = signer_keystore(pki, data)?;
    let entry = match issue {
        Some(validity) => {
            let spki = signq_signer::pki::subject_public_key_info(certificate)?;
            let issued = pki.issue_signer_for(spec, validity, &spki)?;
            keystore.install_remote(&issued.cert_der, None, key, pin)?
        }
        None => {
            let registration = outside_registration(data, spec, certificate, chain.to_vec())?;
            keystore.install_remote(certificate, Some(&registration), key, pin)?
        }
    };
    Ok((entry.signer_id, entry.display_name))
}

/// Registers a signer whose certificate an outside CA issued, with its key (PKCS#8 PEM) sealed
/// under the PIN.
pub fn install_outside_signer(
    pki: &Pki,
    data: &DataDir,
    spec: &SignerSpec,
    pin: &str,
    certificate: &std::path::Path,
    key: &std::path::Path,
) -> anyhow::Result<(String, String)> {
    let certs = signq_kit::tls::material::read_certs(certificate)?;
    let (leaf, chain) = certs
        .split_first()
        .with_context(|| format!("{}: no PEM certificate", certificate.display()))?;
    let chain: Vec<Vec<u8>> = chain.iter().map(|c| c.to_vec()).collect();
    let registration = outside_registration(data, spec, leaf, chain)?;
    let pkcs8 = read_pkcs8(key)?;
    let entry =
        signer_keystore(pki, data)?.install_registered(leaf, Some(&registration), &pkcs8, pin)?;
    Ok((entry.signer_id, entry.display_name))
}

/// Who the outside certificate `leaf` belongs to, once it is checked: it must be a usable signing
/// certificate of an outside CA `signq pki trust add` listed. Its chain is `chain` as given, or
/// else the listed CA that issued it.
fn outside_registration(
    data: &DataDir,
    spec: &SignerSpec,
    leaf: &[u8],
    chain: Vec<Vec<u8>>,
) -> anyhow::Result<Registration> {
    let trust = signq_signer::trust::load(&data.ca_cert(), None)?;
    signq_signer::cms::check_signing_certificate(&trust, leaf, time::OffsetDateTime::now_utc())
        .map_err(|e| {
            anyhow::anyhow!(
                "the certificate is not a usable signing certificate of a trusted CA ({e}); \
                 list its CA with `signq pki trust add` first"
            )
        })?;
    let chain = if chain.is_empty() {
        signq_signer::cms::issuers_of(leaf, &trust.roots)
    } else {
        chain
    };
    Ok(Registration {
        signer_id: spec.signer_id.clone(),
        display_name: spec.display_name.clone(),
        ward: spec.ward.id.clone(),
        role: spec.role,
        chain,
    })
}

/// The signing service's keystore in `data`.
fn signer_keystore(pki: &Pki, data: &DataDir) -> anyhow::Result<Keystore> {
    Ok(Keystore::open(
        &data.keystore(),
        Arc::new(data.kek_or_create(SIGNER_SERVICE)?),
        vec![pki.ca_cert_der().to_vec()],
    )?)
}

/// What enrolling a device produced.
#[derive(Debug)]
pub struct EnrolledDevice {
    /// The device certificate's serial.
    pub serial: String,
    /// The PKCS#12 file for the tablet.
    pub p12: PathBuf,
    /// The file holding its password.
    pub password_file: PathBuf,
}

/// Enrols a device for `signer`: issues its certificate (naming the signer and their ward, read
/// from the signer's certificate in the CA directory), publishes it with its sealed key, and
/// writes a PKCS#12 file with a random password into the secrets directory.
pub fn enrol_device(
    pki: &Pki,
    data: &DataDir,
    signer: &str,
    name: &str,
    validity: Validity,
) -> anyhow::Result<EnrolledDevice> {
    let issued_here = pki
        .list()?
        .into_iter()
        .rev()
        .find(|e| e.name == signer && e.kind == CertKind::Signer && e.revoked_at.is_none());
    let ward = match issued_here {
        Some(entry) => {
            let pem = std::fs::read(pki.dir().join(&entry.cert_path))?;
            let (_, der) =
                der::pem::decode_vec(&pem).map_err(|e| anyhow::anyhow!("{signer}: {e}"))?;
            PeerIdentity::from_der(&der)?
                .ward()
                .map(str::to_string)
                .with_context(|| format!("the certificate of {signer} names no ward"))?
        }
        // A signer with an outside CA's certificate: the ward is the registration's.
        None => signer_keystore(pki, data)?
            .get(signer)
            .map(|entry| entry.ward)
            .map_err(|_| {
                anyhow::anyhow!(
                    "no valid signing certificate for {signer}: issue or register one with \
                     `signq pki signer`"
                )
            })?,
    };
    let (issued, key) = pki.issue_device(name, signer, &ward, validity)?;
    publish_identity(pki, data, &issued, &key)?;
    let (p12, password_file) = data.device_p12(name);
    write_p12(pki, &issued, &key, &p12, &password_file)?;
    Ok(EnrolledDevice {
        serial: issued.serial,
        p12,
        password_file,
    })
}

/// Writes `issued` and its `key` with the CA certificate as a PKCS#12 file at `p12`, under a
/// random password written to `password_file` (both readable by their owner only).
fn write_p12(
    pki: &Pki,
    issued: &IssuedCert,
    key: &[u8],
    p12: &std::path::Path,
    password_file: &std::path::Path,
) -> anyhow::Result<()> {
    let mut secret = [0u8; 12];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
    let password = Zeroizing::new(hex::encode(secret));
    let bundle = signq_signer::pki::pkcs12(
        &issued.name,
        &issued.cert_der,
        key,
        pki.ca_cert_der(),
        &password,
    )?;
    signq_kit::keyfile::write_private(p12, &bundle)?;
    signq_kit::keyfile::write_private(password_file, password.as_bytes())?;
    Ok(())
}
