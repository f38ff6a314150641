//! PINs: a keyed hash at rest, weak PINs refused, and a lockout in PostgreSQL
//! that concurrent guesses cannot race.
//!
//! The hash is HMAC-SHA256 keyed by the server's `PESACHAMA_PIN_SECRET` over a
//! per-user random salt and the PIN. With 10,000 possible PINs no hash can be
//! slow enough to resist brute force on its own; the server key is what makes
//! a database dump alone useless, and the salt stops one table of 10,000 hashes
//! from cracking every user. It costs about a microsecond, so it never
//! dominates a hop.
//!
//! # The lock rule
//!
//! 1. [`MAX_ATTEMPTS`] wrong PINs in a row lock the PIN. While it is locked a
//!    guess is refused without being judged, and nothing is written.
//! 2. A correct PIN clears the count of wrong attempts. It does not lower the
//!    lock level.
//! 3. Each lock lasts twice as long as the one before (5 min, 10 min, 20 min …
//!    capped at a day; [`lock_period`]). The level only decays: one step per
//!    full week without a lock, counted from the end of the last lock
//!    ([`next_lock_level`]). Neither a lock running out, nor a correct PIN,
//!    nor a PIN change lowers it, so an attacker who waits out each lock
//!    never earns back a short one, even when the owner dials in between.
//!    `users.pin_locked_until` is kept after a lock ends: it is when the last
//!    lock ended, which the decay needs.
//! 4. An operator's `pesachama member unlock-pin` is the one explicit reset:
//!    it clears the lock, the count and the level, with an audit row and an
//!    SMS to the member ([`unlock`]).
//!
//! Every set, change, lock and unlock writes an audit row and queues a
//! security-alert SMS in the same transaction ([`alert`]).

pub mod alert;
mod change;
mod lock;
mod weak;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::chama::Actor;
use crate::sms::templates::Templates;

pub use alert::PinEvent;
pub use change::{PinChange, PinSet, SetPinError, Unlocked, set_pin, unlock};
pub use lock::{BASE_LOCK, LOCK_DECAY, MAX_LOCK, lock_period, next_lock_level};
pub use weak::{COMMON, Weakness, weakness};

/// Wrong attempts allowed before the PIN locks.
pub const MAX_ATTEMPTS: i32 = 3;
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
    /// Judged correct; the count of wrong attempts is cleared.
    Correct,
    /// Judged wrong; this many attempts remain before the lock.
    Wrong { remaining: i32 },
    /// Judged wrong, and this attempt locked the PIN until then (the alert
    /// is queued).
    LockedNow { until: DateTime<Utc> },
    /// Refused without being judged: an earlier lock holds until then.
    Locked { until: DateTime<Utc> },
    /// The user has not set a PIN yet (or does not exist).
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

