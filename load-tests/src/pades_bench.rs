//! What a PAdES signature costs, in process on one thread: a one-page PDF and a 2 MB PDF, each
//! read, given its incremental update, signed and embedded, beside the detached CMS of the same
//! bytes and beside pyHanko signing the same PDFs with a key of the same type (ECDSA P-256), all
//! in one run on one machine. Figures are printed, never asserted.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use lopdf::{Document, Object, Stream, dictionary};
use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
use signq_pades::{Place, Signature};
use signq_signer::cms::CmsSigner;

/// One PDF's figures, signatures per second on one core.
#[derive(Debug, Clone)]
pub struct PadesFigures {
    /// What was signed.
    pub label: String,
    /// Its size, bytes.
    pub bytes: usize,
    /// A detached CMS over the same bytes.
    pub detached: f64,
    /// The PDF signed as PAdES.
    pub pades: f64,
    /// pyHanko signing the same PDF, per CPU second of its process, if it ran.
    pub pyhanko: Option<f64>,
}

/// pyHanko in a loop for `seconds` of its own CPU time: prints signatures per CPU second.
const PYHANKO_LOOP: &str = r#"
import io, sys, time
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
key, cert, pdf, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
signer = signers.SimpleSigner.load(key, cert, key_passphrase=None)
data = open(pdf, "rb").read()
meta = signers.PdfSignatureMetadata(field_name="Signature1", subfilter=SigSeedSubFilter.PADES)
n, start = 0, time.process_time()
while time.process_time() - start < seconds:
    signers.sign_pdf(IncrementalPdfFileWriter(io.BytesIO(data)), meta, signer=signer)
    n += 1
print(n / (time.process_time() - start))
"#;

/// Measures a one-page and a 2 MB PDF for `duration` each way; pyHanko runs with `python` (the
/// virtualenv's interpreter) when given.
pub fn measure(duration: Duration, python: Option<&Path>) -> anyhow::Result<Vec<PadesFigures>> {
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Nguyễn Văn An");
    params.distinguished_name = dn;
    let cert = params.self_signed(&key)?;
    let signer = CmsSigner::new(&key.serialize_der(), cert.der().to_vec(), Vec::new())?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("key.pem"), key.serialize_pem())?;
    std::fs::write(dir.path().join("cert.pem"), cert.pem())?;

    let mut all = Vec::new();
    for (label, filler) in [("one-page PDF", 0), ("2 MB PDF", 2 * 1024 * 1024)] {
        let pdf = sample_pdf(filler)?;
        let path = dir.path().join("sample.pdf");
        std::fs::write(&path, &pdf)?;
        let pyhanko = python
            .map(|python| pyhanko_rate(python, dir.path(), &path, duration))
            .transpose()?;
        all.push(PadesFigures {
            label: label.into(),
            bytes: pdf.len(),
            detached: rate(duration, || {
                signer.sign_detached(&pdf, time::OffsetDateTime::now_utc(), &[])?;
                Ok(())
            })?,
            pades: rate(duration, || {
                sign_pades(&signer, &pdf)?;
                Ok(())
            })?,
            pyhanko,
        });
    }
    Ok(all)
}

/// `pdf` signed as PAdES with a three-line block.
pub fn sign_pades(signer: &CmsSigner, pdf: &[u8]) -> anyhow::Result<Vec<u8>> {
    let prepared = signq_pades::prepare(
        pdf,
        &Signature {
            signing_time: time::OffsetDateTime::now_utc(),
            name: "Nguyễn Văn An".into(),
            reason: None,
            location: None,
            place: Place::default(),
            lines: vec![
                "KT. CHỦ TỊCH".into(),
                "PHÓ CHỦ TỊCH".into(),
                "Nguyễn Văn An".into(),
            ],
            image: None,
        },
    )?;
    let cms = signer.sign_cades_detached(&prepared.signed_parts(), &[])?;
    Ok(prepared.embed(&cms)?)
}

/// Calls of `f` per second over `duration`.
fn rate(duration: Duration, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed() < duration {
        f()?;
        n += 1;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}

fn pyhanko_rate(python: &Path, dir: &Path, pdf: &Path, duration: Duration) -> anyhow::Result<f64> {
    let out = Command::new(python)
        .arg("-c")
        .arg(PYHANKO_LOOP)
        .arg(dir.join("key.pem"))
        .arg(dir.join("cert.pem"))
        .arg(pdf)
        .arg(duration.as_secs_f64().to_string())
        .output()
        .with_context(|| format!("running pyHanko with {}", python.display()))?;
    if !out.status.success() {
        bail!("pyHanko: {}", String::from_utf8_lossy(&out.stderr));
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .context("reading pyHanko's rate")
}

/// A one-page A4 PDF with a line of text and, when `filler` is above zero, an image of that many
/// bytes of noise on the page (as a scan would bring).
pub fn sample_pdf(filler: usize) -> anyhow::Result<Vec<u8>> {
    let mut doc = Document::with_version("1.7");
    let pages = doc.new_object_id();
    let mut resources = dictionary! {
        "Font" => dictionary! {
            "F1" => doc.add_object(dictionary! {
                "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Times-Roman",
            }),
        },
    };
    let mut text = b"BT /F1 12 Tf 72 770 Td (Ban sao trich luc khai sinh) Tj ET".to_vec();
    if filler > 0 {
        let side = ((filler / 3) as f64).sqrt() as i64;
        let mut x: u32 = 0x1234_5678;
        let noise = (0..(side * side * 3))
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect();
        let image = doc.add_object(Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image", "Width" => side, "Height" => side,
                "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8,
            },
            noise,
        ));
        resources.set("XObject", dictionary! { "Im1" => image });
        text.extend_from_slice(b" q 451 0 0 451 72 250 cm /Im1 Do Q");
    }
    let content = doc.add_object(Stream::new(dictionary! {}, text));
    let page = doc.add_object(dictionary! {
        "Type" => "Page", "Parent" => pages, "Contents" => content, "Resources" => resources,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page.into()], "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes)?;
    Ok(bytes)
}

/// Prints the figures as a table.
pub fn report(figures: &[PadesFigures]) {
    println!(
        "{:>14} {:>10} {:>14} {:>11} {:>17} {:>11} {:>17}",
        "PDF",
        "bytes",
        "detached sig/s",
        "PAdES sig/s",
        "PAdES / detached",
        "pyHanko/s",
        "PAdES / pyHanko"
    );
    for f in figures {
        let (py, ratio) = match f.pyhanko {
            Some(p) => (format!("{p:.1}"), format!("{:.0}x", f.pades / p)),
            None => ("-".into(), "-".into()),
        };
        println!(
            "{:>14} {:>10} {:>14.0} {:>11.0} {:>16.2}x {:>11} {:>17}",
            f.label,
            f.bytes,
            f.detached,
            f.pades,
            f.detached / f.pades,
            py,
            ratio
        );
    }
}
