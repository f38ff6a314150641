//! PINs: a keyed hash at rest and a lockout that lives in PostgreSQL.
//!
//! The hash is HMAC-SHA256 keyed by the server's `PESACHAMA_PIN_SECRET` over a
//! per-user random salt and the PIN. With 10,000 possible PINs no hash can be
//! slow enough to resist brute force on its own; the server key is what makes
//! a database dump alone useless, and the salt stops one table of 10,000 hashes
//! from cracking every user. It costs about a microsecond, so it never
//! dominates a hop.
//!
//! Three wrong attempts lock the PIN; each further lock lasts twice as long as
//! the one before (5 min, 10 min, 20 min … capped at a day). A correct PIN
//! clears the count. The attempt counter is updated in the same transaction
//! that reads it (`for update`), so parallel hops cannot race past the limit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use sqlx::PgConnection;
use uuid::Uuid;

/// Wrong attempts allowed before the PIN locks.
pub const MAX_ATTEMPTS: i32 = 3;
/// First lock period; doubles with each further lock.
pub const BASE_LOCK: Duration = Duration::from_secs(5 * 60);
/// Longest lock period.
pub const MAX_LOCK: Duration = Duration::from_secs(24 * 60 * 60);
/// Bytes of random salt per user.
const SALT_LEN: usize = 16;

/// A PIN as typed: exactly four digits. Never logged, never stored in clear.
pub struct Pin(String);

impl Pin {
    /// Accepts exactly four ASCII digits.
    pub fn parse(input: &str) -> Option<Pin> {
        (input.len() == 4 && input.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Pin(input.to_owned()))
    }

    /// The digits, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pin(****)")
    }
}

/// The outcome of checking a PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PinCheck {
    /// Correct; the failure count is cleared.
    Correct,
    /// Wrong; this many attempts remain before the lock.
    Wrong { remaining: i32 },
    /// Locked until this time (now, or by an earlier lock).
    Locked { until: DateTime<Utc> },
    /// The user has not set a PIN yet.
    NotSet,
}

fn mac(secret: &SecretString, salt: &[u8], pin: &Pin) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(salt);
    mac.update(pin.0.as_bytes());
    mac
}

/// Hashes `pin` with a fresh salt: `(hash, salt)`.
pub fn hash_pin(secret: &SecretString, pin: &Pin) -> (Vec<u8>, Vec<u8>) {
    let mut salt = vec![0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    let hash = mac(secret, &salt, pin).finalize().into_bytes().to_vec();
    (hash, salt)
}

/// Constant-time comparison of `pin` against a stored hash.
pub fn pin_matches(secret: &SecretString, pin: &Pin, hash: &[u8], salt: &[u8]) -> bool {
    mac(secret, salt, pin).verify_slice(hash).is_ok()
}

/// Lock period after the `lock_count`-th lock (0-based).
pub fn lock_period(lock_count: i32) -> Duration {
    let doublings = lock_count.clamp(0, 16) as u32;
    BASE_LOCK.saturating_mul(1 << doublings).min(MAX_LOCK)
}

/// Stores a new PIN and clears any failure state.
pub async fn set_pin(
    conn: &mut PgConnection,
    secret: &SecretString,
    user_id: Uuid,
    pin: &Pin,
) -> Result<(), sqlx::Error> {
    let (hash, salt) = hash_pin(secret, pin);
    sqlx::query!(
        r#"update users
              set pin_hash = $2, pin_salt = $3, pin_failed_attempts = 0,
                  pin_locked_until = null, pin_lock_count = 0
            where id = $1"#,
        user_id,
        hash,
        salt
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The common case without a lock or a write: a correct PIN on an account with
/// no failed attempts and no lock. `None` means "take the locked path"
/// ([`verify_pin`]), which every wrong PIN does, so attempts are always counted
/// under the row lock.
pub async fn quick_check(
    conn: &mut PgConnection,
    secret: &SecretString,
    user_id: Uuid,
    pin: &Pin,
) -> Result<Option<PinCheck>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select pin_hash, pin_salt,
                  pin_failed_attempts = 0 and (pin_locked_until is null or pin_locked_until <= now()) as "clean!"
             from users where id = $1"#,
        user_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        None => Some(PinCheck::NotSet),
        Some(row) => match (row.pin_hash, row.pin_salt) {
            (Some(hash), Some(salt)) if row.clean && pin_matches(secret, pin, &hash, &salt) => {
                Some(PinCheck::Correct)
            }
            (Some(_), Some(_)) => None,
            _ => Some(PinCheck::NotSet),
        },
    })
}

