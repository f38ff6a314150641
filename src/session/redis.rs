//! Sessions in Redis: one hash per session at `{prefix}ussd:{id}` with fields
//! `v` (version, decimal) and `d` (JSON text), expiring after the TTL.
//!
//! Compare-and-set and the TTL refresh run in one Lua script (EVALSHA, loaded
//! on first use), so they are atomic without WATCH round trips. The hop lock
//! is a key `{prefix}ussd-lock:{id}` holding its owner's token; it is taken
//! in the `MULTI` block that loads and released by the script that saves, so
//! it adds no round trip. Every
//! call runs under a tight timeout: a slow Redis is a failed Redis, and the
//! failover store moves on to PostgreSQL.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, RedisError, Script};
use arc_swap::ArcSwapOption;

use super::{
    ActiveStore, BoxFuture, HopLock, LockLoad, Saved, SessionId, SessionStore, StoreError, Stored,
    check_data, ttl_millis,
};

/// How long one Redis call may take before it counts as failed. A hop should
/// take about a millisecond; a local Redis answers in well under one.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(50);

/// Releases the lock at KEYS[1] if it still holds token ARGV[1]. Returns 1
/// if released.
static UNLOCK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
",
    )
});

/// Compare-and-set. KEYS[1]: the key; KEYS[2], optional: a lock key to
/// release. ARGV[1]: expected version, "" = the key must not exist; ARGV[2]:
/// data; ARGV[3]: TTL in ms; ARGV[4], with KEYS[2]: the lock's owner token.
/// Returns the new version, or 0 when the CAS lost. The lock is released
/// either way.
static CAS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if KEYS[2] and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
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
/// window; versions in Redis never go backwards. KEYS[2] and ARGV[4]: a lock
/// to release, as in `CAS`. Returns 1 if written.
static RAISE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if KEYS[2] and redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
local current = tonumber(redis.call('HGET', KEYS[1], 'v'))
if current and current >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
",
    )
});

/// Longest wait for a first connection, so neither the start nor the prober
/// hangs on a Redis that accepts connections and never answers.
pub const CONNECT_BOUND: Duration = Duration::from_secs(3);

/// The Redis session store.
#[derive(Clone)]
pub struct RedisStore {
    /// The connection, once there is one; shared by every clone.
    link: Arc<Link>,
    /// Key prefix (per deployment, or per test), put before `ussd:`.
    prefix: String,
    /// Upper bound on each call; a timeout is an error.
    timeout: Duration,
}

/// The connection slot. A [`ConnectionManager`] reconnects by itself once it
/// has connected, but the redis crate offers no way to build one while Redis
/// is down; so a node that starts without Redis keeps the client here and
/// [`RedisStore::connect`] (called by the prober) builds the manager when
/// Redis answers. Calls before then fail as "Redis unavailable".
struct Link {
    conn: ArcSwapOption<ConnectionManager>,
    client: Option<(Client, ConnectionManagerConfig)>,
}

impl RedisStore {
    /// A store writing under `{prefix}ussd:` over a connected manager, with
    /// the default timeout.
    pub fn new(conn: ConnectionManager, prefix: impl Into<String>) -> RedisStore {
        RedisStore::with_link(
            Link {
                conn: ArcSwapOption::from_pointee(conn),
                client: None,
            },
            prefix,
        )
    }

    /// A store that is not connected yet: [`RedisStore::connect`] connects.
    pub fn unconnected(
        client: Client,
        config: ConnectionManagerConfig,
        prefix: impl Into<String>,
    ) -> RedisStore {
        RedisStore::with_link(
            Link {
                conn: ArcSwapOption::empty(),
                client: Some((client, config)),
            },
            prefix,
        )
    }

    fn with_link(link: Link, prefix: impl Into<String>) -> RedisStore {
        RedisStore {
            link: Arc::new(link),
            prefix: prefix.into(),
            timeout: DEFAULT_REDIS_TIMEOUT,
        }
    }

