//! Signer sessions: a bearer token per signed-in person, opened with their PIN (checked by the
//! signer service) on a device enrolled for them, renewed by use, ended by logout or idleness.
//! A session belongs to the device that opened it: its token is refused on any other connection,
//! so a token copied off a tablet is of no use elsewhere. Kept in memory: after a restart the
//! tablet signs in again, which costs one PIN entry and keeps no credential at rest.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::RngCore;
use time::OffsetDateTime;

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

/// Every open session.
#[derive(Debug)]
pub struct Sessions {
    ttl: Duration,
    open: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// No sessions; each lasts `ttl` after its last use.
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            open: Mutex::new(HashMap::new()),
        }
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Opens a session for `signer_id` on the device whose certificate has serial `device`, and
    /// returns its token.
    pub fn create(&self, signer_id: &str, device: &str, now: OffsetDateTime) -> (String, Session) {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let session = Session {
            signer_id: signer_id.to_string(),
            device: device.to_string(),
            expires_at: now + self.ttl,
        };
        let mut open = self.open();
        open.retain(|_, s| s.expires_at > now);
        open.insert(token.clone(), session.clone());
        (token, session)
    }

    /// The session of `token` if open, renewed.
    pub fn check(&self, token: &str, now: OffsetDateTime) -> Option<Session> {
        let mut open = self.open();
        let session = open.get_mut(token)?;
        if session.expires_at <= now {
            open.remove(token);
            return None;
        }
        session.expires_at = now + self.ttl;
        Some(session.clone())
    }

    /// Ends the session of `token`; returns its signer.
    pub fn close(&self, token: &str) -> Option<String> {
        self.open().remove(token).map(|s| s.signer_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_renew_and_close() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let t0 = OffsetDateTime::now_utc();
        let (token, session) = sessions.create("w/d", "0a1b", t0);
        assert_eq!(session.device, "0a1b");
        assert!(
            sessions
                .check(&token, t0 + Duration::from_secs(50))
                .is_some()
        );
        assert!(
            sessions
                .check(&token, t0 + Duration::from_secs(100))
                .is_some(),
            "use renews"
        );
        assert!(
            sessions
                .check(&token, t0 + Duration::from_secs(200))
                .is_none()
        );
        let (token, _) = sessions.create("w/d", "0a1b", t0);
        assert_eq!(sessions.close(&token).as_deref(), Some("w/d"));
        assert!(sessions.check(&token, t0).is_none());
        assert!(sessions.check("nonsense", t0).is_none());
    }
}
