//! Audit checkpoints: the signing service's signed statement that a scheduler's audit chain had
//! reached a given entry with a given hash.
//!
//! The scheduler's audit log is a hash chain, so editing any entry breaks every link after it,
//! but whoever can write the scheduler's database could re-compute all those hashes. A
//! checkpoint takes that away: the chain's head is signed by another service, with a key the
//! database's owner does not hold, and `signq audit verify` checks the chain against every
//! checkpoint. The signing service also remembers the last head it signed for each chain and
//! refuses one that goes backwards or forks from it, so the newest checkpoints cannot be quietly
//! replaced either.
//!
//! A checkpoint is a short UTF-8 statement and a detached CMS signature over it made with the
//! signing service's own certificate (role `signer-service`), which any CMS tool can check:
//!
//! ```text
//! signq audit checkpoint v1
//! chain: 3f0c…
//! seq: 1042
//! head: 9b1e…
//! ```

use std::fmt;

use time::OffsetDateTime;

use crate::cms::{CmsError, CmsSigner, Purpose, TrustStore, verify_for};
use signq_kit::identity::{PeerIdentity, Role};

/// The first line of every statement.
const HEADER: &str = "signq audit checkpoint v1";

/// What a checkpoint states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The chain's id (one per scheduler store).
    pub chain_id: String,
    /// The sequence number of the chain's newest entry.
    pub seq: u64,
    /// That entry's hash (SHA-256).
    pub head: [u8; 32],
}

/// Why a checkpoint is not acceptable.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The statement is not one this format describes.
    #[error("malformed checkpoint statement: {0}")]
    Malformed(String),
    /// The signature does not verify over the statement, or not to the ward CA.
    #[error("checkpoint signature: {0}")]
    Signature(#[from] CmsError),
    /// The signature verifies but its certificate is not a signing service's.
    #[error("checkpoint signed by {0:?}, which is not a signing service")]
    NotTheSigningService(String),
}

impl Statement {
    /// The statement's bytes, as signed.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{HEADER}\nchain: {}\nseq: {}\nhead: {}\n",
            self.chain_id,
            self.seq,
            hex::encode(self.head)
        )
        .into_bytes()
    }

    /// Reads a statement; anything but exactly the four lines of [`Statement::encode`] is refused.
    pub fn parse(bytes: &[u8]) -> Result<Statement, CheckpointError> {
        let bad = |why: &str| CheckpointError::Malformed(why.to_string());
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8"))?;
        let mut lines = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("no final newline"))?
            .split('\n');
        if lines.next() != Some(HEADER) {
            return Err(bad("not a signq audit checkpoint"));
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(": "))
                .ok_or_else(|| bad(&format!("no {name} line")))
        };
        let chain_id = field("chain")?.to_string();
        let seq = field("seq")?
            .parse()
            .map_err(|_| bad("seq is not a number"))?;
        let head: [u8; 32] = hex::decode(field("head")?)
            .ok()
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| bad("head is not 32 bytes of hex"))?;
        if lines.next().is_some() {
            return Err(bad("trailing lines"));
        }
        let statement = Statement {
            chain_id,
            seq,
            head,
        };
        if statement.encode() != bytes {
            return Err(bad("not in canonical form"));
        }
        Ok(statement)
    }

    /// Signs the statement with the signing service's own key; returns the detached CMS.
    pub fn sign(&self, signer: &CmsSigner, at: OffsetDateTime) -> Result<Vec<u8>, CmsError> {
        signer.sign_detached(&self.encode(), at, &[])
    }
}

impl fmt::Display for Statement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chain {} at seq {}", self.chain_id, self.seq)
    }
}

/// A checkpoint that verified: what it states, when and by whom it was signed.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The statement.
    pub statement: Statement,
    /// When the signing service signed it.
    pub signed_at: OffsetDateTime,
    /// The signing service's certificate name.
    pub signed_by: String,
}

/// Verifies a checkpoint: the statement's form, the CMS signature over it chaining to `trust`,
/// and that the signature's certificate carries the signing-service role.
pub fn verify(
    statement: &[u8],
    signature: &[u8],
    trust: &TrustStore,
) -> Result<Verified, CheckpointError> {
    let parsed = Statement::parse(statement)?;
    let verified = verify_for(signature, Some(statement), trust, Purpose::Service)?;
    let identity = PeerIdentity::from_der(&verified.signer_cert)
        .map_err(|e| CmsError::InvalidCertificate(e.to_string()))?;
    if !identity.has_role(Role::SignerService) {
        return Err(CheckpointError::NotTheSigningService(identity.common_name));
    }
    Ok(Verified {
        statement: parsed,
        signed_at: verified.signing_time,
        signed_by: identity.common_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_round_trip_and_nothing_else_parses() {
        let s = Statement {
            chain_id: "c0ffee".into(),
            seq: 42,
            head: [7; 32],
        };
        assert_eq!(Statement::parse(&s.encode()).expect("parse"), s);
        let text = String::from_utf8(s.encode()).expect("utf8");
        for bad in [
            text.replace("v1", "v2"),
            text.replace("seq: 42", "seq: 042"),
            text.replace("seq: 42", "seq: -1"),
            text.replace(&hex::encode([7u8; 32]), "07"),
            format!("{text}extra: 1\n"),
            text.trim_end().to_string(),
            text.replace('\n', "\r\n"),
        ] {
            assert!(Statement::parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }
}
