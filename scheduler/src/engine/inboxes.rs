//! The open inbox streams: one channel per connected signer, so that leases and lease endings are
//! pushed to the tablet as they happen. A signer may have several devices; each gets every event.

use std::collections::HashMap;
use std::sync::Mutex;

use signq_proto::v1::StreamInboxResponse;
use tokio::sync::mpsc;

/// Events a stream may lag behind before it is dropped (the tablet reconnects and gets a snapshot).
pub const STREAM_BUFFER: usize = 256;

/// The connected signers' streams.
#[derive(Debug, Default)]
pub struct Inboxes {
    streams: Mutex<HashMap<String, Vec<mpsc::Sender<StreamInboxResponse>>>>,
}

impl Inboxes {
    fn streams(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, Vec<mpsc::Sender<StreamInboxResponse>>>> {
        self.streams.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a new stream of `signer`.
    pub fn connect(&self, signer: &str) -> mpsc::Receiver<StreamInboxResponse> {
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        self.streams()
            .entry(signer.to_string())
            .or_default()
            .push(tx);
        rx
    }

    /// Whether `signer` has at least one live stream (dropping closed ones).
    pub fn online(&self, signer: &str) -> bool {
        let mut streams = self.streams();
        let Some(list) = streams.get_mut(signer) else {
            return false;
        };
        list.retain(|tx| !tx.is_closed());
        let online = !list.is_empty();
        if !online {
            streams.remove(signer);
        }
        online
    }

    /// Ends every stream (the scheduler is shutting down): each tablet sees its stream end and
    /// reconnects, to this scheduler once it is back or to another replica.
    pub fn close_all(&self) {
        self.streams().clear();
    }

    /// Sends `event` to every stream of `signer`; a stream that is full or closed is dropped.
    pub fn send(&self, signer: &str, event: StreamInboxResponse) {
        let mut streams = self.streams();
        if let Some(list) = streams.get_mut(signer) {
            list.retain(|tx| tx.try_send(event.clone()).is_ok());
        }
    }
}
