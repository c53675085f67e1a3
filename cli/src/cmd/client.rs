//! Options for commands that call the signer service as a client (the scheduler's role).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use signq_kit::tls::{ClientTls, TlsFiles};
use signq_proto::v1::signer_client::SignerClient;
use tonic::transport::Channel;

use crate::layout::DataDir;

/// Where the signer service is and which certificate to present.
#[derive(Debug, Clone, Args)]
pub struct SignerClientArgs {
    /// The signer service's address.
    #[arg(long, default_value = "localhost:7443")]
    pub addr: String,
    /// The name of the client certificate in the PKI (it must carry the scheduler role).
    #[arg(long, default_value = "scheduler")]
    pub client_cert: String,
    /// A client certificate file instead of the PKI's (then --key is needed too).
    #[arg(long, requires = "key")]
    pub cert: Option<PathBuf>,
    /// The encrypted key of --cert (opened with the key-encryption key of --client-cert).
    #[arg(long, requires = "cert")]
    pub key: Option<PathBuf>,
}

impl SignerClientArgs {
    /// The TLS files these options name.
    pub fn tls_files(&self, data: &DataDir) -> anyhow::Result<TlsFiles> {
        let mut files = data.tls(&self.client_cert, None)?;
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            files.cert = cert.clone();
            files.key = key.clone();
        }
        Ok(files)
    }

    /// A connected client.
    pub async fn connect(&self, data: &DataDir) -> anyhow::Result<SignerClient<Channel>> {
        let tls = ClientTls::new(&self.tls_files(data)?)?;
        let channel = signq_kit::tls::connect(&self.addr, &tls)
            .await
            .with_context(|| format!("connecting to the signer service at {}", self.addr))?;
        Ok(SignerClient::new(channel)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX))
    }
}

/// Where the scheduler is and which certificate to present (intake or operator calls).
#[derive(Debug, Clone, Args)]
pub struct SchedulerClientArgs {
    /// The scheduler's address.
    #[arg(long, default_value = "localhost:8443")]
    pub addr: String,
    /// The name of the client certificate in the PKI (intake role to submit, operator to administer).
    #[arg(long, default_value = "mot-cua")]
    pub client_cert: String,
}

impl SchedulerClientArgs {
    /// A channel presenting the certificate `client_cert`.
    pub async fn channel(&self, data: &DataDir) -> anyhow::Result<Channel> {
        channel_as(&self.addr, data, &self.client_cert).await
    }
}

/// A channel to `addr` presenting the certificate `name` published in the data directory.
pub async fn channel_as(addr: &str, data: &DataDir, name: &str) -> anyhow::Result<Channel> {
    let tls = ClientTls::new(&data.tls(name, None)?)?;
    signq_kit::tls::connect(addr, &tls)
        .await
        .with_context(|| format!("connecting to {addr}"))
}

/// A gRPC status as a command-line error.
pub fn status(s: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", s.code(), s.message())
}

/// The message a reply must carry (a `record`, a `session`...), or an error naming what is missing.
pub fn carried<T>(field: Option<T>, what: &str) -> anyhow::Result<T> {
    field.with_context(|| format!("the reply carries no {what}"))
}
