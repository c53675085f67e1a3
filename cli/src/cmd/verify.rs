//! `signq verify`: checks a detached signature against its document and the ward CA (chain,
//! revocation, message digest, signing time inside the certificate's validity) and says who
//! signed, when, in which role, and under which delegation; or, for a PDF without a detached
//! signature, every signature inside it (PAdES): each byte range checked against the file, its
//! timestamp, and the capacity its block states held against the signer's certificate and
//! delegation. A signing time in the future (beyond a few minutes of clock skew) is warned
//! about: the signing machine's clock ran fast, and the time a record was signed at is part of
//! what the signature proves.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use signq_kit::identity::{PeerIdentity, Role};
use signq_signer::capacity::capacity_agrees;
use signq_signer::delegation::SignedDelegation;
use signq_signer::delegation::attributes::read_claims;
use signq_signer::delegation::signed::rfc3339;

use crate::layout::DataDir;

/// Clock skew between machines tolerated before a signing time counts as in the future.
const FUTURE_TOLERANCE: time::Duration = time::Duration::minutes(5);

/// Options of `signq verify`.
#[derive(Debug, Clone, Args)]
pub struct VerifyArgs {
    /// The detached signature (DER CMS, `.p7s`); without it, the document must be a PDF and the
    /// signatures inside it are verified.
    #[arg(long)]
    pub signature: Option<PathBuf>,
    /// The ward CA certificate (default: the data directory's).
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// The ward CRL (default: the data directory's, if present).
    #[arg(long)]
    pub crl: Option<PathBuf>,
    /// The signed delegation the signature claims, to verify it too.
    #[arg(long)]
    pub delegation: Option<PathBuf>,
    /// The signed document.
    pub document: PathBuf,
}

/// Verifies and prints the verdict; an invalid signature is an error (non-zero exit).
pub fn run(args: VerifyArgs, data: &DataDir) -> anyhow::Result<()> {
    let ca = args.ca.clone().unwrap_or_else(|| data.ca_cert());
    let crl = args
        .crl
        .clone()
        .or_else(|| Some(data.crl()).filter(|p| p.exists()));
    let trust = signq_signer::trust::load(&ca, crl.as_deref())?;
    let document = std::fs::read(&args.document)
        .with_context(|| format!("reading {}", args.document.display()))?;
    let Some(signature) = &args.signature else {
        return verify_pdf(&document, &trust);
    };
    let cms =
        std::fs::read(signature).with_context(|| format!("reading {}", signature.display()))?;
    let verified = signq_signer::cms::verify(&cms, Some(&document), &trust)
        .map_err(|e| anyhow::anyhow!("signature INVALID: {e}"))?;
    println!("signature OK");
    let signer = describe(&verified)?;
    let claims = read_claims(&verified.extra)?;
    if let Some(description) = &claims.description {
        println!("record:     {description}");
    }
    match (&claims.delegation_id, &claims.delegated_by) {
        (Some(id), by) => println!(
            "delegation: {id}, granted by {}",
            by.as_deref().unwrap_or("?")
        ),
        (None, _) => println!("delegation: none (signed under the signer's own authority)"),
    }
    if let Some(path) = &args.delegation {
        let der = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let delegation = SignedDelegation::verify(&der, &trust)
            .map_err(|e| anyhow::anyhow!("delegation INVALID: {e}"))?;
        let doc = &delegation.doc;
        if claims.delegation_id.as_deref() != Some(doc.id.as_str()) {
            bail!("the signature does not claim delegation {}", doc.id);
        }
        if signer.signer_id.as_deref() != Some(doc.deputy_id.as_str()) {
            bail!(
                "delegation {} is granted to {}, not to the signer",
                doc.id,
                doc.deputy_id
            );
        }
        if verified.signing_time < doc.not_before || verified.signing_time >= doc.not_after {
            bail!(
                "signed outside the delegation's validity ({} to {})",
                rfc3339(doc.not_before),
                rfc3339(doc.not_after)
            );
        }
        println!(
            "delegation verified: {} -> {}, procedures {}, valid {} to {}",
            delegation.director.common_name,
            doc.deputy_id,
            doc.procedure_codes.join(","),
            rfc3339(doc.not_before),
            rfc3339(doc.not_after)
        );
    }
    Ok(())
}

