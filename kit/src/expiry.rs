//! Certificates and CRLs that do not expire by surprise: a task reads, every few seconds, the
//! certificates and CRLs a service depends on and exports the time each has left (in seconds,
//! Prometheus's base unit), so that an alert fires weeks before a handshake would fail. Files are read again each time, so a renewal
//! (`signq pki renew`) shows at once; a file that cannot be read is logged and its series
//! removed, never left at its last value.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use metrics::{Unit, describe_gauge, gauge};
use time::OffsetDateTime;

/// Seconds until a certificate expires, per certificate (`certificate`: its name; `kind`:
/// service, ca, signer or timestamping).
pub const CERTIFICATE_EXPIRY: &str = "signq_certificate_expiry_seconds";
/// Seconds until the CRL's nextUpdate, after which peers refuse it.
pub const CRL_EXPIRY: &str = "signq_crl_expiry_seconds";

/// How often the files are read.
const EVERY: Duration = Duration::from_secs(10);

/// What a service depends on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Watched {
    /// A certificate (the first in a PEM file), shown as `name` of `kind`.
    Certificate {
        /// Its name in the metric.
        name: String,
        /// What it is: service, ca, signer, timestamping.
        kind: &'static str,
        /// The PEM file.
        path: PathBuf,
    },
    /// Every `*.crt.pem` in a directory (a keystore), each named by its file.
    CertificatesIn {
        /// What they are.
        kind: &'static str,
        /// The directory.
        dir: PathBuf,
    },
    /// A CRL (PEM).
    Crl(PathBuf),
}

/// Starts the task that exports the time left of `watched` (duplicates counted once). It runs
/// for the life of the process.
pub fn spawn(mut watched: Vec<Watched>) {
    describe_gauge!(
        CERTIFICATE_EXPIRY,
        Unit::Seconds,
        "Seconds until the certificate expires (negative: expired)."
    );
    describe_gauge!(
        CRL_EXPIRY,
        Unit::Seconds,
        "Seconds until the CRL's nextUpdate (negative: peers refuse it)."
    );
    watched.sort();
    watched.dedup();
    tokio::spawn(async move {
        let mut shown: BTreeSet<(String, &'static str)> = BTreeSet::new();
        loop {
            let now = OffsetDateTime::now_utc();
            let mut seen = BTreeSet::new();
            for item in &watched {
                match item {
                    Watched::Certificate { name, kind, path } => {
                        if let Some(days) = read(path, now, certificate_not_after) {
                            gauge!(CERTIFICATE_EXPIRY, "certificate" => name.clone(), "kind" => *kind).set(days);
                            seen.insert((name.clone(), *kind));
                        }
                    }
                    Watched::CertificatesIn { kind, dir } => {
                        for (name, path) in certificates_in(dir) {
                            if let Some(days) = read(&path, now, certificate_not_after) {
                                gauge!(CERTIFICATE_EXPIRY, "certificate" => name.clone(), "kind" => *kind).set(days);
                                seen.insert((name, *kind));
                            }
                        }
                    }
                    Watched::Crl(path) => match read(path, now, crl_next_update) {
                        Some(days) => gauge!(CRL_EXPIRY).set(days),
                        None => gauge!(CRL_EXPIRY).set(f64::NAN),
                    },
                }
            }
            // Gone or unreadable: no stale figure stays.
            for (name, kind) in shown.difference(&seen) {
                gauge!(CERTIFICATE_EXPIRY, "certificate" => name.clone(), "kind" => *kind)
                    .set(f64::NAN);
            }
            shown = seen;
            tokio::time::sleep(EVERY).await;
        }
    });
}

/// The seconds from `now` to the time `when` reads from the file at `path`, or `None` (logged).
fn read(
    path: &Path,
    now: OffsetDateTime,
    when: fn(&[u8]) -> Result<OffsetDateTime, String>,
) -> Option<f64> {
    let outcome = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|bytes| when(&bytes));
    match outcome {
        Ok(at) => Some((at - now).as_seconds_f64()),
        Err(e) => {
            tracing::warn!(file = %path.display(), error = %e, "cannot tell when it expires");
            None
        }
    }
}

/// The notAfter of the first certificate in a PEM file.
pub fn certificate_not_after(pem: &[u8]) -> Result<OffsetDateTime, String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| e.to_string())?;
    let cert = pem.parse_x509().map_err(|e| e.to_string())?;
    Ok(cert.validity().not_after.to_datetime())
}

/// The nextUpdate of a PEM CRL.
pub fn crl_next_update(pem: &[u8]) -> Result<OffsetDateTime, String> {
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).map_err(|e| e.to_string())?;
    let (_, crl) = x509_parser::parse_x509_crl(&pem.contents).map_err(|e| e.to_string())?;
    crl.next_update()
        .map(|t| t.to_datetime())
        .ok_or_else(|| "the CRL has no nextUpdate".to_string())
}

/// The `*.crt.pem` files of a directory, named by their file (`cat-lai_deputy-1`).
fn certificates_in(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(".crt.pem")?
                .to_string();
            Some((name, path))
        })
        .collect();
    found.sort();
    found
}
