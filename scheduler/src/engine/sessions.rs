//! Signer sessions: a bearer token per signed-in person, opened with their PIN (checked by the
//! signer service) on a device enrolled for them, renewed by use, ended by logout or idleness.
//! A session belongs to the device that opened it: its token is refused on any other connection,
//! so a token copied off a tablet is of no use elsewhere.
//!
//! Sessions are kept in the store, so that a restart of the scheduler signs no one out: only the
//! SHA-256 of each token (a token is 32 random bytes, so its hash opens nothing), the signer, the
//! device and when it ends. Open sessions are also held in memory; a token the memory does not
//! know (after a restart) is looked up in the store. Use renews a session in memory at once and
//! in the store at most once per [`PERSIST_EVERY`], so that a busy tablet does not write on every
//! call; at worst a restart shortens a session by that much.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::RngCore;
use time::OffsetDateTime;

use crate::model::StoredSession;
use crate::store::{Store, StoreError};

/// How stale a session's end may be in the store before use writes it again.
pub const PERSIST_EVERY: Duration = Duration::from_secs(60);

/// An open session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The signer.
    pub signer_id: String,
    /// The serial of the device certificate that opened it.
    pub device: String,
    /// When it ends unless used again.
    pub expires_at: OffsetDateTime,
}

/// A session in memory, with the end the store last heard of.
#[derive(Debug, Clone)]
struct Held {
    session: Session,
    stored_until: OffsetDateTime,
}

/// Every open session.
#[derive(Debug)]
pub struct Sessions {
    ttl: Duration,
    open: Mutex<HashMap<String, Held>>,
}

/// The key a token is kept under: its SHA-256, hex.
fn key(token: &str) -> String {
    hex::encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

impl Sessions {
    /// No sessions in memory; each lasts `ttl` after its last use.
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            open: Mutex::new(HashMap::new()),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session for `signer_id` on the device whose certificate has serial `device`, keeps
    /// it in `store`, and returns its token.
    pub async fn create(
        &self,
        store: &dyn Store,
        signer_id: &str,
        device: &str,
        now: OffsetDateTime,
    ) -> Result<(String, Session), StoreError> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let session = Session {
            signer_id: signer_id.to_string(),
            device: device.to_string(),
            expires_at: now + self.ttl,
        };
        store
            .put_session(StoredSession {
                token_sha256: key(&token),
                signer_id: session.signer_id.clone(),
                device: session.device.clone(),
                expires_at: session.expires_at,
            })
            .await?;
        let mut open = self.open();
        open.retain(|_, h| h.session.expires_at > now);
        open.insert(
            key(&token),
            Held {
                session: session.clone(),
                stored_until: session.expires_at,
            },
        );
        Ok((token, session))
    }

    /// The session of `token` if open, renewed.
    pub async fn check(
        &self,
        store: &dyn Store,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, StoreError> {
        let key = key(token);
        let known = self.open().get(&key).cloned();
        let held = match known {
            Some(held) => held,
            // Not in memory: opened before a restart (or by another replica of the scheduler).
            None => match store.session(&key).await? {
                Some(stored) => Held {
                    session: Session {
                        signer_id: stored.signer_id,
                        device: stored.device,
                        expires_at: stored.expires_at,
                    },
                    stored_until: stored.expires_at,
                },
                None => return Ok(None),
            },
        };
        if held.session.expires_at <= now {
            self.open().remove(&key);
            store.end_session(&key).await?;
            return Ok(None);
        }
        let mut renewed = held;
        renewed.session.expires_at = now + self.ttl;
        if renewed.session.expires_at - renewed.stored_until >= PERSIST_EVERY {
            store
                .put_session(StoredSession {
                    token_sha256: key.clone(),
                    signer_id: renewed.session.signer_id.clone(),
                    device: renewed.session.device.clone(),
                    expires_at: renewed.session.expires_at,
                })
                .await?;
            renewed.stored_until = renewed.session.expires_at;
        }
        let session = renewed.session.clone();
        self.open().insert(key, renewed);
        Ok(Some(session))
    }

    /// Forgets the session whose token hashes to `key` (another replica ended it).
    pub fn forget(&self, key: &str) {
        self.open().remove(key);
    }

    /// Ends the session of `token`.
    pub async fn close(&self, store: &dyn Store, token: &str) -> Result<(), StoreError> {
        let key = key(token);
        self.open().remove(&key);
        store.end_session(&key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqlStore;

    #[tokio::test]
    async fn sessions_expire_renew_close_and_outlive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqlStore::open(&dir.path().join("s.db")).expect("store");
        let ttl = Duration::from_secs(600);
        let sessions = Sessions::new(ttl);
        let t0 = OffsetDateTime::now_utc();
        let (token, session) = sessions
            .create(&store, "w/d", "0a1b", t0)
            .await
            .expect("create");
        assert_eq!(session.device, "0a1b");
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        assert!(
            sessions
                .check(&store, &token, at(500))
                .await
                .expect("check")
                .is_some()
        );
        // Renewed by use, in the store too (more than a minute later than it said).
        assert!(
            sessions
                .check(&store, &token, at(1000))
                .await
                .expect("check")
                .is_some(),
            "use renews"
        );
        // Only the token's hash is kept.
        let kept = store
            .session(&key(&token))
            .await
            .expect("read")
            .expect("kept");
        assert_eq!(kept.expires_at, at(1600));
        assert!(store.session(&token).await.expect("read").is_none());

        // A scheduler started again knows the session from the store.
        let again = Sessions::new(ttl);
        let found = again.check(&store, &token, at(1100)).await.expect("check");
        assert_eq!(found.map(|s| s.signer_id).as_deref(), Some("w/d"));
        assert!(
            again
                .check(&store, &token, at(5000))
                .await
                .expect("check")
                .is_none(),
            "idle"
        );
        assert!(
            store.session(&key(&token)).await.expect("read").is_none(),
            "forgotten"
        );

        let (token, _) = sessions
            .create(&store, "w/d", "0a1b", t0)
            .await
            .expect("create");
        sessions.close(&store, &token).await.expect("close");
        assert!(
            Sessions::new(ttl)
                .check(&store, &token, t0)
                .await
                .expect("check")
                .is_none()
        );
        assert!(
            sessions
                .check(&store, "nonsense", t0)
                .await
                .expect("check")
                .is_none()
        );
    }
}
