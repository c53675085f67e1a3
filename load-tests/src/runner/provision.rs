//! A throw-away PKI and configuration for a scenario: one CA, the service certificates, one
//! signing key and one device per simulated signer (all with the same load-test PIN), and each
//! deputy's delegation signed by its ward's director.
//!
//! Laid out as a real installation is: the data directory, the CA directory and the secrets
//! kept apart. Every holder shares one key-encryption key made for the run, which the services
//! receive in `SIGNQ_KEK`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::RngCore;
use signq_kit::identity::Role;
use signq_kit::secrets::{KEK_ENV, Kek};
use signq_kit::tls::TlsFiles;
use signq_signer::delegation::{DelegationDoc, KIND, signed};
use signq_signer::keystore::Keystore;
use signq_signer::pki::{Pki, Published, SignerSpec, Validity, WardInfo};
use time::OffsetDateTime;

use crate::scenario::Scenario;

/// The PIN of every simulated signer (load tests only).
pub const LOAD_PIN: &str = "424242";
/// The CA passphrase of a load-test PKI.
const PASSPHRASE: &str = "signq-load-test";
/// The intake client certificate.
pub const INTAKE: &str = "load-intake";
/// The operator certificate.
pub const OPERATOR: &str = "load-operator";

/// One simulated signer.
#[derive(Debug, Clone)]
pub struct SimSigner {
    /// `<ward>/<id>`.
    pub id: String,
    /// The ward.
    pub ward: String,
    /// Director or deputy.
    pub role: Role,
    /// Index of the template in the ward template's signer list.
    pub template: usize,
    /// Index of the ward template.
    pub ward_template: usize,
    /// The signing certificate, DER.
    pub certificate: Vec<u8>,
}

/// The device certificate name of a simulated signer.
pub fn device_name(signer: &str) -> String {
    format!("{signer}/tablet")
}

/// What was provisioned.
#[derive(Debug)]
pub struct Provisioned {
    /// The folder holding the data, CA and secrets directories.
    pub dir: PathBuf,
    /// The run's key-encryption key, hex (the services get it in `SIGNQ_KEK`).
    kek_hex: String,
    /// Every signer.
    pub signers: Vec<SimSigner>,
    /// The procedure codes of the mix (for "*" scopes).
    pub codes: Vec<String>,
}

/// Makes the PKI and keys in `dir` for every ward and signer of `scenario`.
pub fn provision(scenario: &Scenario, dir: &Path) -> anyhow::Result<Provisioned> {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let kek_hex = hex::encode(secret);
    let kek = Arc::new(Kek::from_bytes(secret));
    let root = WardInfo {
        id: "load".into(),
        name: "signq load test".into(),
    };
    let pki = Pki::init(
        &dir.join("ca"),
        &root,
        PASSPHRASE.as_bytes(),
        Validity::days_from_now(30),
    )?;
    let published = Published::new(dir.join("data").join("pki"));
    published.ca_and_crl(&pki)?;
    for (name, role) in [
        ("signer", Role::SignerService),
        ("scheduler", Role::Scheduler),
    ] {
        let (issued, key) = pki.issue_server(name, role, &[], &[], Validity::days_from_now(30))?;
        published.identity(&issued, &key, &kek)?;
    }
    let all_wards: Vec<String> = scenario
        .expanded_wards()
        .into_iter()
        .map(|(w, _)| w)
        .collect();
    for (name, role, wards) in [
        (INTAKE, Role::Intake, all_wards),
        (OPERATOR, Role::Operator, Vec::new()),
    ] {
        let (issued, key) = pki.issue_client(name, role, &wards, Validity::days_from_now(30))?;
        published.identity(&issued, &key, &kek)?;
    }
    let keystore = Keystore::open(
        &dir.join("data").join("signer").join("keys"),
        kek.clone(),
        vec![pki.ca_cert_der().to_vec()],
    )?;
    let mut signers = Vec::new();
    for (ward_id, template) in scenario.expanded_wards() {
        let ward_template = scenario
            .wards
            .iter()
            .position(|w| std::ptr::eq(w, template))
            .unwrap_or(0);
        let ward = WardInfo {
            id: ward_id.clone(),
            name: format!("{} {ward_id}", template.name),
        };
        for (i, s) in template.signers.iter().enumerate() {
            let role = if s.role == "director" {
                Role::Director
            } else {
                Role::Deputy
            };
            let spec = SignerSpec {
                signer_id: format!("{ward_id}/{}", s.id),
                display_name: format!("{} {}", s.id, ward_id),
                role,
                ward: ward.clone(),
            };
            let (issued, key) = pki.issue_signer(&spec, Validity::days_from_now(30))?;
            keystore.install(&issued.cert_der, &key, LOAD_PIN)?;
            let device = device_name(&spec.signer_id);
            let (issued_device, device_key) = pki.issue_device(
                &device,
                &spec.signer_id,
                &ward.id,
                Validity::days_from_now(30),
            )?;
            published.identity(&issued_device, &device_key, &kek)?;
            signers.push(SimSigner {
                id: spec.signer_id,
                ward: ward_id.clone(),
                role,
                template: i,
                ward_template,
                certificate: issued.cert_der,
            });
        }
    }
    let codes = scenario.procedures.iter().map(|p| p.code.clone()).collect();
    Ok(Provisioned {
        dir: dir.to_path_buf(),
        kek_hex,
        signers,
        codes,
    })
}