    /// Replaces the per-call timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> RedisStore {
        self.timeout = timeout;
        self
    }

    /// Connects if not connected yet (the manager reconnects by itself after
    /// that), within [`CONNECT_BOUND`] whatever the manager's retries.
    pub async fn connect(&self) -> Result<(), StoreError> {
        if self.link.conn.load().is_some() {
            return Ok(());
        }
        let Some((client, config)) = &self.link.client else {
            return Ok(());
        };
        let connecting = ConnectionManager::new_with_config(client.clone(), config.clone());
        let conn = tokio::time::timeout(CONNECT_BOUND, connecting)
            .await
            .map_err(|_| StoreError::RedisTimeout(CONNECT_BOUND))??;
        self.link.conn.store(Some(Arc::new(conn)));
        Ok(())
    }

    /// The connection, if Redis has answered once.
    pub fn connection(&self) -> Option<ConnectionManager> {
        self.link.conn.load().as_deref().cloned()
    }

    fn conn(&self) -> Result<ConnectionManager, StoreError> {
        self.connection().ok_or_else(|| {
            StoreError::Redis(RedisError::from((
                ::redis::ErrorKind::IoError,
                "not connected to redis yet",
            )))
        })
    }

    /// The Redis key of a session.
    pub fn key(&self, id: &SessionId) -> String {
        format!("{}ussd:{}", self.prefix, id.as_str())
    }

    /// The Redis key of a session's hop lock.
    pub fn lock_key(&self, id: &SessionId) -> String {
        format!("{}ussd-lock:{}", self.prefix, id.as_str())
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
        let mut conn = self.conn()?;
        let key = self.key(id);
        let fields: (Option<String>, Option<String>) = self
            .bounded(
                ::redis::cmd("HMGET")
                    .arg(&key)
                    .arg("v")
                    .arg("d")
                    .query_async(&mut conn),
            )
            .await?;
        stored(fields)
    }

    /// Takes the hop lock and reads the session in one round trip: `SET NX
    /// PX` and `HMGET` in a `MULTI` block, so nothing runs between them.
    /// Plain commands, not a script: Redis runs them for less than a Lua
    /// call costs, and the session read when the lock is taken by another
    /// hop is simply ignored.
    pub async fn lock_and_find(
        &self,
        id: &SessionId,
        lease: Duration,
    ) -> Result<LockLoad, StoreError> {
        let mut conn = self.conn()?;
        let lock = HopLock::new(ActiveStore::Redis);
        let mut block = ::redis::pipe();
        block
            .atomic()
            .cmd("SET")
            .arg(self.lock_key(id))
            .arg(lock.token.to_string())
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(lease))
            .cmd("HMGET")
            .arg(self.key(id))
            .arg("v")
            .arg("d");
        let (taken, fields): (Option<String>, (Option<String>, Option<String>)) =
            self.bounded(block.query_async(&mut conn)).await?;
        Ok(match taken {
            None => LockLoad::Busy,
            Some(_) => LockLoad::Locked {
                lock,
                stored: stored(fields)?,
            },
        })
    }

    /// Releases a hop lock taken here, if it is still ours.
    pub async fn release(&self, id: &SessionId, lock: &HopLock) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut call = UNLOCK.key(self.lock_key(id));
        call.arg(lock.token.to_string());
        let _: i64 = self.bounded(call.invoke_async(&mut conn)).await?;
        Ok(())
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
        self.cas(id, data, expected, ttl, None).await
    }

    /// [`RedisStore::compare_and_set`] for data already checked, releasing
    /// `unlock` (a lock taken here) in the same script.
    pub(super) async fn cas(
        &self,
        id: &SessionId,
        data: &str,
        expected: Option<u64>,
        ttl: Duration,
        unlock: Option<&HopLock>,
    ) -> Result<Saved, StoreError> {
        let mut conn = self.conn()?;
        let expected = expected.map(|v| v.to_string()).unwrap_or_default();
        let mut call = CAS.key(self.key(id));
        call.arg(expected).arg(data).arg(ttl_millis(ttl));
        if let Some(lock) = unlock {
            call.key(self.lock_key(id)).arg(lock.token.to_string());
        }
        let version: u64 = self.bounded(call.invoke_async(&mut conn)).await?;
        Ok(match version {
            0 => Saved::Conflict,
            version => Saved::Saved { version },
        })
    }

    /// Stores `version` unless Redis already has it or a newer one, releasing
    /// `unlock` in the same script. Returns true if written.
    pub async fn raise(
        &self,
        id: &SessionId,
        data: &str,
        version: u64,
        ttl: Duration,
        unlock: Option<&HopLock>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn()?;
        let mut call = RAISE.key(self.key(id));
        call.arg(version).arg(data).arg(ttl_millis(ttl));
        if let Some(lock) = unlock {
            call.key(self.lock_key(id)).arg(lock.token.to_string());
        }
        let written: i64 = self.bounded(call.invoke_async(&mut conn)).await?;
        Ok(written == 1)
    }

    /// Removes a session.
    pub async fn remove(&self, id: &SessionId) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let key = self.key(id);
        let _: i64 = self
            .bounded(::redis::cmd("DEL").arg(&key).query_async(&mut conn))
            .await?;
        Ok(())
    }

    /// PING under the timeout: is Redis answering?
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let _: String = self
            .bounded(::redis::cmd("PING").query_async(&mut conn))
            .await?;
        Ok(())
    }

    /// The server's `run_id` (`INFO server`), which changes whenever Redis
    /// restarts, under the timeout.
    pub async fn run_id(&self) -> Result<String, StoreError> {
        let mut conn = self.conn()?;
        let info: String = self
            .bounded(::redis::cmd("INFO").arg("server").query_async(&mut conn))
            .await?;
        info.lines()
            .find_map(|line| line.strip_prefix("run_id:"))
            .map(|id| id.trim().to_owned())
            .ok_or_else(|| corrupt("INFO server has no run_id"))
    }
}

/// A session from the `v` and `d` fields of its hash.
fn stored(fields: (Option<String>, Option<String>)) -> Result<Option<Stored>, StoreError> {
    match fields {
        (None, None) => Ok(None),
        (Some(version), Some(data)) => {
            let version = version.parse::<u64>().map_err(|_| corrupt("bad version"))?;
            Ok(Some(Stored { version, data }))
        }
        _ => Err(corrupt("hash lacks a field")),
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

    fn lock_load<'a>(
        &'a self,
        id: &'a SessionId,
        lease: Duration,
    ) -> BoxFuture<'a, Result<LockLoad, StoreError>> {
        Box::pin(self.lock_and_find(id, lease))
    }

    fn save_unlock<'a>(
        &'a self,
        id: &'a SessionId,
        data: &'a str,
        expected: Option<u64>,
        ttl: Duration,
        lock: HopLock,
    ) -> BoxFuture<'a, Result<Saved, StoreError>> {
        Box::pin(async move {
            check_data(data)?;
            self.cas(id, data, expected, ttl, Some(&lock)).await
        })
    }

    fn unlock<'a>(
        &'a self,
        id: &'a SessionId,
        lock: HopLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move { self.release(id, &lock).await })
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
