//! A throw-away PKI and configuration for a scenario: one CA, the service certificates, one
//! signing key per simulated signer (all with the same load-test PIN), and each deputy's
//! delegation signed by its ward's director.

use std::path::{Path, PathBuf};

use signq_kit::identity::Role;
use signq_signer::delegation::{DelegationDoc, KIND, signed};
use signq_signer::keystore::{Kek, Keystore};
use signq_signer::pki::{Pki, SignerSpec, Validity, WardInfo};
use time::OffsetDateTime;

use crate::scenario::Scenario;

/// The PIN of every simulated signer (load tests only).
pub const LOAD_PIN: &str = "424242";
/// The PKI passphrase of a load-test data directory.
pub const PASSPHRASE: &str = "signq-load-test";
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

/// What was provisioned.
#[derive(Debug)]
pub struct Provisioned {
    /// The data directory (`signq --data-dir`).
    pub dir: PathBuf,
    /// Every signer.
    pub signers: Vec<SimSigner>,
    /// The procedure codes of the mix (for "*" scopes).
    pub codes: Vec<String>,
}

/// Makes the PKI and keys in `dir` for every ward and signer of `scenario`.
pub fn provision(scenario: &Scenario, dir: &Path) -> anyhow::Result<Provisioned> {
    let pki_dir = dir.join("pki");
    let pass = PASSPHRASE.as_bytes();
    signq_kit::keyfile::write_private(&dir.join("secrets").join("pki-passphrase"), pass)?;
    let root = WardInfo {
        id: "load".into(),
        name: "signq load test".into(),
    };
    let pki = Pki::init(&pki_dir, &root, pass, Validity::days_from_now(30))?;
    pki.issue_server(
        "signer",
        Role::SignerService,
        &[],
        &[],
        Validity::days_from_now(30),
    )?;
    pki.issue_server(
        "scheduler",
        Role::Scheduler,
        &[],
        &[],
        Validity::days_from_now(30),
    )?;
    pki.issue_client(INTAKE, Role::Intake, Validity::days_from_now(30))?;
    pki.issue_client(OPERATOR, Role::Operator, Validity::days_from_now(30))?;
    let kek = Kek::load_or_create(&dir.join("signer").join("kek"))?;
    let keystore = Keystore::open(
        &dir.join("signer").join("keys"),
        kek,
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
        signers,
        codes,
    })
}

impl Provisioned {
    /// Each deputy's delegation for a run tagged `run` (ids are unique per run, so daily caps
    /// kept by the signer service start afresh), signed by its ward's director.
    pub fn delegations(&self, scenario: &Scenario, run: &str) -> anyhow::Result<Vec<Vec<u8>>> {
        let chain =
            signq_signer::trust::load(&self.dir.join("pki").join("ca.crt.pem"), None)?.roots;
        let keystore = Keystore::open(
            &self.dir.join("signer").join("keys"),
            Kek::load(&self.dir.join("signer").join("kek"))?,
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
            };
            let key = keystore.unlock(&director.id, LOAD_PIN)?;
            out.push(signed::sign(&doc, &key, &director.id, now)?);
        }
        Ok(out)
    }
}
