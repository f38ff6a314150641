//! [`FailoverStore`]: Redis first, PostgreSQL behind it, with a circuit
//! breaker, a write-behind mirror and a failback window. The rules are in the
//! [module documentation](super).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::mirror::{self, Mirror};
use super::postgres::{DEFAULT_SWEEP_INTERVAL, PgStore, run_sweeper};
use super::redis::{DEFAULT_REDIS_TIMEOUT, RedisStore};
use super::{
    BoxFuture, STORE_ACTIVE, STORE_ERRORS, STORE_FAILOVERS, Saved, SessionId, SessionStore,
    StoreError, Stored, check_data, describe_metrics,
};

/// Tuning of the failover store. `Default` gives the production values.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    /// Upper bound on each Redis call; slower counts as failed.
    pub redis_timeout: Duration,
    /// Consecutive Redis failures that open the breaker.
    pub failure_threshold: u32,
    /// How often Redis is PINGed while the breaker is open.
    pub probe_interval: Duration,
    /// How long the mirror lets a batch gather before writing it.
    pub mirror_flush: Duration,
    /// Most sessions the mirror queue holds; beyond, the oldest is dropped.
    pub mirror_capacity: usize,
    /// Most sessions per mirror statement.
    pub mirror_batch: usize,
    /// How often expired PostgreSQL rows are swept.
    pub sweep_interval: Duration,
}

/// Three failures in a row: one slow reply is noise, three is an outage.
pub const DEFAULT_FAILURE_THRESHOLD: u32 = 3;
/// Redis is probed twice a second while the breaker is open.
pub const DEFAULT_PROBE_INTERVAL: Duration = Duration::from_millis(500);
/// Mirror lag: a member's next hop comes seconds later, so 50 ms of lag
/// costs nothing, and under load it lets several hops of one session
/// coalesce into one row write.
pub const DEFAULT_MIRROR_FLUSH: Duration = Duration::from_millis(50);
/// Enough for a few seconds of heavy traffic if PostgreSQL stalls, a few
/// megabytes of memory at most.
pub const DEFAULT_MIRROR_CAPACITY: usize = 20_000;
/// Sessions per mirror statement.
pub const DEFAULT_MIRROR_BATCH: usize = 1_000;
/// Sessions remembered as deleted while Redis was away (see `deleted`).
const DELETED_CAPACITY: usize = 10_000;

impl Default for SessionSettings {
    fn default() -> SessionSettings {
        SessionSettings {
            redis_timeout: DEFAULT_REDIS_TIMEOUT,
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            probe_interval: DEFAULT_PROBE_INTERVAL,
            mirror_flush: DEFAULT_MIRROR_FLUSH,
            mirror_capacity: DEFAULT_MIRROR_CAPACITY,
            mirror_batch: DEFAULT_MIRROR_BATCH,
            sweep_interval: DEFAULT_SWEEP_INTERVAL,
        }
    }
}

/// Which store serves session traffic now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveStore {
    Redis,
    Postgres,
}

/// The session store the app uses. Cheap to clone.
#[derive(Clone)]
pub struct FailoverStore {
    inner: Arc<Inner>,
}

struct Inner {
    redis: RedisStore,
    pg: PgStore,
    settings: SessionSettings,
    mirror: Arc<Mirror>,
    breaker: Breaker,
    /// Sessions deleted on PostgreSQL while Redis could not be told, with
    /// the time (ms, see `Breaker::now`) after which Redis's stale copy has
    /// surely expired. In the failback window such a session stays deleted
    /// even though Redis still has it.
    deleted: Mutex<HashMap<String, u64>>,
}

/// Breaker state and the failback window. All atomics: a hop never waits on
/// a lock here.
struct Breaker {
    /// True while all traffic goes to PostgreSQL.
    open: AtomicBool,
    /// Redis failures since the last success.
    failures: AtomicU32,
    /// When the breaker opened, for the log line at closing.
    opened_at: AtomicU64,
    /// Failback window end: the latest expiry of a write that reached
    /// PostgreSQL but not Redis.
    pg_only_until: AtomicU64,
    /// Longest TTL seen in a save, for how long a delete must be remembered.
    longest_ttl: AtomicU64,
    /// Wakes the prober when the breaker opens.
    wake_prober: Notify,
    /// Origin of the millisecond clock above.
    epoch: Instant,
}