impl Provisioned {
    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// What the services were given of the PKI.
    pub fn published(&self) -> Published {
        Published::new(self.data().join("pki"))
    }

    /// The options and environment that point a `signq` child process at this installation.
    pub fn child_args(&self) -> (Vec<String>, Vec<(&'static str, String)>) {
        let path = |p: PathBuf| p.display().to_string();
        let args = vec![
            "--data-dir".into(),
            path(self.data()),
            "--ca-dir".into(),
            path(self.dir.join("ca")),
            "--secrets-dir".into(),
            path(self.dir.join("secrets")),
        ];
        (args, vec![(KEK_ENV, self.kek_hex.clone())])
    }

    /// The TLS files of the holder `name` (a client or device certificate).
    pub fn tls_files(&self, name: &str) -> anyhow::Result<TlsFiles> {
        let kek = Kek::from_hex(&self.kek_hex, "the load test's key-encryption key")?;
        let published = self.published();
        Ok(TlsFiles {
            ca: published.ca_cert(),
            crl: None,
            cert: published.cert(name),
            key: published.key(name),
            key_password: kek.tls_key_password(name),
        })
    }

    /// Each deputy's delegation for a run tagged `run` (ids are unique per run, so daily caps
    /// kept by the signer service start afresh), signed by its ward's director.
    pub fn delegations(&self, scenario: &Scenario, run: &str) -> anyhow::Result<Vec<Vec<u8>>> {
        let chain = signq_signer::trust::load(&self.published().ca_cert(), None)?.roots;
        let kek = Kek::from_hex(&self.kek_hex, "the load test's key-encryption key")?;
        let keystore = Keystore::open(
            &self.data().join("signer").join("keys"),
            Arc::new(kek),
            chain,
        )?;
        let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
        let mut out = Vec::new();
        for deputy in self.signers.iter().filter(|s| s.role == Role::Deputy) {
            let Some(director) = self
                .signers
                .iter()
                .find(|s| s.ward == deputy.ward && s.role == Role::Director)
            else {
                continue;
            };
            let template = &scenario.wards[deputy.ward_template].signers[deputy.template];
            let procedures = if template.procedures.iter().any(|p| p == "*") {
                self.codes.clone()
            } else {
                template.procedures.clone()
            };
            let doc = DelegationDoc {
                kind: KIND.into(),
                id: format!("{}/{run}", deputy.id),
                ward: deputy.ward.clone(),
                director_id: director.id.clone(),
                deputy_id: deputy.id.clone(),
                procedure_codes: procedures,
                not_before: now - time::Duration::minutes(5),
                not_after: now + time::Duration::days(7),
                daily_cap: template.daily_cap,
                notation: Default::default(),
            };
            let key = keystore.unlock(&director.id, LOAD_PIN)?;
            out.push(signed::sign(&doc, &key, &director.id, now)?);
        }
        Ok(out)
    }
}
