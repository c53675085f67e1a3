//! One PIN check at a time per signer, so that wrong PINs are counted exactly.
//!
//! A PIN check reads the lockout, opens the key (tens of milliseconds of Argon2id) and then records
//! the outcome. Were two checks of one signer to overlap, both would read "not locked" before
//! either recorded its failure, and a burst of concurrent guesses would get far more than the
//! allowed number of tries before the lock. Holding the signer's turn across the whole check makes
//! the read, the attempt and the record one step: fifty concurrent wrong PINs count as exactly
//! five, and the other forty-five find the key locked. Checks of different signers still run side
//! by side.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// The per-signer turns.
#[derive(Debug, Default)]
pub struct Attempts {
    turns: Mutex<HashMap<String, Arc<AsyncMutex<()>>>>,
}

/// A signer's turn; the next check of that signer starts when it is dropped.
#[derive(Debug)]
pub struct Turn {
    _guard: OwnedMutexGuard<()>,
}

impl Attempts {
    /// Waits for `signer`'s turn.
    pub async fn turn(&self, signer: &str) -> Turn {
        let lock = {
            let mut turns = self.turns.lock().unwrap_or_else(|p| p.into_inner());
            // Forget the turns nobody holds or waits for, so the map stays as small as the number
            // of signers checking right now.
            turns.retain(|_, m| Arc::strong_count(m) > 1);
            turns.entry(signer.to_string()).or_default().clone()
        };
        Turn {
            _guard: lock.lock_owned().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn checks_of_one_signer_never_overlap_and_others_run_alongside() {
        let attempts = Arc::new(Attempts::default());
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (attempts, inside, most) = (attempts.clone(), inside.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = attempts.turn("w/deputy").await;
                let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                inside.fetch_sub(1, Ordering::SeqCst);
            }));
        }
        // Another signer is not held up by the queue of the first.
        let other = tokio::time::timeout(Duration::from_millis(1), attempts.turn("w/director"))
            .await
            .is_ok();
        assert!(other, "another signer's turn comes at once");
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
        let held = attempts.turn("w/clerk").await;
        assert_eq!(
            attempts.turns.lock().expect("lock").len(),
            1,
            "idle turns are forgotten"
        );
        drop(held);
    }
}