impl Breaker {
    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    fn in_window(&self) -> bool {
        self.now() < self.pg_only_until.load(Ordering::Acquire)
    }

    fn mark_pg_only(&self, ttl: Duration) {
        let until = self
            .now()
            .saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        self.pg_only_until.fetch_max(until, Ordering::AcqRel);
    }
}

impl FailoverStore {
    /// A store over `redis` and `pg`; no background task runs until
    /// [`FailoverStore::start`]. Registers the metrics' descriptions.
    pub fn new(redis: RedisStore, pg: PgStore, settings: SessionSettings) -> FailoverStore {
        describe_metrics();
        metrics::gauge!(STORE_ACTIVE, "store" => "redis").set(1.0);
        metrics::gauge!(STORE_ACTIVE, "store" => "postgres").set(0.0);
        metrics::counter!(STORE_FAILOVERS, "to" => "postgres").increment(0);
        metrics::counter!(STORE_FAILOVERS, "to" => "redis").increment(0);
        let redis = redis.with_timeout(settings.redis_timeout);
        FailoverStore {
            inner: Arc::new(Inner {
                redis,
                pg,
                mirror: Arc::new(Mirror::new(settings.mirror_capacity)),
                settings,
                breaker: Breaker {
                    open: AtomicBool::new(false),
                    failures: AtomicU32::new(0),
                    opened_at: AtomicU64::new(0),
                    pg_only_until: AtomicU64::new(0),
                    longest_ttl: AtomicU64::new(0),
                    wake_prober: Notify::new(),
                    epoch: Instant::now(),
                },
                deleted: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Starts the mirror writer, the Redis prober and the expired-row sweeper
    /// on `tasks`; they stop when `shutdown` is cancelled (the mirror writes
    /// what it holds first).
    pub fn start(&self, tasks: &TaskTracker, shutdown: CancellationToken) {
        let inner = &self.inner;
        tasks.spawn(mirror::run(
            inner.mirror.clone(),
            inner.pg.pool().clone(),
            inner.settings.mirror_flush,
            inner.settings.mirror_batch,
            shutdown.clone(),
        ));
        tasks.spawn(probe(inner.clone(), shutdown.clone()));
        tasks.spawn(run_sweeper(
            inner.pg.pool().clone(),
            inner.settings.sweep_interval,
            shutdown,
        ));
    }

    /// [`FailoverStore::new`] then [`FailoverStore::start`].
    pub fn spawn(
        redis: RedisStore,
        pg: PgStore,
        settings: SessionSettings,
        tasks: &TaskTracker,
        shutdown: CancellationToken,
    ) -> FailoverStore {
        let store = FailoverStore::new(redis, pg, settings);
        store.start(tasks, shutdown);
        store
    }

    /// The store serving session traffic now.
    pub fn active_store(&self) -> ActiveStore {
        if self.inner.breaker.is_open() {
            ActiveStore::Postgres
        } else {
            ActiveStore::Redis
        }
    }

    /// True while the breaker is closed but Redis may still hold stale copies
    /// of sessions written to PostgreSQL (see the failback rules).
    pub fn in_failback_window(&self) -> bool {
        !self.inner.breaker.is_open() && self.inner.breaker.in_window()
    }

    /// The Redis key of a session (for operators and tests).
    pub fn redis_key(&self, id: &SessionId) -> String {
        self.inner.redis.key(id)
    }

    /// Sessions waiting in the mirror queue.
    pub fn mirror_pending(&self) -> usize {
        self.inner.mirror.pending()
    }
}

impl Inner {
    fn redis_ok(&self) {
        if self.breaker.failures.load(Ordering::Relaxed) != 0 {
            self.breaker.failures.store(0, Ordering::Relaxed);
        }
    }

    /// Counts a Redis failure and opens the breaker at the threshold.
    fn redis_failed(&self, op: &'static str, error: &StoreError) {
        metrics::counter!(STORE_ERRORS, "store" => "redis", "op" => op).increment(1);
        let failures = self.breaker.failures.fetch_add(1, Ordering::AcqRel) + 1;
        if failures < self.settings.failure_threshold {
            tracing::debug!(%error, op, "redis session call failed; answered from postgres");
            return;
        }
        if self
            .breaker
            .open
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.breaker
                .opened_at
                .store(self.breaker.now(), Ordering::Relaxed);
            metrics::gauge!(STORE_ACTIVE, "store" => "redis").set(0.0);
            metrics::gauge!(STORE_ACTIVE, "store" => "postgres").set(1.0);
            metrics::counter!(STORE_FAILOVERS, "to" => "postgres").increment(1);
            tracing::warn!(%error, op, failures, "session store failed over to postgres");
            self.breaker.wake_prober.notify_one();
        }
    }

    fn close(&self) {
        self.breaker.failures.store(0, Ordering::Relaxed);
        self.breaker.open.store(false, Ordering::Release);
        let outage_ms = self
            .breaker
            .now()
            .saturating_sub(self.breaker.opened_at.load(Ordering::Relaxed));
        metrics::gauge!(STORE_ACTIVE, "store" => "postgres").set(0.0);
        metrics::gauge!(STORE_ACTIVE, "store" => "redis").set(1.0);
        metrics::counter!(STORE_FAILOVERS, "to" => "redis").increment(1);
        tracing::info!(
            outage_ms,
            failback_window = self.breaker.in_window(),
            "session store returned to redis"
        );
    }

    fn pg_failed(&self, op: &'static str, error: StoreError) -> StoreError {
        metrics::counter!(STORE_ERRORS, "store" => "postgres", "op" => op).increment(1);
        error
    }

    fn remember_deleted(&self, id: &SessionId) {
        let ttl = Duration::from_millis(self.breaker.longest_ttl.load(Ordering::Relaxed));
        self.breaker.mark_pg_only(ttl);
        let until = self.breaker.pg_only_until.load(Ordering::Acquire);
        let now = self.breaker.now();
        let mut deleted = self.deleted.lock().unwrap_or_else(|e| e.into_inner());
        if deleted.len() >= DELETED_CAPACITY {
            deleted.retain(|_, until| *until > now);
        }
        if deleted.len() < DELETED_CAPACITY {
            deleted.insert(id.as_str().to_owned(), until);
        }
    }

    fn forget_deleted(&self, id: &SessionId) {
        let mut deleted = self.deleted.lock().unwrap_or_else(|e| e.into_inner());
        if !deleted.is_empty() {
            deleted.remove(id.as_str());
        }
    }

    fn recently_deleted(&self, id: &SessionId) -> bool {
        let deleted = self.deleted.lock().unwrap_or_else(|e| e.into_inner());
        deleted
            .get(id.as_str())
            .is_some_and(|until| *until > self.breaker.now())
    }

    async fn pg_load(&self, id: &SessionId) -> Result<Option<Stored>, StoreError> {
        self.pg
            .find(id)
            .await
            .map_err(|e| self.pg_failed("load", e))
    }

    async fn load(&self, id: &SessionId) -> Result<Option<Stored>, StoreError> {
        if self.breaker.is_open() {
            return self.pg_load(id).await;
        }
        if self.breaker.in_window() {
            return self.window_load(id).await;
        }
        match self.redis.find(id).await {
            Ok(stored) => {
                self.redis_ok();
                Ok(stored)
            }
            Err(error) if error.is_redis_unavailable() => {
                self.redis_failed("load", &error);
                self.pg_load(id).await
            }
            Err(error) => Err(error),
        }
    }

    /// Failback window: both stores, the higher version wins.
    async fn window_load(&self, id: &SessionId) -> Result<Option<Stored>, StoreError> {
        let (redis, pg) = tokio::join!(self.redis.find(id), self.pg_load(id));
        let pg = pg?;
        let redis = match redis {
            Ok(stored) => {
                self.redis_ok();
                stored
            }
            Err(error) if error.is_redis_unavailable() => {
                self.redis_failed("load", &error);
                None
            }
            Err(error) if pg.is_none() => return Err(error),
            // A corrupt Redis copy does not matter when PostgreSQL has one.
            Err(_) => None,
        };
        if pg.is_none() && redis.is_some() && self.recently_deleted(id) {
            return Ok(None);
        }
        Ok(match (redis, pg) {
            (Some(r), Some(p)) => Some(if r.version > p.version { r } else { p }),
            (r, p) => r.or(p),
        })
    }

    /// A save Redis could not take: decided by PostgreSQL alone.
    async fn pg_save(
        &self,
        id: &SessionId,
        data: &str,
        expected: Option<u64>,
        ttl: Duration,
    ) -> Result<Saved, StoreError> {
        let saved = self
            .pg
            .catch_up(id, data, expected, ttl)
            .await
            .map_err(|e| self.pg_failed("save", e))?;
        if let Saved::Saved { .. } = saved {
            self.breaker.mark_pg_only(ttl);
            self.forget_deleted(id);
        }
        Ok(saved)
    }

    async fn save(
        &self,
        id: &SessionId,
        data: &str,
        expected: Option<u64>,
        ttl: Duration,
    ) -> Result<Saved, StoreError> {
        check_data(data)?;
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.breaker
            .longest_ttl
            .fetch_max(ttl_ms, Ordering::Relaxed);
        if self.breaker.is_open() {
            return self.pg_save(id, data, expected, ttl).await;
        }
        if self.breaker.in_window() {
            return self.window_save(id, data, expected, ttl).await;
        }
        match self.redis.cas(id, data, expected, ttl).await {
            Ok(Saved::Saved { version }) => {
                self.redis_ok();
                let expires_at = chrono::Utc::now()
                    + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
                self.mirror.upsert(id, data, version, expires_at);
                Ok(Saved::Saved { version })
            }
            Ok(Saved::Conflict) => {
                self.redis_ok();
                Ok(Saved::Conflict)
            }
            Err(error) if error.is_redis_unavailable() => {
                self.redis_failed("save", &error);
                self.pg_save(id, data, expected, ttl).await
            }
            Err(error) => Err(error),
        }
    }

    /// Failback window: PostgreSQL decides, then Redis is raised to the same
    /// version so it catches up.
    async fn window_save(
        &self,
        id: &SessionId,
        data: &str,
        expected: Option<u64>,
        ttl: Duration,
    ) -> Result<Saved, StoreError> {
        let saved = self
            .pg
            .catch_up(id, data, expected, ttl)
            .await
            .map_err(|e| self.pg_failed("save", e))?;
        let Saved::Saved { version } = saved else {
            return Ok(saved);
        };
        self.forget_deleted(id);
        match self.redis.raise(id, data, version, ttl).await {
            Ok(_) => self.redis_ok(),
            Err(error) => {
                if error.is_redis_unavailable() {
                    self.redis_failed("save", &error);
                }
                self.breaker.mark_pg_only(ttl);
            }
        }
        Ok(saved)
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        let pg_delete = || async {
            self.pg
                .remove(id)
                .await
                .map_err(|e| self.pg_failed("delete", e))
        };
        if self.breaker.is_open() {
            pg_delete().await?;
            self.remember_deleted(id);
            return Ok(());
        }
        // In the window PostgreSQL may hold the newest copy: delete it now.
        // Outside it the mirror deletes the copy a few milliseconds later.
        let window = self.breaker.in_window();
        if window {
            pg_delete().await?;
        }
        match self.redis.remove(id).await {
            Ok(()) => {
                self.redis_ok();
                self.forget_deleted(id);
                if !window {
                    self.mirror.delete(id);
                }
                Ok(())
            }
            Err(error) if error.is_redis_unavailable() => {
                self.redis_failed("delete", &error);
                if !window {
                    pg_delete().await?;
                }
                self.remember_deleted(id);
                Ok(())
            }
            Err(error) => Err(error),
        }
    }
}

/// While the breaker is open, PINGs Redis every `probe_interval` and closes
/// the breaker at the first answer.
async fn probe(inner: Arc<Inner>, shutdown: CancellationToken) {
    loop {
        if !inner.breaker.is_open() {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = inner.breaker.wake_prober.notified() => continue,
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(inner.settings.probe_interval) => {}
        }
        match inner.redis.ping().await {
            Ok(()) => inner.close(),
            Err(error) => {
                metrics::counter!(STORE_ERRORS, "store" => "redis", "op" => "probe").increment(1);
                tracing::debug!(%error, "redis still unavailable for sessions");
            }
        }
    }
}

impl SessionStore for FailoverStore {
    fn load<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<Option<Stored>, StoreError>> {
        Box::pin(self.inner.load(id))
    }

    fn save<'a>(
        &'a self,
        id: &'a SessionId,
        data: &'a str,
        expected: Option<u64>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Saved, StoreError>> {
        Box::pin(self.inner.save(id, data, expected, ttl))
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.inner.delete(id))
    }
}
