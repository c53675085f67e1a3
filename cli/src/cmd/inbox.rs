//! `signq inbox`, `signq approve`, `signq reject`: what a signer does on the tablet, by hand.
//! Each connects with a device enrolled for the signer (`signq pki device`) and opens a session
//! with the signer's PIN (SIGNQ_PIN or --pin-file).

use clap::Args;
use signq_proto::v1::inbox_client::InboxClient;
use signq_proto::v1::{
    ApproveRequest, OpenSessionRequest, PullNextRequest, RecordStage, RecordState, RejectRequest,
};
use tonic::Request;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::client::{carried, channel_as, status};
use crate::layout::{DataDir, PinSource};

/// Who signs in, and where.
#[derive(Debug, Clone, Args)]
pub struct SignerSession {
    /// The scheduler's address.
    #[arg(long, default_value = "localhost:8443")]
    pub addr: String,
    /// The signer id (e.g. cat-lai/deputy-1).
    #[arg(long)]
    pub signer: String,
    /// The device enrolled for the signer (default: `<signer>/tablet`, as `signq pki device`
    /// names it).
    #[arg(long)]
    pub device: Option<String>,
    #[command(flatten)]
    pub pin: PinSource,
}

type Authed = InboxClient<InterceptedService<Channel, Bearer>>;

/// Adds the session's bearer token to every call.
#[derive(Debug, Clone)]
pub struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}

impl SignerSession {
    async fn open(&self, data: &DataDir) -> anyhow::Result<(Authed, String)> {
        let device = self
            .device
            .clone()
            .unwrap_or_else(|| format!("{}/tablet", self.signer));
        let channel = channel_as(&self.addr, data, &device).await?;
        let pin = self.pin.pin()?.to_string();
        let session = InboxClient::new(channel.clone())
            .open_session(OpenSessionRequest {
                signer_id: self.signer.clone(),
                pin: pin.clone(),
            })
            .await
            .map_err(status)?
            .into_inner();
        let session = carried(session.session, "session")?;
        let value = format!("Bearer {}", session.token)
            .parse()
            .map_err(|_| anyhow::anyhow!("unusable session token"))?;
        Ok((InboxClient::with_interceptor(channel, Bearer(value)), pin))
    }
}

/// Options of `signq inbox`.
#[derive(Debug, Clone, Args)]
pub struct InboxArgs {
    #[command(flatten)]
    pub session: SignerSession,
}

/// Pulls work and lists the signer's leased records, earliest deadline first.
pub async fn inbox(args: InboxArgs, data: &DataDir) -> anyhow::Result<()> {
    let (mut client, _) = args.session.open(data).await?;
    let records = client
        .pull_next(PullNextRequest { max: 0 })
        .await
        .map_err(status)?
        .into_inner()
        .records;
    let mut stream = client
        .stream_inbox(signq_proto::v1::StreamInboxRequest {})
        .await
        .map_err(status)?
        .into_inner();
    let snapshot = match stream
        .message()
        .await
        .map_err(status)?
        .and_then(|e| e.event)
    {
        Some(signq_proto::v1::stream_inbox_response::Event::Snapshot(s)) => s.records,
        _ => records,
    };
    if snapshot.is_empty() {
        println!("inbox of {} is empty", args.session.signer);
    }
    for r in snapshot {
        let state = RecordState::try_from(r.state)
            .map(|s| s.as_str_name())
            .unwrap_or("?");
        println!(
            "{} {:<8} {} deadline {} {state}",
            r.id,
            r.procedure_code,
            r.title,
            r.deadline.map(|d| d.seconds).unwrap_or_default()
        );
    }
    Ok(())
}

/// Options of `signq approve`.
#[derive(Debug, Clone, Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub session: SignerSession,
    /// The records to sign.
    #[arg(required = true)]
    pub records: Vec<String>,
}

/// Signs the records in one batch.
pub async fn approve(args: ApproveArgs, data: &DataDir) -> anyhow::Result<()> {
    let (mut client, pin) = args.session.open(data).await?;
    let signed = client
        .approve(ApproveRequest {
            record_ids: args.records,
            pin,
        })
        .await
        .map_err(status)?
        .into_inner()
        .records;
    for r in signed {
        let under = if r.delegation_id.is_empty() {
            String::new()
        } else {
            format!(" under {}", r.delegation_id)
        };
        let seal = match (r.stage(), r.state()) {
            (RecordStage::Seal, RecordState::Signed) => format!(", sealed by {}", r.clerk_id),
            (RecordStage::Seal, _) => ", waiting for the ward's seal".to_string(),
            _ => String::new(),
        };
        println!("{} signed by {}{under}{seal}", r.id, r.signer_id);
    }
    Ok(())
}

/// Options of `signq reject`.
#[derive(Debug, Clone, Args)]
pub struct RejectArgs {
    #[command(flatten)]
    pub session: SignerSession,
    /// Why.
    #[arg(long)]
    pub reason: String,
    /// The record.
    pub record: String,
}

/// Rejects one record.
pub async fn reject(args: RejectArgs, data: &DataDir) -> anyhow::Result<()> {
    let (mut client, _) = args.session.open(data).await?;
    let r = client
        .reject(RejectRequest {
            record_id: args.record,
            reason: args.reason,
        })
        .await
        .map_err(status)?
        .into_inner();
    let r = carried(r.record, "record")?;
    println!("{} rejected: {}", r.id, r.reason);
    Ok(())
}
