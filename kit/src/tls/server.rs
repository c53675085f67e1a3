//! The TLS listener: accepts TCP connections, runs each handshake in its own task (a slow client
//! cannot hold up the others) under the admission limits of [`super::admission`], judges the
//! client certificate, and hands finished connections to tonic with the verdict attached as
//! [`ConnInfo`]. A connection closes itself once it has been idle too long.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_stream::wrappers::ReceiverStream;

use super::admission::{Activity, Admission, ConnLimits, Ticket};
use super::handshakes::Handshakes;
use super::material::{TlsError, TlsFiles};
use super::trust::Trust;
use crate::identity::PeerIdentity;

/// The outcome of judging a client certificate: who it is, or why it is refused.
pub type PeerAuth = Result<PeerIdentity, AuthFailure>;

/// Why a client's certificate does not identify it. Each becomes UNAUTHENTICATED.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// The client sent no certificate.
    #[error("no client certificate: signq requires mutual TLS with a certificate from the ward CA")]
    NoCertificate,
    /// The certificate does not chain to the ward CA.
    #[error("client certificate is not issued by this ward's CA")]
    UnknownIssuer,
    /// The certificate's validity has ended.
    #[error("client certificate has expired")]
    Expired,
    /// The certificate's validity has not started.
    #[error("client certificate is not valid yet")]
    NotValidYet,
    /// The CA has revoked the certificate (CRL).
    #[error("client certificate has been revoked by the ward CA")]
    Revoked,
    /// The certificate is not meant for TLS clients (extended key usage).
    #[error("client certificate is not valid for TLS client authentication")]
    WrongPurpose,
    /// Any other defect, said in a sentence.
    #[error("client certificate rejected: {0}")]
    Other(String),
}

/// What tonic attaches to every request of a connection (`request.extensions().get::<ConnInfo>()`).
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The client's address.
    pub remote: Option<SocketAddr>,
    /// The verdict on the client's certificate.
    pub auth: Arc<PeerAuth>,
    /// The calls in flight on the connection (see [`crate::guard`]).
    pub activity: Arc<Activity>,
}

/// A server-side TLS connection carrying its [`ConnInfo`]; it reads as ended once it has had no
/// call in flight for its idle time, which closes it.
#[derive(Debug)]
pub struct TlsConn {
    stream: TlsStream<TcpStream>,
    info: ConnInfo,
    /// Its admission slot, freed when the connection closes.
    _ticket: Ticket,
    /// How long it may stay idle.
    idle: Duration,
    /// Fires when it would become idle; re-armed while calls keep it busy.
    idle_timer: Pin<Box<tokio::time::Sleep>>,
}

impl TlsConn {
    /// Whether the connection has been idle for its idle time (re-arming the timer otherwise).
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        while self.idle_timer.as_mut().poll(cx).is_ready() {
            match self.info.activity.idle_at(self.idle) {
                Some(at) if at <= tokio::time::Instant::now() => return true,
                Some(at) => self.idle_timer.as_mut().reset(at),
                // Busy: look again an idle time from now.
                None => self
                    .idle_timer
                    .as_mut()
                    .reset(tokio::time::Instant::now() + self.idle),
            }
        }
        false
    }
}

impl tonic::transport::server::Connected for TlsConn {
    type ConnectInfo = ConnInfo;
    fn connect_info(&self) -> ConnInfo {
        self.info.clone()
    }
}

