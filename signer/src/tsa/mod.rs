//! The timestamp authority (RFC 3161) the signing service runs with its own certificate from the
//! ward PKI (`signq pki timestamping`: the timeStamping extended key usage, critical). A token
//! states that a hash existed at a time, signed so that anyone can check it years later with the
//! ward CA: PAdES signatures carry one over their signature value (PAdES B-T), and the HTTP
//! endpoint serves any RFC 3161 client (`openssl ts -query`).
//!
//! # Layout
//! - this file: [`Authority`], which makes tokens and answers requests;
//! - `http.rs`: the RFC 3161 endpoint over HTTP (`application/timestamp-query`);
//! - `remote.rs`: an outside authority used instead ([`remote::Remote`]);
//! - [`Timestamper`]: whichever of the two signs the service's timestamps.

pub mod http;
pub mod remote;
#[cfg(test)]
mod tests;

use const_oid::ObjectIdentifier;
use der::asn1::{BitString, GeneralizedTime, Int, OctetString};
use der::{AnyRef, Decode, Encode, Sequence};
use rand::RngCore;
use time::OffsetDateTime;
use x509_cert::spki::AlgorithmIdentifier;
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TspVersion, TstInfo};

use crate::cms::oids::{ID_CT_TST_INFO, ID_SHA256};
use crate::cms::{CmsError, CmsSigner};

/// The policy a ward's authority states in its tokens unless configured otherwise
/// (`--tsa-policy`): OpenSSL's example policy (`tsa_policy1`), which promises nothing to anyone;
/// a province that registers its own timestamping policy sets that instead.
pub const DEFAULT_POLICY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.3.4.1");

/// Why a token could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TsaError {
    /// The request is not one this authority answers (said why).
    #[error("{0}")]
    BadRequest(String),
    /// Encoding or signing failed.
    #[error("making the token: {0}")]
    Token(#[from] CmsError),
    /// An outside authority did not give a usable token.
    #[error("timestamp authority {0}")]
    Remote(String),
}

/// A timestamp authority: its key and certificate (with the chain), ready to sign tokens.
#[derive(Debug)]
pub struct Authority {
    signer: CmsSigner,
    policy: ObjectIdentifier,
}

impl Authority {
    /// The authority that signs with `signer` under `policy` (its certificate must carry the
    /// timeStamping extended key usage, or verifiers refuse its tokens).
    pub fn new(signer: CmsSigner, policy: ObjectIdentifier) -> Authority {
        Authority { signer, policy }
    }

    /// The authority's certificate, DER.
    pub fn certificate(&self) -> &[u8] {
        self.signer.certificate()
    }

    /// A token stating that the SHA-256 `hash` existed at `now` (to the second), echoing
    /// `nonce`.
    pub fn token(
        &self,
        hash: &[u8; 32],
        nonce: Option<Int>,
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, TsaError> {
        let imprint = MessageImprint {
            hash_algorithm: AlgorithmIdentifier {
                oid: ID_SHA256,
                parameters: None,
            },
            hashed_message: OctetString::new(hash.as_slice()).map_err(encoding)?,
        };
        self.sign(imprint, nonce, now)
    }

    fn sign(
        &self,
        message_imprint: MessageImprint,
        nonce: Option<Int>,
        now: OffsetDateTime,
    ) -> Result<Vec<u8>, TsaError> {
        let seconds = u64::try_from(now.unix_timestamp())
            .map_err(|_| TsaError::BadRequest("the clock is before 1970".into()))?;
        let info = TstInfo {
            version: TspVersion::V1,
            policy: self.policy,
            message_imprint,
            serial_number: serial()?,
            gen_time: GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(seconds))
                .map_err(encoding)?,
            accuracy: Some(Accuracy {
                seconds: Some(1),
                millis: None,
                micros: None,
            }),
            ordering: false,
            nonce,
            tsa: None,
            extensions: None,
        };
        let content = info.to_der().map_err(encoding)?;
        Ok(self
            .signer
            .sign_attached(ID_CT_TST_INFO, &content, now, &[])?)
    }

