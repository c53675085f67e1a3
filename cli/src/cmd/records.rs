//! `signq submit`, `signq get` and `signq reappoint`: what an intake system does, by hand.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use signq_proto::v1::intake_client::IntakeClient;
use signq_proto::v1::{
    GetRecordRequest, Priority, RecordState, RequestReappointmentRequest, SignaturePlace,
    SubmitRequest,
};

use super::client::{SchedulerClientArgs, carried, status};
use crate::layout::DataDir;

/// Options of `signq submit`.
#[derive(Debug, Clone, Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub client: SchedulerClientArgs,
    /// The ward.
    #[arg(long, default_value = "cat-lai")]
    pub ward: String,
    /// The procedure code (e.g. CT-BS).
    #[arg(long)]
    pub procedure: String,
    /// A title for people.
    #[arg(long)]
    pub title: String,
    /// The idempotency key (default: the document's file name and size).
    #[arg(long)]
    pub key: Option<String>,
    /// urgent, high or normal.
    #[arg(long, default_value = "normal")]
    pub priority: String,
    /// For a PDF: the page of the visible signature, from 1 (default: the last).
    #[arg(long)]
    pub page: Option<u32>,
    /// For a PDF: the signature's rectangle on the page, in points from its lower-left corner,
    /// as X,Y,WIDTH,HEIGHT (default: bottom right).
    #[arg(long, value_delimiter = ',', num_args = 4)]
    pub rect: Option<Vec<f32>>,
    /// For a PDF: sign into its empty signature field of this full name (instead of --page and
    /// --rect).
    #[arg(long, conflicts_with_all = ["page", "rect"])]
    pub field: Option<String>,
    /// The document to sign.
    pub document: PathBuf,
}

/// Submits one record and prints its id and state.
pub async fn submit(args: SubmitArgs, data: &DataDir) -> anyhow::Result<()> {
    let document = std::fs::read(&args.document)
        .with_context(|| format!("reading {}", args.document.display()))?;
    let key = args.key.clone().unwrap_or_else(|| {
        format!(
            "{}:{}",
            args.document
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            document.len()
        )
    });
    let priority = match args.priority.as_str() {
        "urgent" => Priority::Urgent,
        "high" => Priority::High,
        "normal" => Priority::Normal,
        other => anyhow::bail!("--priority {other:?}: use urgent, high or normal"),
    };
    let mut client = IntakeClient::new(args.client.channel(data).await?);
    let record = client
        .submit(SubmitRequest {
            ward: args.ward,
            procedure_code: args.procedure,
            title: args.title,
            document,
            deadline: None,
            priority: priority as i32,
            idempotency_key: key,
            signature_place: place(args.page, args.rect.as_deref(), args.field),
        })
        .await
        .map_err(status)?
        .into_inner();
    let record = carried(record.record, "record")?;
    let state = RecordState::try_from(record.state)
        .map(|s| s.as_str_name())
        .unwrap_or("?");
    println!(
        "{} {state} deadline {}",
        record.id,
        record.deadline.map(|d| d.seconds).unwrap_or_default()
    );
    Ok(())
}

/// The signature place the flags ask for, if any.
fn place(page: Option<u32>, rect: Option<&[f32]>, field: Option<String>) -> Option<SignaturePlace> {
    if page.is_none() && rect.is_none() && field.is_none() {
        return None;
    }
    let [x, y, width, height] = rect.and_then(|r| r.try_into().ok()).unwrap_or([0.0; 4]);
    Some(SignaturePlace {
        page: page.unwrap_or(0),
        x,
        y,
        width,
        height,
        field: field.unwrap_or_default(),
    })
}

/// Options of `signq get`.
#[derive(Debug, Clone, Args)]
pub struct GetArgs {
    #[command(flatten)]
    pub client: SchedulerClientArgs,
    /// Write the document to DIR/ID.doc and, once signed, the signature to DIR/ID.doc.p7s and,
    /// for a PDF, the signed PDF to DIR/ID.pdf.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// The record id.
    pub id: String,
}

/// Prints a record and writes its document and signature.
pub async fn get(args: GetArgs, data: &DataDir) -> anyhow::Result<()> {
    let mut client = IntakeClient::new(args.client.channel(data).await?);
    let r = client
        .get_record(GetRecordRequest {
            id: args.id.clone(),
            include_document: args.out_dir.is_some(),
        })
        .await
        .map_err(status)?
        .into_inner();
    let r = carried(r.record, "record")?;
    let state = RecordState::try_from(r.state)
        .map(|s| s.as_str_name())
        .unwrap_or("?");
    // Times in Vietnam's time, as the ward reads them.
    let local = |seconds: Option<i64>| {
        seconds
            .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
            .and_then(|t| {
                t.to_offset(signq_calendar::VIETNAM)
                    .format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| "-".into())
    };
    let stage = signq_proto::v1::RecordStage::try_from(r.stage)
        .map(|s| s.as_str_name())
        .unwrap_or("?");
    println!(
        "{} {} {} {state} {stage} signer={} delegation={} clerk={} received={} deadline={}",
        r.id,
        r.procedure_code,
        r.title,
        r.signer_id,
        r.delegation_id,
        r.clerk_id,
        local(r.submitted_at.map(|t| t.seconds)),
        local(r.deadline.map(|t| t.seconds))
    );
    if let Some(dir) = args.out_dir {
        std::fs::create_dir_all(&dir)?;
        let doc = dir.join(format!("{}.doc", r.id));
        std::fs::write(&doc, &r.document)?;
        println!("{}", doc.display());
        if !r.signature.is_empty() {
            let sig = dir.join(format!("{}.doc.p7s", r.id));
            std::fs::write(&sig, &r.signature)?;
            println!("{}", sig.display());
        }
        if !r.signed_document.is_empty() {
            let pdf = dir.join(format!("{}.pdf", r.id));
            std::fs::write(&pdf, &r.signed_document)?;
            println!("{}", pdf.display());
        }
    }
    Ok(())
}

/// Options of `signq reappoint`.
#[derive(Debug, Clone, Args)]
pub struct ReappointArgs {
    #[command(flatten)]
    pub client: SchedulerClientArgs,
    /// Why the record will be late, as the apology will say it.
    #[arg(long)]
    pub reason: String,
    /// The new appointment, RFC 3339 (e.g. 2026-12-04T17:00:00+07:00).
    #[arg(long)]
    pub new_deadline: String,
    /// The record id.
    pub id: String,
}

/// Asks for a new appointment date for a record that will be late (once per record).
pub async fn reappoint(args: ReappointArgs, data: &DataDir) -> anyhow::Result<()> {
    let new_deadline = time::OffsetDateTime::parse(
        &args.new_deadline,
        &time::format_description::well_known::Rfc3339,
    )
    .with_context(|| {
        format!(
            "--new-deadline {:?}: not an RFC 3339 time",
            args.new_deadline
        )
    })?;
    let mut client = IntakeClient::new(args.client.channel(data).await?);
    let asked = client
        .request_reappointment(RequestReappointmentRequest {
            id: args.id.clone(),
            reason: args.reason,
            new_deadline: Some(prost_types::Timestamp {
                seconds: new_deadline.unix_timestamp(),
                nanos: 0,
            }),
        })
        .await
        .map_err(status)?
        .into_inner();
    let asked = carried(asked.reappointment, "reappointment")?;
    println!(
        "{} reappointment pending (asked by {})",
        asked.record_id, asked.requested_by
    );
    Ok(())
}
