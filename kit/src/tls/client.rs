//! A tonic channel over mutual TLS: the client presents its certificate and checks the server's
//! against the ward CA and its CRL.

use std::sync::Arc;

use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint, Uri};

use super::material::{TlsError, TlsFiles};
use super::trust::Trust;

/// The client side of mutual TLS, reusable for many channels.
#[derive(Debug, Clone)]
pub struct ClientTls {
    config: Arc<ClientConfig>,
}

impl ClientTls {
    /// A client identity from `files`; the server must chain to `files.ca` and not be revoked.
    pub fn new(files: &TlsFiles) -> Result<Self, TlsError> {
        let trust = Trust::load(files.ca.clone(), files.crl.clone())?;
        let identity = super::identity::Identity::load(files)?;
        let mut config = ClientConfig::builder_with_provider(super::provider())
            .with_safe_default_protocol_versions()?
            .with_webpki_verifier(trust.server_verifier())
            .with_client_cert_resolver(identity);
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(ClientTls {
            config: Arc::new(config),
        })
    }

    /// The same identity and trust for an HTTP client that chooses its own ALPN protocols
    /// (hyper-rustls), such as an intake system calling Intake as JSON over HTTP/1.1.
    pub fn http_config(&self) -> ClientConfig {
        let mut config = (*self.config).clone();
        config.alpn_protocols.clear();
        config
    }

    /// A client with an explicit identity, or none (tests of refusals use this).
    pub fn with_identity(
        trust: &Trust,
        identity: Option<(
            Vec<rustls_pki_types::CertificateDer<'static>>,
            rustls_pki_types::PrivateKeyDer<'static>,
        )>,
    ) -> Result<Self, TlsError> {
        let builder = ClientConfig::builder_with_provider(super::provider())
            .with_safe_default_protocol_versions()?
            .with_webpki_verifier(trust.server_verifier());
        let mut config = match identity {
            Some((certs, key)) => builder.with_client_auth_cert(certs, key)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(ClientTls {
            config: Arc::new(config),
        })
    }
}

/// Connects a channel to `addr` (`host:port`, `https://host:port` or `http://host:port`); the host
/// is the name checked in the server's certificate.
pub async fn connect(addr: &str, tls: &ClientTls) -> Result<Channel, tonic::transport::Error> {
    endpoint(addr)?.connect_with_connector(connector(tls)).await
}

/// Like [`connect`], but connects on first use, so a service can start before its peer.
pub fn connect_lazy(addr: &str, tls: &ClientTls) -> Result<Channel, tonic::transport::Error> {
    Ok(endpoint(addr)?.connect_with_connector_lazy(connector(tls)))
}

fn endpoint(addr: &str) -> Result<Endpoint, tonic::transport::Error> {
    let hostport = addr
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    Ok(Endpoint::from_shared(format!("http://{hostport}"))?
        .connect_timeout(std::time::Duration::from_secs(5))
        .tcp_nodelay(true))
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn connector(
    tls: &ClientTls,
) -> impl tower::Service<
    Uri,
    Response = TokioIo<tokio_rustls::client::TlsStream<TcpStream>>,
    Error = BoxError,
    Future = impl Future<Output = Result<TokioIo<tokio_rustls::client::TlsStream<TcpStream>>, BoxError>>
             + Send,
> + Send
+ Clone
+ 'static {
    let connector = TlsConnector::from(tls.config.clone());
    tower::service_fn(move |uri: Uri| {
        let connector = connector.clone();
        async move {
            let host = uri
                .host()
                .ok_or_else(|| TlsError::ServerName(uri.to_string()))?;
            let host = host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string();
            let port = uri.port_u16().unwrap_or(443);
            let name = ServerName::try_from(host.clone())
                .map_err(|_| TlsError::ServerName(host.clone()))?;
            let tcp = TcpStream::connect((host.as_str(), port)).await?;
            tcp.set_nodelay(true)?;
            let stream = connector.connect(name, tcp).await?;
            Ok::<_, BoxError>(TokioIo::new(stream))
        }
    })
}
