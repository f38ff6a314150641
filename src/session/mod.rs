//! USSD session storage: the [`SessionStore`] trait, its Redis and PostgreSQL
//! implementations, and [`FailoverStore`], the one the app uses.
//!
//! This module stores opaque JSON text under an Africa's Talking session id
//! with a version and a TTL; what the text means belongs to `ussd`.
//!
//! # Versions and compare-and-set
//!
//! Every stored session carries a version. `save(id, data, expected, ttl)`
//! succeeds only when the store's current version is `expected` (`None`:
//! no live copy may exist) and then stores version `expected + 1` (or 1) and
//! refreshes the TTL. Otherwise it answers [`Saved::Conflict`]: another hop of
//! the same session saved first, so two hops never interleave.
//!
//! # Failover rules ([`FailoverStore`])
//!
//! 1. **Closed breaker (normal).** Load, save and delete go to Redis, under a
//!    tight timeout. Redis is the authority for the CAS. Each successful save
//!    or delete is queued for the *mirror*, a write-behind task that copies it
//!    to `ussd_sessions` in batches, so PostgreSQL holds every session a few
//!    milliseconds behind Redis.
//! 2. **A Redis call fails** (error or timeout): the same call is done on
//!    PostgreSQL at once, so the member sees nothing. A save there uses
//!    *catch-up* CAS: it succeeds when PostgreSQL's copy is at `expected` or
//!    *older* (or absent), because the mirror may not have flushed the version
//!    the caller read from Redis. The failure is counted; after
//!    `failure_threshold` consecutive failures the breaker opens.
//! 3. **Open breaker.** Everything goes to PostgreSQL (catch-up CAS), without
//!    trying Redis. The prober reads Redis's `run_id` every `probe_interval`
//!    (whatever the breaker): the first answer closes the breaker, and while
//!    it is closed a probe that fails counts like a failed call, so an idle
//!    node notices an outage too. A node that starts while Redis does not
//!    answer starts with the breaker open and the prober connects later.
//! 4. **Failback window.** Every write that reached PostgreSQL but not Redis
//!    (rules 2 and 3) leaves Redis stale for that session until the write's
//!    TTL has passed. Until the last such write has expired, the store is in
//!    the failback window, and while the breaker is closed:
//!    - `load` reads both stores and returns the higher version; a stale Redis
//!      copy never wins. A session deleted on PostgreSQL while Redis was away
//!      stays deleted even though Redis still holds it.
//!    - `save` is decided by PostgreSQL (catch-up CAS) and then written through
//!      to Redis with a "raise" script that only ever replaces an older
//!      version. Redis failing here only extends the window.
//!    - `delete` removes the session from both.
//! 5. **Restarts and stale snapshots.** A node that starts does not know by
//!    itself what other nodes wrote to PostgreSQL while Redis was away, nor
//!    whether Redis restarted from an older snapshot (which holds older
//!    copies of sessions that moved on; the mirror has the newer ones). So
//!    the window is shared through PostgreSQL (`ussd_failback`, see
//!    `failback`): every node records the expiry of its PostgreSQL-only
//!    writes there before relying on them, and the Redis `run_id` it sees. A
//!    starting node, or a prober that sees a new `run_id`, reads that row: a
//!    `run_id` other than the recorded one opens the window for a full
//!    `restart_window` (the app sets a session TTL) for every node, and a
//!    recorded expiry still ahead keeps it open. Until the row has answered,
//!    a node assumes the window. So a deploy costs nothing when nothing went
//!    wrong, and an older Redis copy never wins when something did.
//!
//! Versions never go backwards in either store, and outside the window Redis
//! holds the newest copy, so the window rules suffice for this node.
//!
//! Limits, on purpose: the window is per node. If only one node loses Redis
//! (a partition), other nodes keep trusting Redis and can read a copy that node
//! advanced on PostgreSQL; with a real Redis outage every node sees it and
//! opens. A hop in flight in the few milliseconds between a Redis save and its
//! mirror flush, when Redis dies, is covered by the catch-up CAS, not by
//! strict CAS: two hops of one session racing at exactly that moment could
//! both be accepted.
//!
//! # The hop lock
//!
//! Compare-and-set keeps the *session* consistent, but a hop's actions run
//! between its load and its save: two copies of one hop (Africa's Talking
//! repeats a slow hop) would both decode as new input and both act. So a hop
//! holds the session's lock from load to save ([`SessionStore::lock_load`],
//! [`SessionStore::save_unlock`]); a copy that finds it held waits, then
//! loads what the first saved and decodes a repeat ([`load_locked`]).
//!
//! - **Redis:** a key `{prefix}ussd-lock:{id}` holding a random owner token,
//!   with a short expiry (`lock_lease`). Lock-and-load is one script (take the
//!   key if free, return the session), save-and-unlock another (CAS, then
//!   delete the key if the token is still ours): the two calls a hop made
//!   before, so the lock costs no round trip.
//! - **PostgreSQL:** the same lease as columns of the session row, taken and
//!   read in one statement and released by the save (see the migration
//!   `20261130000401_ussd_session_hop_locks.sql` for why not a row lock).
//! - **Failover:** the lock lives where the breaker points. A failed Redis
//!   lock call is not answered from PostgreSQL while the breaker is closed
//!   (rule 2 does that for plain loads): a lock there would not exclude a
//!   hop holding one on Redis, and a slow reply under load is no outage. It
//!   counts towards the breaker and the hop tries again; once the breaker is
//!   open, locks are taken on PostgreSQL. A save that then goes to the other
//!   store (Redis failed, or the breaker closed meanwhile) releases the lock
//!   with a separate call, best effort; if that fails the lease expires by
//!   itself. While the two stores disagree (a hop
//!   locked on Redis just before it died, a duplicate locked on PostgreSQL),
//!   the locks do not exclude each other: the catch-up CAS still lets only one
//!   of the two saves win, and effects outside the session rely on their
//!   idempotency keys.
//! - **Bounds:** a waiting copy retries for at most `lock_patience` (Africa's
//!   Talking waits a few seconds for an answer; we answer well within), then
//!   answers from the stored session without acting. A lease longer than a
//!   hop (`lock_lease`) is needed for exclusion; a short one frees a crashed
//!   node's lock before the member's next hop arrives.
//!
//! # Observability
//!
//! See the metric name constants below. Labels are bounded (`store`, `op`,
//! `to`); no session id or phone ever appears in a label or a log line.