/// Verifies every signature inside `pdf`: an error if there is none or one is invalid.
fn verify_pdf(pdf: &[u8], trust: &signq_signer::cms::TrustStore) -> anyhow::Result<()> {
    if !signq_pades::is_pdf(pdf) {
        bail!("the document is not a PDF: give its detached signature with --signature");
    }
    let found = signq_pades::signatures(pdf)?;
    if found.is_empty() {
        bail!("the PDF carries no signature");
    }
    let mut invalid = 0;
    let mut person_before = false;
    for f in &found {
        let verdict = f
            .signature
            .as_ref()
            .map_err(|e| anyhow::anyhow!("{e}"))
            .and_then(|sig| {
                let claimed = sig.claimed.ok_or_else(|| {
                    anyhow::anyhow!("its /M signing time is missing or unreadable")
                })?;
                let verified = signq_signer::cms::verify_pades(
                    &sig.cms,
                    &sig.signed_parts(pdf),
                    claimed,
                    trust,
                )?;
                let claims = read_claims(&verified.extra)?;
                let signer = PeerIdentity::from_der(&verified.signer_cert)
                    .map_err(|e| anyhow::anyhow!("signer certificate: {e}"))?;
                if let Some(capacity) = &sig.reason {
                    capacity_agrees(&signer, capacity, claims.delegation_id.is_some())
                        .map_err(anyhow::Error::msg)?;
                }
                // The ward's seal comes only after a person's valid signature (Art. 32.2).
                let role = (
                    signer.has_role(Role::Clerk),
                    signer.has_role(Role::Director) || signer.has_role(Role::Deputy),
                );
                match role {
                    (true, _) if !person_before => {
                        bail!("the ward's seal comes with no valid signature of a person before it")
                    }
                    (_, true) => person_before = true,
                    _ => {}
                }
                Ok((sig, verified, claims))
            });
        match verdict {
            Ok((sig, verified, claims)) => {
                println!("{}: signature OK ({})", f.field, sig.sub_filter);
                describe(&verified)?;
                if let Some(capacity) = &sig.reason {
                    println!("capacity:   {capacity}");
                }
                if let Some(id) = &claims.delegation_id {
                    println!(
                        "delegation: {id}, granted by {}",
                        claims.delegated_by.as_deref().unwrap_or("?")
                    );
                }
                match sig.bytes_after(pdf) {
                    0 => println!("covers:     the whole file"),
                    n => {
                        println!("covers:     the file up to it; {n} bytes of later updates follow")
                    }
                }
            }
            Err(e) => {
                invalid += 1;
                println!("{}: signature INVALID: {e}", f.field);
            }
        }
    }
    if invalid > 0 {
        bail!("{invalid} of {} signature(s) INVALID", found.len());
    }
    Ok(())
}

/// Prints who signed and when (warning of a signing time ahead of this machine's clock).
fn describe(verified: &signq_signer::cms::Verified) -> anyhow::Result<PeerIdentity> {
    let signer = PeerIdentity::from_der(&verified.signer_cert)
        .map_err(|e| anyhow::anyhow!("signer certificate: {e}"))?;
    let role = signer
        .roles
        .iter()
        .find(|r| r.is_signer())
        .map(|r| r.as_str())
        .unwrap_or("unknown role");
    println!("signed by:  {} ({role})", signer.common_name);
    println!("signer id:  {}", signer.signer_id.as_deref().unwrap_or("-"));
    println!("ward:       {}", signer.ward().unwrap_or("-"));
    println!("signed at:  {}", rfc3339(verified.signing_time));
    let ahead = verified.signing_time - time::OffsetDateTime::now_utc();
    if ahead > FUTURE_TOLERANCE {
        eprintln!(
            "warning: the signing time is {} ahead of this machine's clock (more than the {} \
             minutes of skew tolerated): the signing service's clock was probably fast",
            humanize(ahead),
            FUTURE_TOLERANCE.whole_minutes()
        );
    }
    println!("serial:     {}", signer.serial);
    if let Some(stamp) = &verified.timestamp {
        let authority = PeerIdentity::from_der(&stamp.authority)
            .map(|a| a.common_name)
            .unwrap_or_else(|_| "an unreadable certificate".into());
        println!(
            "timestamp:  {} by {authority} (token {})",
            rfc3339(stamp.time),
            stamp.serial
        );
    }
    Ok(signer)
}

/// A duration as people read it: the largest whole unit.
fn humanize(d: time::Duration) -> String {
    match (d.whole_days(), d.whole_hours(), d.whole_minutes()) {
        (days, _, _) if days > 0 => format!("{days} day(s)"),
        (_, hours, _) if hours > 0 => format!("{hours} hour(s)"),
        (_, _, minutes) => format!("{minutes} minute(s)"),
    }
}
