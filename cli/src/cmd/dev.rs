//! `signq dev`: a complete single-ward system on one machine with embedded defaults. It makes a
//! dev PKI for a ward like Cát Lái (a director and two deputies with delegations over part of the
//! procedure catalogue), runs the signer service and the scheduler in this process, configures the
//! scheduler (ward, catalogue, signers, delegations), and prints where to connect and the demo
//! credentials. Everything lives in the data directory and is reused on the next run.
//!
//! Also here: `signq signer` and `signq scheduler`, the same services run one at a time.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use signq_kit::identity::Role;
use signq_signer::delegation::{DelegationDoc, KIND, signed};
use std::sync::Arc;

use signq_signer::keystore::Keystore;
use signq_signer::pki::{Pki, SignerSpec, Validity, WardInfo};
use time::OffsetDateTime;

use clap::Args;
use signq_proto::v1 as pb;
use signq_proto::v1::admin_client::AdminClient;

use super::client::{channel_as, status};
use super::pki::{SIGNER_SERVICE, TIMESTAMPING, enrol_device, install_signer, issue_timestamping};
use super::scheduler::SchedulerArgs;
use super::services::Services;
use super::signer::SignerArgs;
use crate::layout::DataDir;

/// One demo signer.
#[derive(Debug, Clone, Copy)]
pub struct DemoSigner {
    /// Signer id.
    pub id: &'static str,
    /// Full name.
    pub name: &'static str,
    /// Director or deputy.
    pub role: Role,
    /// The demo PIN (printed by `signq dev`; never use demo PINs for real keys).
    pub pin: &'static str,
    /// For a deputy: the procedures delegated (see `shared/data/procedures.md` for the catalogue).
    pub procedures: &'static [&'static str],
}

/// The demo ward.
pub const WARD_ID: &str = "cat-lai";
/// The demo ward's name.
pub const WARD_NAME: &str = "Phường Cát Lái";

/// The demo ward's signers: certifications go to one deputy, civil status to the other; business
/// and land records stay with the director.
pub const SIGNERS: [DemoSigner; 3] = [
    DemoSigner {
        id: "cat-lai/director",
        name: "Trần Thị Hồng Nhung",
        role: Role::Director,
        pin: "246810",
        procedures: &[],
    },
    DemoSigner {
        id: "cat-lai/deputy-1",
        name: "Lê Văn Phúc",
        role: Role::Deputy,
        pin: "135790",
        procedures: &["CT-BS", "CT-CK", "CT-HD"],
    },
    DemoSigner {
        id: "cat-lai/deputy-2",
        name: "Phạm Thu Hà",
        role: Role::Deputy,
        pin: "975310",
        procedures: &["HT-KS", "HT-KT", "HT-KH", "HT-XNHN", "HT-TDCC"],
    },
];

/// The demo ward's clerk (văn thư), who applies the ward's seal with its organisation
/// certificate, named for the organisation: a PDF its director or deputy signed goes to the
/// clerk's inbox for the seal (`signq dev --seal clerk`, the default), or is sealed at once with
/// the clerk's key (`--seal automatic`).
pub const CLERK: DemoSigner = DemoSigner {
    id: "cat-lai/clerk",
    name: "Ủy ban nhân dân Phường Cát Lái",
    role: Role::Clerk,
    pin: "864200",
    procedures: &[],
};

/// The demo intake client's certificate (the ward's one-stop desk).
pub const INTAKE_CERT: &str = "mot-cua";
/// The demo operator's certificate.
pub const OPERATOR_CERT: &str = "operator";

/// The signed delegation file of a demo deputy.
pub fn delegation_path(data: &DataDir, deputy: &str) -> PathBuf {
    data.data_dir
        .join("dev")
        .join(format!("{}.delegation.p7s", deputy.replace('/', "_")))
}

/// The demo clerk's PIN, for the signing service to hold the clerk's key for the automatic seal.
fn clerk_pin_path(data: &DataDir) -> PathBuf {
    data.data_dir.join("dev").join("clerk.pin")
}

