//! PINs stretched recently: a signer who approves batch after batch pays the PIN's Argon2id
//! stretching (about 30 ms of a core, most of a batch's cost) once per [`Recent::ttl`] rather
//! than once per batch.
//!
//! What is kept, per signer, is the stretched PIN beside a tag of what it was stretched from
//! (HMAC under a key made when the service starts, over the signer id, the PIN, the key file's
//! salt and parameters), for a short time. A request is served from it only if its own PIN gives
//! the same tag: every batch still needs the PIN, a wrong PIN is stretched and counted as
//! before, and a re-sealed key file (a new salt) misses. The offline cost of guessing a PIN from
//! a stolen key file and KEK does not change; what changes is that the running service's memory
//! holds, for the lifetime, what the key file's PIN gives (as it briefly holds the key itself).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use zeroize::Zeroizing;

use crate::pin::Stretch;

/// How long a stretched PIN is kept unless configured otherwise: about one sitting at the tablet.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);

/// One signer's recently stretched PIN.
struct Kept {
    tag: [u8; 32],
    stretched: Zeroizing<[u8; 32]>,
    at: Instant,
}

/// The recently stretched PINs of every signer.
pub(super) struct Recent {
    key: ring::hmac::Key,
    ttl: Duration,
    kept: Mutex<HashMap<String, Kept>>,
}

impl std::fmt::Debug for Recent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recent")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Recent {
    /// Keeps stretched PINs for `ttl` (zero: never).
    pub(super) fn new(ttl: Duration) -> Recent {
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(key.as_mut());
        Recent {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_ref()),
            ttl,
            kept: Mutex::new(HashMap::new()),
        }
    }

    fn tag(&self, signer: &str, pin: &str, salt: &[u8], stretch: Stretch) -> [u8; 32] {
        let mut mac = ring::hmac::Context::with_key(&self.key);
        for part in [signer.as_bytes(), pin.as_bytes(), salt] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        for n in [stretch.memory_kib, stretch.iterations, stretch.parallelism] {
            mac.update(&n.to_be_bytes());
        }
        let mut tag = [0u8; 32];
        tag.copy_from_slice(mac.sign().as_ref());
        tag
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Kept>> {
        self.kept.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stretched PIN, if `pin` stretched with `salt` and `stretch` was kept for `signer`
    /// within the lifetime.
    pub(super) fn get(
        &self,
        signer: &str,
        pin: &str,
        salt: &[u8],
        stretch: Stretch,
    ) -> Option<Zeroizing<[u8; 32]>> {
        if self.ttl.is_zero() {
            return None;
        }
        let tag = self.tag(signer, pin, salt, stretch);
        let mut kept = self.lock();
        let entry = kept.get(signer)?;
        if entry.at.elapsed() >= self.ttl {
            kept.remove(signer);
            return None;
        }
        aws_lc_rs::constant_time::verify_slices_are_equal(&entry.tag, &tag)
            .ok()
            .map(|()| entry.stretched.clone())
    }

    /// Keeps `stretched`, the right PIN of `signer` stretched with `salt` and `stretch`.
    pub(super) fn put(
        &self,
        signer: &str,
        pin: &str,
        salt: &[u8],
        stretch: Stretch,
        stretched: &Zeroizing<[u8; 32]>,
    ) {
        if self.ttl.is_zero() {
            return;
        }
        let tag = self.tag(signer, pin, salt, stretch);
        let mut kept = self.lock();
        kept.retain(|_, k| k.at.elapsed() < self.ttl);
        kept.insert(
            signer.to_string(),
            Kept {
                tag,
                stretched: stretched.clone(),
                at: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Stretch = Stretch {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };

    #[test]
    fn only_the_same_pin_salt_and_parameters_find_what_was_kept() {
        let recent = Recent::new(Duration::from_secs(60));
        let stretched = Zeroizing::new([9u8; 32]);
        recent.put("w/d", "135790", b"salt", S, &stretched);
        assert_eq!(
            recent.get("w/d", "135790", b"salt", S).as_deref(),
            Some(&[9u8; 32])
        );
        assert!(
            recent.get("w/d", "135791", b"salt", S).is_none(),
            "another PIN"
        );
        assert!(
            recent.get("w/d", "135790", b"pepper", S).is_none(),
            "re-sealed"
        );
        let stronger = Stretch { iterations: 2, ..S };
        assert!(recent.get("w/d", "135790", b"salt", stronger).is_none());
        assert!(
            recent.get("w/e", "135790", b"salt", S).is_none(),
            "another signer"
        );
        let never = Recent::new(Duration::ZERO);
        never.put("w/d", "135790", b"salt", S, &stretched);
        assert!(never.get("w/d", "135790", b"salt", S).is_none());
    }
}
