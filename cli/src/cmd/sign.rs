//! `signq sign`: documents in, signatures out, through the signer service: a PDF comes back
//! signed (`DOCUMENT.signed.pdf`), any other document with a detached `DOCUMENT.p7s`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use signq_proto::v1::{Document, SignRequest};

use super::client::SignerClientArgs;
use crate::layout::{DataDir, PinSource};

/// Options of `signq sign`.
#[derive(Debug, Clone, Args)]
pub struct SignArgs {
    #[command(flatten)]
    pub client: SignerClientArgs,
    /// The signer whose key signs (e.g. cat-lai/deputy-1).
    #[arg(long)]
    pub signer: String,
    /// The procedure code of the records (e.g. HT-KS).
    #[arg(long)]
    pub procedure: String,
    /// For a deputy: the signed delegation file (`signq delegation create`).
    #[arg(long)]
    pub delegation: Option<PathBuf>,
    /// A PNG shown in the block of each signed PDF: the signer's own signature, or for a clerk
    /// the ward's seal (which a seal requires).
    #[arg(long)]
    pub image: Option<PathBuf>,
    /// Where to write the signatures (default: beside each document, as DOCUMENT.p7s, or for a
    /// PDF the signed PDF as DOCUMENT.signed.pdf).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    #[command(flatten)]
    pub pin: PinSource,
    /// The documents; each becomes one record of the batch, its file name the record id.
    #[arg(required = true)]
    pub documents: Vec<PathBuf>,
}

/// Signs the documents as one batch and writes one signature or signed PDF per document.
pub async fn run(args: SignArgs, data: &DataDir) -> anyhow::Result<()> {
    let mut documents = Vec::with_capacity(args.documents.len());
    for path in &args.documents {
        let content = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let record_id = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        documents.push(Document {
            record_id,
            procedure_code: args.procedure.clone(),
            content,
            // Outside the queue: no lease, a new signature every time.
            attempt: 0,
            place: None,
        });
    }
    let delegation = match &args.delegation {
        Some(path) => std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        None => Vec::new(),
    };
    let mut client = args.client.connect(data).await?;
    let request = SignRequest {
        signer_id: args.signer.clone(),
        pin: args.pin.pin()?.to_string(),
        delegation,
        documents: documents.clone(),
        titles: None,
        signature_image: match &args.image {
            Some(path) => {
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
            }
            None => Vec::new(),
        },
        confirmation_id: String::new(),
    };
    let response = client
        .sign(request)
        .await
        .map_err(|s| anyhow::anyhow!("{}: {}", s.code(), s.message()))?;
    let signatures = response.into_inner().signatures;
    if signatures.len() != args.documents.len() {
        bail!(
            "the service returned {} signatures for {} documents",
            signatures.len(),
            args.documents.len()
        );
    }
    for ((path, document), signature) in args.documents.iter().zip(documents).zip(signatures) {
        let stem = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (name, bytes) = if signature.pdf_update.is_empty() {
            (format!("{stem}.p7s"), signature.cms)
        } else {
            let name = match stem.strip_suffix(".pdf") {
                Some(base) => format!("{base}.signed.pdf"),
                None => format!("{stem}.signed.pdf"),
            };
            let mut signed = document.content;
            signed.extend_from_slice(&signature.pdf_update);
            (name, signed)
        };
        let out = match &args.out_dir {
            Some(dir) => dir.join(name),
            None => path.with_file_name(name),
        };
        std::fs::write(&out, &bytes).with_context(|| format!("writing {}", out.display()))?;
        println!("{}", out.display());
    }
    Ok(())
}