    /// The DER TimeStampResp to a DER TimeStampReq: a token (status granted), or a rejection
    /// saying why, in words and as a PKIFailureInfo bit (a request that does not parse, a hash
    /// other than SHA-256, a policy other than the authority's).
    pub fn respond(&self, request: &[u8], now: OffsetDateTime) -> Vec<u8> {
        let answer = TimeStampReq::from_der(request)
            .map_err(|e| (BAD_DATA_FORMAT, format!("not a TimeStampReq: {e}")))
            .and_then(|req| self.answer(req, now));
        let reply = match answer {
            Ok(token) => AnyRef::try_from(token.as_slice()).and_then(|token| {
                Reply {
                    status: StatusInfo {
                        status: GRANTED,
                        text: None,
                        fail_info: None,
                    },
                    token: Some(token),
                }
                .to_der()
            }),
            Err((failure, why)) => {
                tracing::info!(%why, "timestamp request refused");
                failure_bit(failure).and_then(|bits| {
                    Reply {
                        status: StatusInfo {
                            status: REJECTION,
                            text: Some(vec![why]),
                            fail_info: Some(bits),
                        },
                        token: None,
                    }
                    .to_der()
                })
            }
        };
        reply.unwrap_or_default()
    }

    fn answer(&self, req: TimeStampReq, now: OffsetDateTime) -> Result<Vec<u8>, (u8, String)> {
        let imprint = &req.message_imprint;
        if imprint.hash_algorithm.oid != ID_SHA256 || imprint.hashed_message.as_bytes().len() != 32
        {
            return Err((
                BAD_ALG,
                format!(
                    "hash {}: only SHA-256 is stamped",
                    imprint.hash_algorithm.oid
                ),
            ));
        }
        if let Some(policy) = req.req_policy.filter(|p| *p != self.policy) {
            return Err((
                UNACCEPTED_POLICY,
                format!("policy {policy}: only {} is offered", self.policy),
            ));
        }
        self.sign(req.message_imprint, req.nonce, now)
            .map_err(|e| (SYSTEM_FAILURE, e.to_string()))
    }
}

/// PKIStatus values (RFC 3161, 2.4.2).
const GRANTED: u8 = 0;
const REJECTION: u8 = 2;
/// PKIFailureInfo bits (RFC 3161, 2.4.2).
const BAD_ALG: u8 = 0;
const BAD_DATA_FORMAT: u8 = 5;
const UNACCEPTED_POLICY: u8 = 15;
const SYSTEM_FAILURE: u8 = 25;

/// `TimeStampResp ::= SEQUENCE { status PKIStatusInfo, timeStampToken TimeStampToken OPTIONAL }`
#[derive(Sequence)]
struct Reply<'a> {
    status: StatusInfo,
    #[asn1(optional = "true")]
    token: Option<AnyRef<'a>>,
}

/// `PKIStatusInfo ::= SEQUENCE { status PKIStatus, statusString PKIFreeText OPTIONAL,
/// failInfo PKIFailureInfo OPTIONAL }`
#[derive(Sequence)]
struct StatusInfo {
    status: u8,
    #[asn1(optional = "true")]
    text: Option<Vec<String>>,
    #[asn1(optional = "true")]
    fail_info: Option<BitString>,
}

/// The PKIFailureInfo BIT STRING with only `bit` set, in DER (no trailing zero bits).
fn failure_bit(bit: u8) -> der::Result<BitString> {
    let mut bytes = vec![0u8; usize::from(bit / 8) + 1];
    if let Some(last) = bytes.last_mut() {
        *last = 0x80 >> (bit % 8);
    }
    BitString::new(7 - bit % 8, bytes)
}

fn encoding(e: der::Error) -> TsaError {
    TsaError::Token(CmsError::Timestamp(format!("encoding: {e}")))
}

/// A fresh serial number: 16 random octets, positive.
fn serial() -> Result<Int, TsaError> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Int::new(&bytes).map_err(encoding)
}

/// Whichever authority timestamps the service's PDF signatures.
#[derive(Debug)]
pub enum Timestamper {
    /// The service's own.
    Local(std::sync::Arc<Authority>),
    /// An outside one, over HTTP.
    Remote(Box<remote::Remote>),
}

impl Timestamper {
    /// A token over the SHA-256 `hash` at `now`, from a blocking thread (an outside authority is
    /// asked on the runtime `runtime`).
    pub fn stamp(
        &self,
        hash: &[u8; 32],
        now: OffsetDateTime,
        runtime: &tokio::runtime::Handle,
    ) -> Result<Vec<u8>, TsaError> {
        match self {
            Timestamper::Local(authority) => authority.token(hash, None, now),
            Timestamper::Remote(remote) => runtime.block_on(remote.token(hash)),
        }
    }

    /// The certificates a validator needs for its tokens besides those inside them: the local
    /// authority's, or the roots an outside one's chain to.
    pub fn certificates(&self) -> Vec<Vec<u8>> {
        match self {
            Timestamper::Local(authority) => vec![authority.certificate().to_vec()],
            Timestamper::Remote(remote) => remote.roots().to_vec(),
        }
    }
}
