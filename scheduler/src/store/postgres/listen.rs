//! Notices from every replica: a connection that LISTENs on the `signq` channel and hands each
//! notification to the store's subscribers, reconnecting when the database goes away. After a
//! reconnection it announces [`Notice::Resync`]: whatever was sent meanwhile is lost, so followers
//! read again from their cursors.

use std::time::Duration;

use tokio::sync::broadcast;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::store::Notice;

/// How long to wait before connecting again.
const RETRY: Duration = Duration::from_millis(500);

/// Listens until the store's runtime stops; says `ready` once it first listens.
pub(super) async fn run(
    config: tokio_postgres::Config,
    notices: broadcast::Sender<Notice>,
    ready: tokio::sync::oneshot::Sender<()>,
) {
    let mut ready = Some(ready);
    loop {
        match config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let driver = {
                    let notices = notices.clone();
                    async move {
                        loop {
                            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                                Some(Ok(AsyncMessage::Notification(n))) => {
                                    if let Some(notice) = Notice::parse(n.payload()) {
                                        let _ = notices.send(notice);
                                    }
                                }
                                Some(Ok(_)) => {}
                                Some(Err(error)) => {
                                    tracing::warn!(%error, "the store's notices stopped; reconnecting");
                                    return;
                                }
                                None => return,
                            }
                        }
                    }
                };
                let subscribe = async {
                    match client.batch_execute("LISTEN signq").await {
                        Ok(()) => {
                            let _ = notices.send(Notice::Resync);
                            if let Some(ready) = ready.take() {
                                let _ = ready.send(());
                            }
                            // Keep the client (and so the connection) until the driver ends.
                            std::future::pending::<()>().await;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "could not listen for the store's notices");
                        }
                    }
                };
                // The driver reads the connection (the LISTEN's reply and every notification);
                // the subscriber keeps the client alive until the connection ends.
                tokio::select! {
                    () = driver => {}
                    () = subscribe => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not connect for the store's notices; retrying");
            }
        }
        tokio::time::sleep(RETRY).await;
    }
}
