//! `signq dev`: a complete single-ward system on one machine with embedded defaults. It makes a
//! dev PKI for a ward like Cat Lái (a director and two deputies with delegations over part of the
//! procedure catalogue), then runs the signer service and prints where to connect and the demo
//! credentials. Everything lives in the data directory and is reused on the next run.

use std::path::PathBuf;

use anyhow::Context;
use signq_kit::identity::Role;
use signq_signer::delegation::{DelegationDoc, KIND, signed};
use signq_signer::keystore::{Kek, Keystore};
use signq_signer::pki::{Pki, SignerSpec, Validity, WardInfo};
use time::OffsetDateTime;

use super::pki::install_signer;
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

/// The signed delegation file of a demo deputy.
pub fn delegation_path(data: &DataDir, deputy: &str) -> PathBuf {
    data.data_dir
        .join("dev")
        .join(format!("{}.delegation.p7s", deputy.replace('/', "_")))
}

/// Makes the demo PKI, service certificates, signer keys and delegations, unless they exist.
pub fn provision(data: &DataDir) -> anyhow::Result<()> {
    if data.ca_cert().exists() {
        return Ok(());
    }
    let pass = data.passphrase_or_create()?;
    let ward = WardInfo {
        id: WARD_ID.into(),
        name: WARD_NAME.into(),
    };
    let pki = Pki::init(&data.pki(), &ward, &pass, Validity::days_from_now(3650))?;
    pki.issue_server(
        "signer",
        Role::SignerService,
        &[],
        &[],
        Validity::days_from_now(825),
    )?;
    pki.issue_server(
        "scheduler",
        Role::Scheduler,
        &[],
        &[],
        Validity::days_from_now(825),
    )?;
    for s in SIGNERS {
        let spec = SignerSpec {
            signer_id: s.id.into(),
            display_name: s.name.into(),
            role: s.role,
            ward: ward.clone(),
        };
        install_signer(&pki, data, &spec, s.pin, Validity::days_from_now(730))?;
    }
    let keystore = Keystore::open(
        &data.keystore(),
        Kek::load(&data.kek())?,
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
        };
        let der = signed::sign(&doc, &key, director.id, now)?;
        let path = delegation_path(data, deputy.id);
        std::fs::create_dir_all(path.parent().context("delegation path")?)?;
        std::fs::write(&path, der).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Provisions, prints how to use the system, and runs the signer service until Ctrl-C.
pub async fn run(args: SignerArgs, data: &DataDir) -> anyhow::Result<()> {
    provision(data)?;
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "signq".into());
    let dir = data.data_dir.display();
    println!("signq dev: ward {WARD_NAME} ({WARD_ID}), data in {dir}");
    println!("ward CA:   {}", data.ca_cert().display());
    println!("signers (demo PINs):");
    for s in SIGNERS {
        let scope = if s.procedures.is_empty() {
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
        "  SIGNQ_PIN={} {exe} --data-dir {dir} sign --addr localhost:{} --signer {} --procedure CT-BS --delegation {} record.txt",
        deputy.pin,
        args.listen.port(),
        deputy.id,
        delegation_path(data, deputy.id).display()
    );
    println!(
        "  openssl cms -verify -binary -inform DER -in record.txt.p7s -content record.txt -CAfile {} -out /dev/null",
        data.ca_cert().display()
    );
    println!("  {exe} --data-dir {dir} verify --signature record.txt.p7s record.txt");
    super::signer::run(args, data, signq_kit::shutdown::signal()).await
}