/// How the demo ward applies its seal (`--seal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Seal {
    /// Not at all: a record is done once a person has signed it.
    Off,
    /// The clerk approves the seals in the tablet app.
    Clerk,
    /// At once, with the clerk's key held by the signing service.
    Automatic,
}

impl Seal {
    fn mode(self) -> pb::SealMode {
        match self {
            Seal::Off => pb::SealMode::Off,
            Seal::Clerk => pb::SealMode::Clerk,
            Seal::Automatic => pb::SealMode::Automatic,
        }
    }
}

/// The device certificate name of a demo signer's tablet.
pub fn device_name(signer: &str) -> String {
    format!("{signer}/tablet")
}

/// Makes the demo PKI, service certificates, signer keys, devices and delegations, unless they
/// exist: the CA directory and the secrets directory beside the data directory, everything the
/// services need published into it.
pub fn provision(data: &DataDir) -> anyhow::Result<()> {
    let done = data.data_dir.join("dev").join("provisioned");
    if done.exists() {
        return Ok(());
    }
    let pass = data.passphrase_or_create()?;
    let ward = WardInfo {
        id: WARD_ID.into(),
        name: WARD_NAME.into(),
    };
    let pki = Pki::init(&data.ca_dir(), &ward, &pass, Validity::days_from_now(3650))?;
    let published = data.published();
    published.ca_and_crl(&pki)?;
    for (name, role) in [
        (SIGNER_SERVICE, Role::SignerService),
        ("scheduler", Role::Scheduler),
    ] {
        let (issued, key) = pki.issue_server(name, role, &[], &[], Validity::days_from_now(825))?;
        published.identity(&issued, &key, &data.kek_or_create(name)?)?;
    }
    issue_timestamping(&pki, data, TIMESTAMPING, SIGNER_SERVICE, 825)?;
    for (name, role, wards) in [
        (INTAKE_CERT, Role::Intake, vec![WARD_ID.to_string()]),
        (OPERATOR_CERT, Role::Operator, Vec::new()),
    ] {
        let (issued, key) = pki.issue_client(name, role, &wards, Validity::days_from_now(825))?;
        published.identity(&issued, &key, &data.kek_or_create(name)?)?;
    }
    for s in SIGNERS.iter().chain([&CLERK]) {
        let spec = SignerSpec {
            signer_id: s.id.into(),
            display_name: s.name.into(),
            role: s.role,
            ward: ward.clone(),
        };
        install_signer(&pki, data, &spec, s.pin, Validity::days_from_now(730))?;
        enrol_device(
            &pki,
            data,
            s.id,
            &device_name(s.id),
            Validity::days_from_now(730),
        )?;
    }
    std::fs::create_dir_all(data.data_dir.join("dev"))?;
    std::fs::write(clerk_pin_path(data), CLERK.pin)?;
    let keystore = Keystore::open(
        &data.keystore(),
        Arc::new(data.kek(SIGNER_SERVICE, None)?),
        vec![pki.ca_cert_der().to_vec()],
    )?;
    let director = SIGNERS[0];
    let key = keystore.unlock(director.id, director.pin)?;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
    for deputy in SIGNERS.iter().filter(|s| s.role == Role::Deputy) {
        let doc = DelegationDoc {
            kind: KIND.into(),
            id: format!("{}/dev", deputy.id),
            ward: WARD_ID.into(),
            director_id: director.id.into(),
            deputy_id: deputy.id.into(),
            procedure_codes: deputy.procedures.iter().map(|p| p.to_string()).collect(),
            not_before: now - time::Duration::minutes(5),
            not_after: now + time::Duration::days(365),
            daily_cap: 200,
            notation: Default::default(),
        };
        let der = signed::sign(&doc, &key, director.id, now)?;
        let path = delegation_path(data, deputy.id);
        std::fs::create_dir_all(path.parent().context("delegation path")?)?;
        std::fs::write(&path, der).with_context(|| format!("writing {}", path.display()))?;
    }
    std::fs::write(&done, b"")?;
    Ok(())
}

