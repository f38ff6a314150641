//! Setting, changing and unlocking a PIN: the writes that are not a guess.

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::chama::Actor;
use crate::phone::Msisdn;
use crate::sms::templates::Templates;

use super::alert::{self, AlertTo, PinEvent};
use super::{Pin, Weakness, hash_pin, pin_matches, weakness};

/// Which kind of PIN write the member asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinChange {
    /// The first PIN of an account that has none.
    First,
    /// A new PIN for an account that has one. The caller has checked the old
    /// PIN with [`super::check`] in the same transaction.
    Change,
}

/// What [`set_pin`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinSet {
    /// The PIN is stored, the audit row written and the alert queued.
    Stored,
    /// The same request (same idempotency key) was already applied: nothing
    /// was written this time.
    Replayed,
}

/// Why a PIN was not set, by what the caller does about it.
#[derive(Debug, thiserror::Error)]
pub enum SetPinError {
    /// Too easy to guess: show [`Weakness::message_id`] and ask again.
    #[error("weak PIN: {0:?}")]
    Weak(Weakness),
    /// A first PIN for an account that already has one.
    #[error("the account already has a PIN")]
    AlreadySet,
    /// A change for an account without a PIN (or without a user).
    #[error("the account has no PIN to change")]
    NotSet,
    /// A change while the PIN is locked.
    #[error("the PIN is locked until {0}")]
    Locked(DateTime<Utc>),
    /// PostgreSQL failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Stores a new PIN for `user_id`, refusing weak ones, with its audit row and
/// security alert, in the caller's transaction.
///
/// `idempotency_key` names the request (e.g. the USSD hop's key): a second
/// call with it changes nothing and answers [`PinSet::Replayed`], even when
/// both run at once. The count of wrong attempts is cleared; the lock level
/// is not (see the module's lock rule).
pub async fn set_pin(
    conn: &mut PgConnection,
    secret: &SecretString,
    texts: &Templates,
    user_id: Uuid,
    pin: &Pin,
    kind: PinChange,
    idempotency_key: &str,
) -> Result<PinSet, SetPinError> {
    let event = match kind {
        PinChange::First => PinEvent::Set,
        PinChange::Change => PinEvent::Change,
    };
    // Hashed so a caller's key of any length fits the outbox's 200 characters.
    let key_hash = hex::encode(Sha256::digest(idempotency_key.as_bytes()));
    let dedupe_key = format!("{}:{user_id}:{key_hash}", event.action());
    // The user's PIN lock first (the one `check` takes, so a guess and a
    // change never interleave): a concurrent replay waits here until the
    // first one commits, and the next statement (a new snapshot) then sees
    // its outbox row.
    let Some(user) = sqlx::query!(
        r#"select phone as "phone!", language as "language!", pin_hash, pin_salt,
                  pin_locked_until, checked_at as "now!"
             from pin_state_for_check($1)"#,
        user_id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Err(SetPinError::NotSet);
    };
    let replayed = sqlx::query_scalar!(
        r#"select exists (select 1 from sms_outbox where dedupe_key = $1) as "exists!""#,
        dedupe_key
    )
    .fetch_one(&mut *conn)
    .await?;
    if replayed {
        return Ok(PinSet::Replayed);
    }
    let to = AlertTo::from_row(user_id, &user.phone, &user.language)?;
    match (kind, user.pin_hash.zip(user.pin_salt)) {
        (PinChange::First, Some(_)) => return Err(SetPinError::AlreadySet),
        (PinChange::First, None) => {}
        (PinChange::Change, None) => return Err(SetPinError::NotSet),
        (PinChange::Change, Some((hash, salt))) => {
            if let Some(until) = user.pin_locked_until.filter(|until| *until > user.now) {
                return Err(SetPinError::Locked(until));
            }
            if pin_matches(secret, pin, &hash, &salt) {
                return Err(SetPinError::Weak(Weakness::SameAsOld));
            }
        }
    }
    if let Some(weak) = weakness(pin, &to.phone) {
        return Err(SetPinError::Weak(weak));
    }
    let (hash, salt) = hash_pin(secret, pin);
    sqlx::query!(
        r#"update users set pin_hash = $2, pin_salt = $3, pin_failed_attempts = 0
            where id = $1"#,
        user_id,
        hash,
        salt
    )
    .execute(&mut *conn)
    .await?;
    alert::record(conn, texts, Actor::User(&user_id), &to, event, &dedupe_key).await?;
    Ok(PinSet::Stored)
}

/// What [`unlock`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlocked {
    /// The lock that held until then is cleared, with the count and the
    /// level; the audit row is written and the alert queued.
    Cleared { was_until: DateTime<Utc> },
    /// The PIN was not locked: nothing was written.
    NotLocked,
    /// No user has this phone.
    UnknownPhone,
}

/// An operator clears the PIN lock of the member with `phone`: the explicit
/// reset of the lock rule, in the caller's transaction.
pub async fn unlock(
    conn: &mut PgConnection,
    texts: &Templates,
    actor: Actor<'_>,
    phone: &Msisdn,
) -> Result<Unlocked, sqlx::Error> {
    let Some(user) = sqlx::query!(
        r#"select id, language, pin_locked_until as "pin_locked_until!"
             from users where phone = $1 and pin_locked_until > now()
              for no key update"#,
        phone.as_e164()
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        let known = sqlx::query_scalar!(
            r#"select exists (select 1 from users where phone = $1) as "exists!""#,
            phone.as_e164()
        )
        .fetch_one(&mut *conn)
        .await?;
        return Ok(if known {
            Unlocked::NotLocked
        } else {
            Unlocked::UnknownPhone
        });
    };
    let was_until = user.pin_locked_until;
    sqlx::query!(
        r#"update users
              set pin_failed_attempts = 0, pin_locked_until = null, pin_lock_count = 0
            where id = $1"#,
        user.id
    )
    .execute(&mut *conn)
    .await?;
    let to = AlertTo::from_row(user.id, phone.as_e164(), &user.language)?;
    let key = format!("pin.unlock:{}:{}", user.id, was_until.timestamp_micros());
    alert::record(conn, texts, actor, &to, PinEvent::Unlock, &key).await?;
    Ok(Unlocked::Cleared { was_until })
}