impl AsyncRead for TlsConn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.expired(cx) {
            // End of stream: the server closes the connection.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// The stream of authenticated-or-judged connections that tonic serves.
pub type TlsIncoming = ReceiverStream<Result<TlsConn, io::Error>>;

/// The rustls server configuration of a signq endpoint: its own certificate, client certificates
/// requested (not required, see the module docs), HTTP/2 (and HTTP/1.1 for gRPC-web) by ALPN.
pub fn server_config(files: &TlsFiles, trust: &Trust) -> Result<Arc<ServerConfig>, TlsError> {
    let identity = super::identity::Identity::load(files)?;
    let provider = super::provider();
    let hints = trust
        .roots()
        .roots
        .iter()
        // A trust anchor keeps its subject without the outer SEQUENCE; the TLS message carries
        // the whole Name (OpenSSL clients refuse the handshake otherwise).
        .map(|anchor| DistinguishedName::in_sequence(&anchor.subject))
        .collect();
    let verifier = DeferredClientAuth {
        hints,
        algs: provider.signature_verification_algorithms,
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_cert_resolver(identity);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Accepts connections on `listener` under `limits` until the returned stream is dropped.
pub fn serve_incoming(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    trust: Arc<Trust>,
    limits: ConnLimits,
) -> TlsIncoming {
    let (tx, rx) = mpsc::channel(64);
    let acceptor = TlsAcceptor::from(config);
    let admission = Admission::new(limits);
    let handshakes = Handshakes::new(&limits);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = tx.closed() => return,
            };
            let (tcp, remote) = match accepted {
                Ok(pair) => pair,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            // Past its address's share of handshakes the connection is closed at once: it never
            // waits for a slot, so nobody's slow handshakes delay anybody else's.
            let Some(mut handshake) = handshakes.begin(remote.ip()) else {
                tracing::debug!(%remote, "too many handshakes from this address; connection closed");
                continue;
            };
            let _ = tcp.set_nodelay(true);
            let (acceptor, trust, tx) = (acceptor.clone(), trust.clone(), tx.clone());
            let admission = admission.clone();
            tokio::spawn(async move {
                let limits = *admission.limits();
                let handshaken = tokio::select! {
                    handshaken = tokio::time::timeout(limits.handshake_timeout, acceptor.accept(tcp)) => handshaken,
                    () = handshake.evicted() => {
                        tracing::debug!(%remote, "unfinished handshake closed to make room");
                        return;
                    }
                };
                drop(handshake);
                match handshaken {
                    Ok(Ok(stream)) => {
                        let auth = judge(&trust, stream.get_ref().1.peer_certificates());
                        match &auth {
                            // Browsers (the tablet app) come without one and use a session token.
                            Err(AuthFailure::NoCertificate) => {
                                tracing::debug!(%remote, "connection without a client certificate")
                            }
                            Err(failure) => {
                                tracing::info!(%remote, %failure, "client certificate refused")
                            }
                            Ok(_) => {}
                        }
                        let Some(ticket) = admission.connection(remote.ip(), auth.is_ok()) else {
                            tracing::debug!(%remote, "connection limit reached; connection closed");
                            return;
                        };
                        let info = ConnInfo {
                            remote: Some(remote),
                            auth: Arc::new(auth),
                            activity: Activity::new(),
                        };
                        let conn = TlsConn {
                            stream,
                            info,
                            _ticket: ticket,
                            idle: limits.idle,
                            idle_timer: Box::pin(tokio::time::sleep(limits.idle)),
                        };
                        let _ = tx.send(Ok(conn)).await;
                    }
                    Ok(Err(error)) => tracing::debug!(%remote, %error, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%remote, "TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// Judges one client certificate (DER, sent without intermediates) exactly as a connection's is
/// judged after its handshake; the entry point of the client-certificate fuzz target.
pub fn judge_certificate(trust: &Trust, der: &[u8]) -> PeerAuth {
    judge(trust, Some(&[CertificateDer::from(der.to_vec())]))
}

/// Judges a client's certificate chain against the CA and the current CRL.
fn judge(trust: &Trust, chain: Option<&[CertificateDer<'static>]>) -> PeerAuth {
    let Some((end_entity, intermediates)) = chain.and_then(|c| c.split_first()) else {
        return Err(AuthFailure::NoCertificate);
    };
    trust
        .client_verifier()
        .verify_client_cert(end_entity, intermediates, UnixTime::now())
        .map_err(|error| match error {
            rustls::Error::InvalidCertificate(e) => match e {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    AuthFailure::UnknownIssuer
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    AuthFailure::Expired
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    AuthFailure::NotValidYet
                }
                CertificateError::Revoked => AuthFailure::Revoked,
                CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. } => AuthFailure::WrongPurpose,
                other => AuthFailure::Other(certificate_problem(&other)),
            },
            _ => AuthFailure::Other("it does not verify against the ward CA".to_string()),
        })?;
    PeerIdentity::from_der(end_entity)
        .map_err(|_| AuthFailure::Other("it cannot be read as an X.509 certificate".to_string()))
}

/// What is wrong with a certificate, as a sentence for the person or program that presented it
/// (never the verifier's internal names).
fn certificate_problem(error: &CertificateError) -> String {
    let webpki = match error {
        CertificateError::Other(other) => other.0.downcast_ref::<webpki::Error>(),
        _ => None,
    };
    let text = match (error, webpki) {
        (CertificateError::BadEncoding, _) | (_, Some(webpki::Error::BadDer)) => {
            "it cannot be read as an X.509 certificate"
        }
        (_, Some(webpki::Error::CaUsedAsEndEntity)) => {
            "it is a CA certificate, not a client certificate issued by the ward CA"
        }
        (_, Some(webpki::Error::UnsupportedSignatureAlgorithmContext(_)))
        | (_, Some(webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_))) => {
            "it is signed with an algorithm signq does not accept"
        }
        (CertificateError::UnhandledCriticalExtension, _)
        | (_, Some(webpki::Error::UnsupportedCriticalExtension)) => {
            "it carries a critical extension signq does not understand"
        }
        (CertificateError::UnknownRevocationStatus, _) => "its revocation status is unknown",
        _ => "it does not verify against the ward CA",
    };
    text.to_string()
}

/// Requests a client certificate and checks that the client holds its key, leaving the judgement
/// of the certificate itself to [`judge`] once the handshake is done.
#[derive(Debug)]
struct DeferredClientAuth {
    hints: Vec<DistinguishedName>,
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for DeferredClientAuth {
    fn offer_client_auth(&self) -> bool {
        true
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }
    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}