/// Stores `pin` for a member created by a seeding tool (the tests, the load
/// test), as if set before the weak-PIN rule existed: no rule, no audit row,
/// no SMS, so seeding thousands of members queues nothing and scripts may use
/// an easy PIN. Members set theirs with [`set_pin`].
pub async fn seed_pin(
    conn: &mut PgConnection,
    secret: &SecretString,
    user_id: Uuid,
    pin: &Pin,
) -> Result<(), sqlx::Error> {
    let (hash, salt) = hash_pin(secret, pin);
    sqlx::query!(
        "update users set pin_hash = $2, pin_salt = $3 where id = $1",
        user_id,
        hash,
        salt
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Judges `pin` from one plain read, when that needs no write and no
/// serialisation: a correct PIN on an account with no wrong attempts
/// counted, a PIN locked already, or none set. `None` means [`check`] must
/// judge it (a wrong PIN, or a correct one that clears a count).
///
/// Safe without the PIN-check lock: what it answers writes nothing, so it is
/// as if it ran just before whatever guesses run beside it. A guess it
/// calls correct is the PIN itself, which no count of attempts protects any
/// more; it never judges a wrong guess, so the lock rule still sees every
/// one of those. It is one round trip with no transaction: the common hop
/// (the member typing their PIN right) costs PostgreSQL one index read.
pub async fn peek(
    conn: &mut PgConnection,
    secret: &SecretString,
    user_id: Uuid,
    pin: &Pin,
) -> Result<Option<PinCheck>, sqlx::Error> {
    let Some(row) = sqlx::query!(
        r#"select pin_hash, pin_salt, pin_failed_attempts, pin_locked_until, now() as "now!"
             from users where id = $1"#,
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(Some(PinCheck::NotSet));
    };
    let (Some(hash), Some(salt)) = (row.pin_hash, row.pin_salt) else {
        return Ok(Some(PinCheck::NotSet));
    };
    if let Some(until) = row.pin_locked_until.filter(|until| *until > row.now) {
        return Ok(Some(PinCheck::Locked { until }));
    }
    let clean = row.pin_failed_attempts == 0;
    Ok((clean && pin_matches(secret, pin, &hash, &salt)).then_some(PinCheck::Correct))
}

/// Judges `pin` and counts the attempt, as one step that concurrent guesses
/// cannot race.
///
/// Race-free because the first statement takes the user's PIN-check lock
/// (an advisory transaction lock, `pin_state_for_check`) before it reads the
/// counters, and every write happens under it: a second guess for the same
/// user, from any session, phone, connection or node, waits for the first
/// one's transaction to end and then reads the counters that transaction
/// left (the function reads with a fresh snapshot once it holds the lock).
/// Guesses are judged one after another, so at most [`MAX_ATTEMPTS`] wrong
/// ones are judged before the lock, and every later one sees it.
///
/// The common case, a correct PIN on a clean account, need not come here:
/// [`peek`] settles it from one read. A wrong PIN costs the lock and one
/// update; the locking one also writes the audit row and queues the alert.
///
/// Run it in the caller's transaction (read committed) and **commit whatever
/// the outcome**: a rolled-back wrong attempt is an attempt not counted. The
/// lock is held until then, so commit soon.
pub async fn check(
    conn: &mut PgConnection,
    secret: &SecretString,
    texts: &Templates,
    user_id: Uuid,
    pin: &Pin,
) -> Result<PinCheck, sqlx::Error> {
    let Some(row) = sqlx::query!(
        r#"select pin_hash, pin_salt, pin_failed_attempts as "pin_failed_attempts!",
                  pin_locked_until, pin_lock_count as "pin_lock_count!",
                  phone as "phone!", language as "language!", checked_at as "now!"
             from pin_state_for_check($1)"#,
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
        if row.pin_failed_attempts > 0 {
            sqlx::query!(
                "update users set pin_failed_attempts = 0 where id = $1",
                user_id
            )
            .execute(&mut *conn)
            .await?;
        }
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
    let quiet = row
        .pin_locked_until
        .and_then(|ended| (row.now - ended).to_std().ok());
    let level = next_lock_level(row.pin_lock_count, quiet);
    let period =
        chrono::Duration::from_std(lock_period(level)).unwrap_or(chrono::Duration::days(1));
    let until = row.now + period;
    sqlx::query!(
        r#"update users
              set pin_failed_attempts = 0, pin_locked_until = $2, pin_lock_count = $3
            where id = $1"#,
        user_id,
        until,
        level + 1
    )
    .execute(&mut *conn)
    .await?;
    let to = alert::AlertTo::from_row(user_id, &row.phone, &row.language)?;
    let key = format!("pin.lock:{user_id}:{}", until.timestamp_micros());
    alert::record(
        conn,
        texts,
        Actor::System,
        &to,
        PinEvent::Lock { until, level },
        &key,
    )
    .await?;
    Ok(PinCheck::LockedNow { until })
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
    fn debug_never_shows_the_pin() {
        assert_eq!(format!("{:?}", Pin::parse("1234").unwrap()), "Pin(****)");
    }
}
