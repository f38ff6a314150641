//! Sessions in Redis: one hash per session at `{prefix}ussd:{id}` with fields
//! `v` (version, decimal) and `d` (JSON text), expiring after the TTL.
//!
//! Compare-and-set and the TTL refresh run in one Lua script (EVALSHA, loaded
//! on first use), so they are atomic without WATCH/MULTI round trips. Every
//! call runs under a tight timeout: a slow Redis is a failed Redis, and the
//! failover store moves on to PostgreSQL.

use std::sync::LazyLock;
use std::time::Duration;

use ::redis::aio::ConnectionManager;
use ::redis::{RedisError, Script};

use super::{
    BoxFuture, Saved, SessionId, SessionStore, StoreError, Stored, check_data, ttl_millis,
};

/// How long one Redis call may take before it counts as failed. A hop should
/// take about a millisecond; a local Redis answers in well under one.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(50);

/// Compare-and-set. KEYS[1]: the key. ARGV[1]: expected version, "" = the key
/// must not exist; ARGV[2]: data; ARGV[3]: TTL in ms. Returns the new version,
/// or 0 when the CAS lost.
static CAS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '' then
  if current then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
local version = (tonumber(ARGV[1]) or 0) + 1
redis.call('HSET', KEYS[1], 'v', string.format('%d', version), 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return version
",
    )
});

/// Raise: store version ARGV[1] only if Redis has no copy or an older one.
/// Used to write a PostgreSQL-decided save through to Redis in the failback
/// window; versions in Redis never go backwards. Returns 1 if written.
static RAISE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local current = tonumber(redis.call('HGET', KEYS[1], 'v'))
if current and current >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
",
    )
});

/// The Redis session store.
#[derive(Clone)]
pub struct RedisStore {
    /// Multiplexed connection that reconnects by itself after an outage.
    conn: ConnectionManager,
    /// Key prefix (per deployment, or per test), put before `ussd:`.
    prefix: String,
    /// Upper bound on each call; a timeout is an error.
    timeout: Duration,
}

impl RedisStore {
    /// A store writing under `{prefix}ussd:`, with the default timeout.
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> RedisStore {
        RedisStore {
            conn,
            prefix: prefix.into(),
            timeout: DEFAULT_REDIS_TIMEOUT,
        }
    }

    /// Replaces the per-call timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> RedisStore {
        self.timeout = timeout;
        self
    }

    /// The Redis key of a session.
    pub fn key(&self, id: &SessionId) -> String {
        format!("{}ussd:{}", self.prefix, id.as_str())
    }

    /// Runs one Redis call under the timeout.
    async fn bounded<T>(
        &self,
        call: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(classify(error)),
            Err(_) => Err(StoreError::RedisTimeout(self.timeout)),
        }
    }

    /// Reads a session.
    pub async fn find(&self, id: &SessionId) -> Result<Option<Stored>, StoreError> {
        let mut conn = self.conn.clone();
        let key = self.key(id);
        let (version, data): (Option<String>, Option<String>) = self
            .bounded(
                ::redis::cmd("HMGET")
                    .arg(&key)
                    .arg("v")
                    .arg("d")
                    .query_async(&mut conn),
            )
            .await?;
        match (version, data) {
            (None, None) => Ok(None),
            (Some(version), Some(data)) => {
                let version = version.parse::<u64>().map_err(|_| corrupt("bad version"))?;
                Ok(Some(Stored { version, data }))
            }
            _ => Err(corrupt("hash lacks a field")),
        }
    }

    /// Compare-and-set save (see [`SessionStore::save`]).
    pub async fn compare_and_set(
        &self,
        id: &SessionId,
        data: &str,
        expected: Option<u64>,
        ttl: Duration,
    ) -> Result<Saved, StoreError> {
        check_data(data)?;
        self.cas(id, data, expected, ttl).await
    }

    /// [`RedisStore::compare_and_set`] for data already checked.
    pub(super) async fn cas(
        &self,
        id: &SessionId,
        data: &str,
        expected: Option<u64>,
        ttl: Duration,
    ) -> Result<Saved, StoreError> {
        let mut conn = self.conn.clone();
        let expected = expected.map(|v| v.to_string()).unwrap_or_default();
        let mut call = CAS.key(self.key(id));
        call.arg(expected).arg(data).arg(ttl_millis(ttl));
        let version: u64 = self.bounded(call.invoke_async(&mut conn)).await?;
        Ok(match version {
            0 => Saved::Conflict,
            version => Saved::Saved { version },
        })
    }

    /// Stores `version` unless Redis already has it or a newer one. Returns
    /// true if written.
    pub async fn raise(
        &self,
        id: &SessionId,
        data: &str,
        version: u64,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let mut call = RAISE.key(self.key(id));
        call.arg(version).arg(data).arg(ttl_millis(ttl));
        let written: i64 = self.bounded(call.invoke_async(&mut conn)).await?;
        Ok(written == 1)
    }

    /// Removes a session.
    pub async fn remove(&self, id: &SessionId) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let key = self.key(id);
        let _: i64 = self
            .bounded(::redis::cmd("DEL").arg(&key).query_async(&mut conn))
            .await?;
        Ok(())
    }

    /// PING under the timeout: is Redis answering?
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: String = self
            .bounded(::redis::cmd("PING").query_async(&mut conn))
            .await?;
        Ok(())
    }
}

impl SessionStore for RedisStore {
    fn load<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        Box::pin(self.find(id))
    }

    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        data: &'a str,
        expected: Option<u64>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Saved, StoreError>> {
        Box::pin(self.compare_and_set(id, data, expected, ttl))
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.remove(id))
    }
}

fn corrupt(reason: &str) -> StoreError {
    StoreError::Corrupt {
        store: "redis",
        reason: reason.to_owned(),
    }
}

/// A key holding another type (someone wrote there) is corruption, not an
/// outage; anything else from Redis is treated as Redis failing.
fn classify(error: RedisError) -> StoreError {
    let wrong_type = error.code() == Some("WRONGTYPE")
        || error.detail().is_some_and(|d| d.contains("WRONGTYPE"))
        || error.to_string().contains("WRONGTYPE");
    if wrong_type {
        corrupt("key holds another type")
    } else if error.kind() == ::redis::ErrorKind::TypeError {
        // The reply did not convert: not what our scripts return.
        corrupt("unexpected reply")
    } else {
        StoreError::Redis(error)
    }
}