/// The metrics address option.
#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// The Prometheus metrics address (plain HTTP; keep it on loopback or a private network).
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub metrics_listen: SocketAddr,
}

/// Options of `signq dev`.
#[derive(Debug, Clone, Args)]
pub struct DevArgs {
    #[command(flatten)]
    pub signer: SignerArgs,
    #[command(flatten)]
    pub scheduler: SchedulerArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    /// How the ward applies its seal to the PDFs its director and deputies sign.
    #[arg(long, value_enum, default_value_t = Seal::Clerk)]
    pub seal: Seal,
}

/// Options of `signq signer`.
#[derive(Debug, Clone, Args)]
pub struct SignerOnly {
    #[command(flatten)]
    pub signer: SignerArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

impl SignerOnly {
    /// Runs the signer service until `shutdown`.
    pub async fn run(
        self,
        data: &DataDir,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let services = Services {
            signer: Some(self.signer),
            scheduler: None,
            metrics: self.metrics.metrics_listen,
        };
        let bound = services.bind().await?;
        services.serve(bound, data, shutdown).await
    }
}

/// Options of `signq scheduler`.
#[derive(Debug, Clone, Args)]
pub struct SchedulerOnly {
    #[command(flatten)]
    pub scheduler: SchedulerArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

impl SchedulerOnly {
    /// Runs the scheduler until `shutdown`.
    pub async fn run(
        self,
        data: &DataDir,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let services = Services {
            signer: None,
            scheduler: Some(self.scheduler),
            metrics: self.metrics.metrics_listen,
        };
        let bound = services.bind().await?;
        services.serve(bound, data, shutdown).await
    }
}

/// Configures the scheduler as the operator: the ward, the catalogue, the signers and the deputies'
/// delegations. Every call is idempotent, so a restart of `signq dev` repeats it harmlessly.
async fn configure(addr: &str, data: &DataDir, seal: Seal) -> anyhow::Result<()> {
    let mut channel = None;
    for _ in 0..100 {
        match channel_as(addr, data, OPERATOR_CERT).await {
            Ok(c) => {
                channel = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    let channel =
        channel.ok_or_else(|| anyhow::anyhow!("the scheduler at {addr} did not come up"))?;
    let mut admin = AdminClient::new(channel);
    admin
        .create_ward(pb::CreateWardRequest {
            ward: Some(pb::Ward {
                id: WARD_ID.into(),
                name: WARD_NAME.into(),
                office_hours: String::new(),
                signature_titles: None,
                seal: seal.mode() as i32,
            }),
        })
        .await
        .map_err(status)?;
    for p in signq_scheduler::catalogue::procedures() {
        let procedure = signq_scheduler::api::convert::procedure(&p);
        admin
            .put_procedure(pb::PutProcedureRequest {
                procedure: Some(procedure),
            })
            .await
            .map_err(status)?;
    }
    for s in SIGNERS.iter().chain([&CLERK]) {
        let pem = std::fs::read(
            data.keystore()
                .join(format!("{}.crt.pem", s.id.replace('/', "_"))),
        )?;
        let (_, der) = der::pem::decode_vec(&pem).map_err(|e| anyhow::anyhow!("{}: {e}", s.id))?;
        admin
            .enroll_signer(pb::EnrollSignerRequest {
                certificate: der,
                registration: None,
            })
            .await
            .map_err(status)?;
    }
    // The clerk's image is the ward's seal, drawn by the signing service over the person's block.
    admin
        .set_signature_image(pb::SetSignatureImageRequest {
            signer_id: CLERK.id.into(),
            png: super::demo_seal::png()?,
        })
        .await
        .map_err(status)?;
    for s in SIGNERS.iter().filter(|s| s.role == Role::Deputy) {
        let signed = std::fs::read(delegation_path(data, s.id))?;
        admin
            .register_delegation(pb::RegisterDelegationRequest {
                signed_delegation: signed,
            })
            .await
            .map_err(status)?;
    }
    Ok(())
}

/// Provisions, starts both services, configures the scheduler, prints how to use the system, and
/// runs until Ctrl-C.
pub async fn run(mut args: DevArgs, data: &DataDir) -> anyhow::Result<()> {
    provision(data)?;
    if args.seal == Seal::Automatic {
        let held = (CLERK.id.to_string(), clerk_pin_path(data));
        args.signer.unattended_seal.push(held);
    }
    let mut services = Services {
        signer: Some(args.signer.clone()),
        scheduler: None,
        metrics: args.metrics.metrics_listen,
    };
    // Bind the signer first so that the scheduler is pointed at its real port.
    services.scheduler = Some(args.scheduler.clone());
    let bound = services.bind().await?;
    let signer_addr = bound
        .signer_addr()
        .ok_or_else(|| anyhow::anyhow!("signer not bound"))?;
    let scheduler_addr = bound
        .scheduler_addr()
        .ok_or_else(|| anyhow::anyhow!("scheduler not bound"))?;
    args.scheduler.signer_addr = format!("localhost:{}", signer_addr.port());
    args.scheduler.signer_max_request_bytes = args.signer.max_request_bytes;
    services.scheduler = Some(args.scheduler.clone());
    let serving = {
        let data = data.clone();
        tokio::spawn(async move {
            services
                .serve(bound, &data, signq_kit::shutdown::signal())
                .await
        })
    };
    let scheduler = format!("localhost:{}", scheduler_addr.port());
    configure(&scheduler, data, args.seal).await?;

    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "signq".into());
    let dir = data.data_dir.display();
    println!("signq dev: ward {WARD_NAME} ({WARD_ID}), data in {dir}");
    println!("scheduler: {scheduler} (Intake, Inbox, Admin over mutual TLS; gRPC-web)");
    println!("signer:    localhost:{}", signer_addr.port());
    println!("ward CA:   {}", data.ca_cert().display());
    println!(
        "secrets:   {} (kept apart from the data)",
        data.secrets_dir().display()
    );
    println!("tablet:    https://{scheduler}/");
    println!(
        "  Signing in needs a device enrolled for the signer. To enrol this browser as a demo"
    );
    println!("  signer's tablet, import its PKCS#12 file (certificate and key) into the browser's");
    println!("  certificate store with the password beside it, and trust the ward CA above:");
    for s in SIGNERS.iter().chain([&CLERK]) {
        let (p12, password) = data.device_p12(&device_name(s.id));
        println!(
            "    {:<18} {}  (password in {})",
            s.id,
            p12.display(),
            password.display()
        );
    }
    println!("signers (demo PINs):");
    for s in SIGNERS.iter().chain([&CLERK]) {
        let scope = if s.role == Role::Clerk {
            let mode = clap::ValueEnum::to_possible_value(&args.seal);
            format!(
                "the ward's seal ({})",
                mode.as_ref().map_or("", |v| v.get_name())
            )
        } else if s.procedures.is_empty() {
            "every procedure".to_string()
        } else {
            s.procedures.join(",")
        };
        println!(
            "  {:<18} {:<22} {:<9} PIN {}  signs {scope}",
            s.id,
            s.name,
            s.role.as_str(),
            s.pin
        );
    }
    let deputy = SIGNERS[1];
    println!("try:");
    println!("  echo 'Ban sao giay khai sinh' > record.txt");
    println!(
        "  {exe} --data-dir {dir} submit --addr {scheduler} --procedure CT-BS --title 'Ban sao khai sinh' record.txt"
    );
    println!(
        "  SIGNQ_PIN={} {exe} --data-dir {dir} inbox --addr {scheduler} --signer {}",
        deputy.pin, deputy.id
    );
    println!(
        "  SIGNQ_PIN={} {exe} --data-dir {dir} approve --addr {scheduler} --signer {} RECORD_ID",
        deputy.pin, deputy.id
    );
    println!("  {exe} --data-dir {dir} get --addr {scheduler} --out-dir out RECORD_ID");
    println!(
        "  openssl cms -verify -binary -inform DER -in out/RECORD_ID.doc.p7s -content out/RECORD_ID.doc -CAfile {} -out /dev/null",
        data.ca_cert().display()
    );
    println!("ready");
    serving.await?
}
