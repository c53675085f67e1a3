//! The PIN rules, in one place: what a PIN looks like, how it is stretched before it helps open a
//! key, and when wrong PINs lock a key.
//!
//! Every component that takes a PIN checks it here (the scheduler before it calls the signing
//! service, the signing service, the keystore, the command line), so a PIN refused by one is
//! refused by all, with the same sentence.
//!
//! A PIN has few digits, so on its own it would be guessed offline in moments. Two things make a
//! stolen key file useless: the file is also bound to the signing service's key-encryption key,
//! kept outside the data directory, and the PIN is stretched with Argon2id (memory-hard, RFC 9106)
//! with parameters recorded in each key file, so they can grow as machines do: a file made with
//! weaker parameters is re-wrapped with the current ones the next time its PIN opens it.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The fewest digits in a PIN.
pub const MIN_DIGITS: usize = 6;
/// The most digits in a PIN.
pub const MAX_DIGITS: usize = 12;

/// A PIN that is not 6 to 12 decimal digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a PIN is {MIN_DIGITS} to {MAX_DIGITS} decimal digits")]
pub struct PinFormError;

/// Checks the form of a PIN: 6 to 12 decimal digits, nothing else.
pub fn check(pin: &str) -> Result<(), PinFormError> {
    let ok =
        (MIN_DIGITS..=MAX_DIGITS).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit());
    if ok { Ok(()) } else { Err(PinFormError) }
}

/// When wrong PINs lock a key, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Wrong PINs within `window` that lock the key.
    pub max_failures: u32,
    /// The window in which failures are counted.
    pub window: Duration,
    /// How long the key stays locked.
    pub lock_for: Duration,
}

impl Default for LockoutPolicy {
    /// Five wrong PINs within 15 minutes lock the key for 15 minutes.
    fn default() -> Self {
        LockoutPolicy {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
            lock_for: Duration::from_secs(15 * 60),
        }
    }
}

/// Argon2id parameters, as recorded in a key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stretch {
    /// Memory, in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Stretch {
    /// The parameters new key files get: 19 MiB, 2 passes, 1 lane (the minimum RFC 9106's
    /// authors and OWASP recommend for interactive logins; about 30 ms on one core, paid once
    /// per batch, while each guess costs an attacker the same 19 MiB).
    pub const CURRENT: Stretch = Stretch {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    /// Whether these parameters are weaker than `other` in any respect.
    pub fn weaker_than(&self, other: &Stretch) -> bool {
        self.memory_kib < other.memory_kib || self.iterations < other.iterations
    }

    /// Stretches `pin` with `salt` into 32 bytes.
    pub fn apply(&self, pin: &str, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, StretchError> {
        let params =
            argon2::Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
                .map_err(|e| StretchError(e.to_string()))?;
        let argon =
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let mut out = Zeroizing::new([0u8; 32]);
        argon
            .hash_password_into(pin.as_bytes(), salt, out.as_mut())
            .map_err(|e| StretchError(e.to_string()))?;
        Ok(out)
    }
}

/// Argon2 refused the parameters or the salt (a damaged or hand-edited key file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PIN stretching: {0}")]
pub struct StretchError(String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_form() {
        for ok in ["123456", "000000000000"] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "1",
            "12345",
            "1234567890123",
            "12345a",
            "١٢٣٤٥٦",
            " 123456",
        ] {
            assert_eq!(check(bad), Err(PinFormError), "{bad:?}");
        }
    }

    #[test]
    fn stretching_depends_on_pin_salt_and_parameters() {
        let weak = Stretch {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let a = weak.apply("123456", b"saltsaltsaltsalt").expect("stretch");
        assert_eq!(
            a,
            weak.apply("123456", b"saltsaltsaltsalt").expect("stretch")
        );
        assert_ne!(
            a,
            weak.apply("123457", b"saltsaltsaltsalt").expect("stretch")
        );
        assert_ne!(
            a,
            weak.apply("123456", b"saltsaltsaltsalT").expect("stretch")
        );
        let stronger = Stretch {
            memory_kib: 128,
            ..weak
        };
        assert_ne!(
            a,
            stronger
                .apply("123456", b"saltsaltsaltsalt")
                .expect("stretch")
        );
        assert!(weak.weaker_than(&Stretch::CURRENT));
        assert!(!Stretch::CURRENT.weaker_than(&Stretch::CURRENT));
        assert!(
            weak.apply("123456", b"short").is_err(),
            "salts are at least 8 bytes"
        );
    }
}