/// Checks a PIN and records the attempt. Run it in its own transaction: the
/// row lock serialises attempts of one user.
pub async fn verify_pin(
    conn: &mut PgConnection,
    secret: &SecretString,
    user_id: Uuid,
    pin: &Pin,
) -> Result<PinCheck, sqlx::Error> {
    let Some(row) = sqlx::query!(
        r#"select pin_hash, pin_salt, pin_failed_attempts, pin_locked_until, pin_lock_count, now() as "now!"
             from users where id = $1 for update"#,
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(PinCheck::NotSet);
    };
    let (Some(hash), Some(salt)) = (row.pin_hash, row.pin_salt) else {
        return Ok(PinCheck::NotSet);
    };
    if let Some(until) = row.pin_locked_until.filter(|until| *until > row.now) {
        return Ok(PinCheck::Locked { until });
    }
    if pin_matches(secret, pin, &hash, &salt) {
        sqlx::query!(
            "update users set pin_failed_attempts = 0, pin_lock_count = 0, pin_locked_until = null where id = $1",
            user_id
        )
        .execute(&mut *conn)
        .await?;
        return Ok(PinCheck::Correct);
    }
    let attempts = row.pin_failed_attempts + 1;
    if attempts < MAX_ATTEMPTS {
        sqlx::query!(
            "update users set pin_failed_attempts = $2 where id = $1",
            user_id,
            attempts
        )
        .execute(&mut *conn)
        .await?;
        return Ok(PinCheck::Wrong {
            remaining: MAX_ATTEMPTS - attempts,
        });
    }
    let period = chrono::Duration::from_std(lock_period(row.pin_lock_count))
        .unwrap_or(chrono::Duration::days(1));
    let until = row.now + period;
    sqlx::query!(
        r#"update users
              set pin_failed_attempts = 0, pin_locked_until = $2, pin_lock_count = pin_lock_count + 1
            where id = $1"#,
        user_id,
        until
    )
    .execute(&mut *conn)
    .await?;
    Ok(PinCheck::Locked { until })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("unit-test-secret-0123456789abcdef".to_owned())
    }

    #[test]
    fn only_four_digits_make_a_pin() {
        assert!(Pin::parse("1234").is_some());
        for bad in ["123", "12345", "12a4", "", "１２３４", "12 4"] {
            assert!(Pin::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_right_pin_matches_and_a_wrong_one_does_not() {
        let pin = Pin::parse("4321").unwrap();
        let (hash, salt) = hash_pin(&secret(), &pin);
        assert!(pin_matches(&secret(), &pin, &hash, &salt));
        assert!(!pin_matches(
            &secret(),
            &Pin::parse("4322").unwrap(),
            &hash,
            &salt
        ));
    }

    #[test]
    fn a_different_server_secret_cannot_verify() {
        let pin = Pin::parse("4321").unwrap();
        let (hash, salt) = hash_pin(&secret(), &pin);
        let other = SecretString::from("another-secret-0123456789abcdef0".to_owned());
        assert!(!pin_matches(&other, &pin, &hash, &salt));
    }

    #[test]
    fn the_same_pin_hashes_differently_per_user() {
        let pin = Pin::parse("0000").unwrap();
        assert_ne!(hash_pin(&secret(), &pin), hash_pin(&secret(), &pin));
    }

    #[test]
    fn lock_periods_double_and_are_capped() {
        assert_eq!(lock_period(0), Duration::from_secs(300));
        assert_eq!(lock_period(1), Duration::from_secs(600));
        assert_eq!(lock_period(2), Duration::from_secs(1200));
        assert_eq!(lock_period(30), MAX_LOCK);
        assert_eq!(lock_period(-1), BASE_LOCK);
    }

    #[test]
    fn debug_never_shows_the_pin() {
        assert_eq!(format!("{:?}", Pin::parse("1234").unwrap()), "Pin(****)");
    }
}