mod failback;
mod failover;
mod lock;
mod mirror;
mod postgres;
mod redis;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use failover::{ActiveStore, FailoverStore, SessionSettings};
pub use lock::{HopLock, LockLoad, Locked, load_locked};
pub use postgres::{PgStore, Sweep, delete_expired, run_sweeper};
pub use redis::RedisStore;

/// Gauge: 1 for the store that serves session traffic now, 0 for the other;
/// label `store` = `redis` | `postgres`.
pub const STORE_ACTIVE: &str = "pesachama_session_store_active";
/// Counter: breaker switches, label `to` = `postgres` | `redis`.
pub const STORE_FAILOVERS: &str = "pesachama_session_store_failovers_total";
/// Counter: failed store calls, labels `store` and `op`
/// (`load` | `save` | `delete` | `unlock` | `probe` | `mirror` | `sweep`).
pub const STORE_ERRORS: &str = "pesachama_session_store_errors_total";
/// Counter: mirror entries dropped because the write-behind queue was full.
pub const MIRROR_DROPPED: &str = "pesachama_session_mirror_dropped_total";
/// Counter: sessions written to PostgreSQL by the mirror.
pub const MIRROR_WRITTEN: &str = "pesachama_session_mirror_written_total";

/// Registers HELP text for the session metrics. Call after the recorder is
/// installed; [`FailoverStore::new`] calls it too, and repeating it is harmless.
pub fn describe_metrics() {
    metrics::describe_gauge!(
        STORE_ACTIVE,
        "Session store serving USSD sessions now (1) or not (0), by store."
    );
    metrics::describe_counter!(
        STORE_FAILOVERS,
        "Session store breaker switches, by the store switched to."
    );
    metrics::describe_counter!(
        STORE_ERRORS,
        "Failed session store calls, by store and operation."
    );
    metrics::describe_counter!(
        MIRROR_DROPPED,
        "Session copies to PostgreSQL dropped because the mirror queue was full."
    );
    metrics::describe_counter!(
        MIRROR_WRITTEN,
        "Session copies written to PostgreSQL by the write-behind mirror."
    );
}

/// Longest session id accepted; `ussd_sessions` enforces the same bound.
pub const MAX_SESSION_ID_LEN: usize = 128;

/// An Africa's Talking session id (or another caller-chosen key such as
/// `resume:<uuid>`), validated at the edge: 1 to 128 characters from
/// `[A-Za-z0-9_.:-]`. Construct with [`SessionId::parse`].
///
/// Deliberately has no `Display`: ids stay out of logs and labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

/// Why a session id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionIdError {
    #[error("session id is empty")]
    Empty,
    #[error("session id is longer than {MAX_SESSION_ID_LEN} characters")]
    TooLong,
    #[error("session id may only contain letters, digits, '_', '-', '.' and ':'")]
    BadCharacter,
}

impl SessionId {
    /// Checks `raw` and wraps it.
    pub fn parse(raw: &str) -> Result<SessionId, SessionIdError> {
        if raw.is_empty() {
            return Err(SessionIdError::Empty);
        }
        // Allowed characters are ASCII, so bytes = characters here.
        if raw.len() > MAX_SESSION_ID_LEN {
            return Err(SessionIdError::TooLong);
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':');
        if !raw.bytes().all(allowed) {
            return Err(SessionIdError::BadCharacter);
        }
        Ok(SessionId(raw.to_owned()))
    }

    /// The id as sent by Africa's Talking.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A session as stored: its version and its JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Compare-and-set version; 1 after creation, +1 per save.
    pub version: u64,
    /// The serialised session, JSON text.
    pub data: String,
}

