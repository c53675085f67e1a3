//! Audit checkpoints: the head of the audit chain, signed by the signing service, after every
//! approval and on every tick while the chain grows. See `signq_signer::checkpoint` for why.
//!
//! One checkpoint at a time: the signing service refuses a head older than the last it signed,
//! so two overlapping requests must not reach it out of order.

use signq_proto::v1::SignCheckpointRequest;

use super::Engine;
use crate::error::SchedError;
use crate::store::Checkpoint;

impl Engine {
    /// Has the signing service sign the chain's head, unless it is already checkpointed. Returns
    /// the sequence number checkpointed, if any.
    pub async fn checkpoint(&self) -> Result<Option<u64>, SchedError> {
        if !self.checkpoints_here() {
            return Ok(None);
        }
        let _turn = self.checkpointing.lock().await;
        let (seq, hash) = self.store.audit_head().await?;
        if seq == 0 {
            return Ok(None);
        }
        if let Some(last) = self.store.latest_checkpoint().await?
            && last.seq >= seq
        {
            return Ok(None);
        }
        let head_hash = hex::decode(&hash)
            .map_err(|_| SchedError::Internal(format!("audit entry {seq} has a malformed hash")))?;
        let reply = self
            .signer
            .sign_checkpoint(SignCheckpointRequest {
                chain_id: self.store.chain_id().await?,
                seq,
                head_hash,
            })
            .await?;
        let signed_at = reply
            .signed_at
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t.seconds).ok())
            .unwrap_or_else(time::OffsetDateTime::now_utc);
        self.store
            .put_checkpoint(Checkpoint {
                seq,
                head_hash: hash,
                statement: reply.statement,
                signature: reply.signature,
                signed_at,
            })
            .await?;
        crate::metrics::checkpointed(seq);
        Ok(Some(seq))
    }

    /// Whether this replica has the chain checkpointed: one replica does, so that the signing
    /// service sees the chain's heads in order. It is the owner of the first ward, by id.
    fn checkpoints_here(&self) -> bool {
        let first = self.with_directory(|d| d.wards.keys().min().cloned());
        first.is_some_and(|ward| self.owns(&ward))
    }

    /// [`Engine::checkpoint`], with a failure logged and counted rather than returned (the next
    /// approval or tick tries again).
    pub async fn checkpoint_or_log(&self) {
        if let Err(error) = self.checkpoint().await {
            crate::metrics::checkpoint_failed();
            tracing::warn!(%error, "audit checkpoint not signed; will try again");
        }
    }
}