/// Outcome of a compare-and-set save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Stored; `version` is the new version.
    Saved { version: u64 },
    /// Another hop of this session saved first (the CAS lost); reload and retry.
    Conflict,
}

/// Why a store call failed. The USSD engine answers any of these with a
/// polite `END`; the variants tell the failover logic what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Redis did not answer within the configured timeout.
    #[error("redis did not answer within {0:?}")]
    RedisTimeout(Duration),
    /// Redis answered with an error or the connection failed.
    #[error("redis failed: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// PostgreSQL failed.
    #[error("postgres failed: {0}")]
    Postgres(#[from] sqlx::Error),
    /// A stored record is not what this module writes (someone else wrote the
    /// key, or a bug). Not an availability problem: no failover.
    #[error("corrupt session record in {store}: {reason}")]
    Corrupt { store: &'static str, reason: String },
    /// The caller's data cannot be stored (not JSON, or JSON PostgreSQL
    /// refuses such as `\u0000`). Refused on every store alike.
    #[error("session data cannot be stored: {0}")]
    InvalidData(&'static str),
}

impl StoreError {
    /// True when the error says Redis is unavailable (rather than that the
    /// data is bad), i.e. when the failover logic should try PostgreSQL.
    fn is_redis_unavailable(&self) -> bool {
        matches!(self, StoreError::RedisTimeout(_) | StoreError::Redis(_))
    }
}

/// A boxed future, so [`SessionStore`] stays dyn-compatible.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where USSD sessions live between hops.
pub trait SessionStore: Send + Sync {
    /// The live session, or `None` when absent or expired.
    fn load<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<Option<Stored>, StoreError>>;

    /// Compare-and-set: `expected = None` means "create, no live copy may
    /// exist"; `Some(v)` means "the current version must be `v`". On success
    /// the version becomes `expected + 1` (or 1) and the TTL is refreshed.
    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        data: &'a str,
        expected: Option<u64>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Saved, StoreError>>;

    /// Removes the session; absent is fine.
    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Takes the session's hop lock for `lease` and, in the same call,
    /// loads the session; [`LockLoad::Busy`] when another hop holds it.
    fn lock_load<'a>(
        &'a self,
        id: &'a SessionId,
        lease: Duration,
    ) -> BoxFuture<'a, Result<LockLoad, StoreError>>;

    /// [`SessionStore::save`], releasing `lock` in the same call. The save
    /// is decided by the CAS alone, so it is safe even when the lease ran out.
    fn save_unlock<'a>(
        &'a self,
        id: &'a SessionId,
        data: &'a str,
        expected: Option<u64>,
        ttl: Duration,
        lock: HopLock,
    ) -> BoxFuture<'a, Result<Saved, StoreError>>;

    /// Releases `lock` without saving (a repeated hop, or a failed one).
    /// A lock another hop has taken since (ours expired) is left alone.
    fn unlock<'a>(
        &'a self,
        id: &'a SessionId,
        lock: HopLock,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
}

/// Refuses data that is not JSON, in both stores alike: sessions are JSON,
/// and valid JSON holds no raw NUL byte, which PostgreSQL's `text` refuses.
fn check_data(data: &str) -> Result<(), StoreError> {
    serde_json::from_str::<serde::de::IgnoredAny>(data)
        .map(|_| ())
        .map_err(|_| StoreError::InvalidData("not JSON"))
}

/// TTL in whole milliseconds, at least 1 (0 would delete in Redis).
fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_africas_talking_session_id_is_accepted() {
        let id = SessionId::parse("ATUid_0123456789abcdef.x-y:z").unwrap();
        assert_eq!(id.as_str(), "ATUid_0123456789abcdef.x-y:z");
    }

    #[test]
    fn an_id_of_128_characters_is_accepted_and_129_refused() {
        assert!(SessionId::parse(&"a".repeat(128)).is_ok());
        assert_eq!(
            SessionId::parse(&"a".repeat(129)),
            Err(SessionIdError::TooLong)
        );
    }

    #[test]
    fn empty_ids_and_foreign_characters_are_refused() {
        assert_eq!(SessionId::parse(""), Err(SessionIdError::Empty));
        for bad in ["a b", "a/b", "a*b", "ключ", "a\0b", "a\nb", "{x}", "a%00"] {
            assert_eq!(
                SessionId::parse(bad),
                Err(SessionIdError::BadCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn data_must_be_json() {
        assert!(check_data(r#"{"a":1}"#).is_ok());
        assert!(check_data(r#"{"a":"x\u0000"}"#).is_ok());
        assert!(matches!(
            check_data("{not json"),
            Err(StoreError::InvalidData(_))
        ));
        assert!(matches!(
            check_data("{\"a\":\"x\u{0}\"}"),
            Err(StoreError::InvalidData(_))
        ));
    }

    #[test]
    fn a_zero_ttl_is_one_millisecond() {
        assert_eq!(ttl_millis(Duration::ZERO), 1);
        assert_eq!(ttl_millis(Duration::from_secs(180)), 180_000);
    }
}
