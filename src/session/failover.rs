//! [`FailoverStore`]: Redis first, PostgreSQL behind it, with a circuit
//! breaker, a write-behind mirror and a failback window. The rules are in the
//! [module documentation](super).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::failback;
use super::mirror::{self, Mirror};
use super::postgres::{DEFAULT_SWEEP_INTERVAL, PgStore, run_sweeper};
use super::redis::{DEFAULT_REDIS_TIMEOUT, RedisStore};
use super::{
    BoxFuture, HopLock, LockLoad, Locked, STORE_ACTIVE, STORE_ERRORS, STORE_FAILOVERS, Saved,
    SessionId, SessionStore, StoreError, Stored, check_data, describe_metrics, load_locked,
};
use crate::supervisor::Supervisor;

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
    /// How long a hop lock lasts if its holder never releases it (a crash).
    pub lock_lease: Duration,
    /// How long a hop waits for a lock another hop holds.
    pub lock_patience: Duration,
    /// How long the failback window lasts after Redis restarts (rule 5): a
    /// full session TTL, which `Application::build` sets. A node also stays
    /// in the window this long after it starts, until PostgreSQL's shared
    /// window replaces that guess (normally before the first hop). Zero (the
    /// default) trusts Redis at once, for tools and tests that know no other
    /// node wrote to PostgreSQL.
    pub restart_window: Duration,
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
/// A hop takes milliseconds, and one on PostgreSQL under load tens of them;
/// two seconds frees a crashed node's lock before the member, reading the
/// screen, sends the next hop.
pub const DEFAULT_LOCK_LEASE: Duration = Duration::from_secs(2);
/// A waiting duplicate answers within about a quarter of a second, well
/// inside the few seconds Africa's Talking waits for an answer.
pub const DEFAULT_LOCK_PATIENCE: Duration = Duration::from_millis(250);
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
            lock_lease: DEFAULT_LOCK_LEASE,
            lock_patience: DEFAULT_LOCK_PATIENCE,
            restart_window: Duration::ZERO,
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
    /// The Redis `run_id` recorded in PostgreSQL's shared window by this
    /// node; another one means Redis restarted, possibly from an older
    /// snapshot (rule 5).
    run_id: tokio::sync::Mutex<Option<String>>,
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
    /// Failback window end: the latest expiry of a write this node made to
    /// PostgreSQL but not Redis.
    pg_only_until: AtomicU64,
    /// How far ahead of `pg_only_until` PostgreSQL's shared window is known
    /// to reach: writes up to here need no record.
    recorded_until: AtomicU64,
    /// The shared window's end as PostgreSQL last told this node (rule 5);
    /// until it has, a full `restart_window` from the start.
    shared_until: AtomicU64,
    /// Longest TTL seen in a save, for how long a delete must be remembered.
    longest_ttl: AtomicU64,
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
        let now = self.now();
        now < self.pg_only_until.load(Ordering::Acquire)
            || now < self.shared_until.load(Ordering::Acquire)
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
        let restart_ms = u64::try_from(settings.restart_window.as_millis()).unwrap_or(u64::MAX);
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
                    recorded_until: AtomicU64::new(0),
                    // Rule 5: until PostgreSQL says otherwise, a node starts
                    // in the failback window.
                    shared_until: AtomicU64::new(restart_ms),
                    longest_ttl: AtomicU64::new(restart_ms),
                    epoch: Instant::now(),
                },
                deleted: Mutex::new(HashMap::new()),
                run_id: tokio::sync::Mutex::new(None),
            }),
        }
    }

    /// Starts the mirror writer, the Redis prober and the expired-row sweeper
    /// under `tasks`; they stop when `shutdown` is cancelled (the mirror
    /// writes what it holds first).
    pub fn start(&self, tasks: &Supervisor, shutdown: CancellationToken) {
        let inner = &self.inner;
        tasks.spawn(
            "session mirror",
            mirror::run(
                inner.mirror.clone(),
                inner.pg.pool().clone(),
                inner.settings.mirror_flush,
                inner.settings.mirror_batch,
                shutdown.clone(),
            ),
        );
        tasks.spawn("redis prober", probe(inner.clone(), shutdown.clone()));
        tasks.spawn(
            "session sweeper",
            run_sweeper(
                inner.pg.pool().clone(),
                inner.settings.sweep_interval,
                shutdown,
            ),
        );
    }

    /// [`FailoverStore::new`] then [`FailoverStore::start`].
    pub fn spawn(
        redis: RedisStore,
        pg: PgStore,
        settings: SessionSettings,
        tasks: &Supervisor,
        shutdown: CancellationToken,
    ) -> FailoverStore {
        let store = FailoverStore::new(redis, pg, settings);
        store.start(tasks, shutdown);
        store
    }

    /// Connects to Redis if not connected yet and learns the shared failback
    /// window (rule 5). When Redis does not answer, the breaker opens at
    /// once, so sessions go straight to PostgreSQL and the prober connects
    /// when Redis is back.
    pub async fn connect_redis(&self) -> Result<(), StoreError> {
        match probe_once(&self.inner).await {
            Ok(run_id) => {
                self.inner.saw_run_id(run_id).await;
                Ok(())
            }
            Err(error) => {
                metrics::counter!(STORE_ERRORS, "store" => "redis", "op" => "probe").increment(1);
                self.inner.open(&error, "connect");
                Err(error)
            }
        }
    }

    /// Takes the session's hop lock and loads it, waiting while another hop
    /// holds it, within the configured patience (see the module doc).
    pub async fn load_locked(&self, id: &SessionId) -> Result<Locked, StoreError> {
        let settings = &self.inner.settings;
        load_locked(self, id, settings.lock_lease, settings.lock_patience).await
    }

    /// Is Redis answering now? One PING under the store's timeout.
    pub async fn redis_answers(&self) -> bool {
        self.inner.redis.ping().await.is_ok()
    }

    /// The Redis connection, once there is one (for tests and tools).
    pub fn redis_connection(&self) -> Option<::redis::aio::ConnectionManager> {
        self.inner.redis.connection()
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
        self.open(error, op);
    }

    /// Opens the breaker: all session traffic to PostgreSQL until a probe
    /// answers.
    fn open(&self, error: &StoreError, op: &'static str) {
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
            tracing::warn!(%error, op, "session store failed over to postgres");
        }
    }

    /// Notes the `run_id` a probe saw and learns the shared window from
    /// PostgreSQL. A different one than the one recorded there means Redis
    /// restarted and may hold older copies than PostgreSQL (a snapshot from
    /// before the sessions moved on): the window opens for a full
    /// `restart_window`, for every node (rule 5). Without PostgreSQL, a
    /// restart this node saw itself opens its own window.
    async fn saw_run_id(&self, run_id: String) {
        let mut known = self.run_id.lock().await;
        if known.as_deref() == Some(run_id.as_str()) {
            return;
        }
        let longest_ttl = Duration::from_millis(self.breaker.longest_ttl.load(Ordering::Relaxed));
        let window = self.settings.restart_window.max(longest_ttl);
        match failback::adopt_run_id(self.pg.pool(), &run_id, window).await {
            Ok(remaining) => {
                let until = self
                    .breaker
                    .now()
                    .saturating_add(u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX));
                self.breaker.shared_until.store(until, Ordering::Release);
                if !remaining.is_zero() {
                    tracing::warn!(
                        window_secs = remaining.as_secs(),
                        "redis may hold stale sessions; they are compared with postgres until the window ends"
                    );
                }
                *known = Some(run_id);
            }
            Err(error) => {
                metrics::counter!(STORE_ERRORS, "store" => "postgres", "op" => "failback")
                    .increment(1);
                tracing::warn!(%error, "cannot read the shared failback window; will ask again");
                if known.is_some() {
                    self.breaker.mark_pg_only(window);
                }
            }
        }
    }

    /// Marks this node's window open for `ttl` and makes sure PostgreSQL's
    /// shared window covers it before the write it follows is relied on, so
    /// a node starting meanwhile compares both stores too. Records at most
    /// once per [`failback::RECORD_SLACK`] during an outage.
    async fn pg_only(&self, ttl: Duration) {
        self.breaker.mark_pg_only(ttl);
        let until = self.breaker.pg_only_until.load(Ordering::Acquire);
        if until <= self.breaker.recorded_until.load(Ordering::Acquire) {
            return;
        }
        let ahead = ttl + failback::RECORD_SLACK;
        match failback::record_until(self.pg.pool(), ahead).await {
            Ok(()) => {
                let recorded = self
                    .breaker
                    .now()
                    .saturating_add(u64::try_from(ahead.as_millis()).unwrap_or(u64::MAX));
                self.breaker
                    .recorded_until
                    .fetch_max(recorded, Ordering::AcqRel);
            }
            Err(error) => {
                metrics::counter!(STORE_ERRORS, "store" => "postgres", "op" => "failback")
                    .increment(1);
                tracing::warn!(%error, "cannot record the failback window in postgres");
            }
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

    async fn remember_deleted(&self, id: &SessionId) {
        let ttl = Duration::from_millis(self.breaker.longest_ttl.load(Ordering::Relaxed));
        self.pg_only(ttl).await;
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
        Ok(self.newest(id, redis, pg))
    }

    /// The copy to believe in the failback window: the higher version, and
    /// none when the session was deleted on PostgreSQL while Redis was away.
    fn newest(&self, id: &SessionId, redis: Option<Stored>, pg: Option<Stored>) -> Option<Stored> {
        if pg.is_none() && redis.is_some() && self.recently_deleted(id) {
            return None;
        }
        match (redis, pg) {
            (Some(r), Some(p)) => Some(if r.version > p.version { r } else { p }),
            (r, p) => r.or(p),
        }
    }

    async fn pg_lock_load(&self, id: &SessionId, lease: Duration) -> Result<LockLoad, StoreError> {
        self.pg
            .lock_and_find(id, lease)
            .await
            .map_err(|e| self.pg_failed("load", e))
    }

    /// [`SessionStore::lock_load`] under the failover rules: the lock is taken
    /// on the store the load is served from (Redis in the window).
    async fn lock_load(&self, id: &SessionId, lease: Duration) -> Result<LockLoad, StoreError> {
        if self.breaker.is_open() {
            return self.pg_lock_load(id, lease).await;
        }
        if self.breaker.in_window() {
            return self.window_lock_load(id, lease).await;
        }
        match self.redis.lock_and_find(id, lease).await {
            Ok(locked) => {
                self.redis_ok();
                Ok(locked)
            }
            Err(error) if error.is_redis_unavailable() => self.lock_failed(id, lease, &error).await,
            Err(error) => Err(error),
        }
    }

    /// A Redis lock call failed. Unlike a load, it is not answered from
    /// PostgreSQL while the breaker is closed: a lock there would not exclude
    /// a hop holding one on Redis (a timeout under load is not an outage).
    /// The failure counts towards the breaker and the caller tries again;
    /// once the breaker is open, locks are taken on PostgreSQL.
    async fn lock_failed(
        &self,
        id: &SessionId,
        lease: Duration,
        error: &StoreError,
    ) -> Result<LockLoad, StoreError> {
        self.redis_failed("load", error);
        if self.breaker.is_open() {
            self.pg_lock_load(id, lease).await
        } else {
            Ok(LockLoad::Busy)
        }
    }

    /// Failback window: the lock on Redis, the newest copy of both stores.
    async fn window_lock_load(
        &self,
        id: &SessionId,
        lease: Duration,
    ) -> Result<LockLoad, StoreError> {
        let (redis, pg) = tokio::join!(self.redis.lock_and_find(id, lease), self.pg_load(id));
        let pg = match (pg, &redis) {
            (Ok(pg), _) => pg,
            (Err(error), Ok(LockLoad::Locked { lock, .. })) => {
                // No answer without PostgreSQL: free the lock for the retry.
                self.release_redis(id, lock).await;
                return Err(error);
            }
            (Err(error), _) => return Err(error),
        };
        match redis {
            Ok(LockLoad::Locked { lock, stored }) => {
                self.redis_ok();
                let stored = self.newest(id, stored, pg);
                Ok(LockLoad::Locked { lock, stored })
            }
            Ok(LockLoad::Busy) => {
                self.redis_ok();
                Ok(LockLoad::Busy)
            }
            Err(error) if error.is_redis_unavailable() => self.lock_failed(id, lease, &error).await,
            Err(error) if pg.is_none() => Err(error),
            // A corrupt Redis copy does not matter when PostgreSQL has one.
            Err(_) => self.pg_lock_load(id, lease).await,
        }
    }

    /// A save Redis could not take: decided by PostgreSQL alone.
    async fn pg_save(
        &self,
        id: &SessionId,
        data: &str,
        expected: Option<u64>,
        ttl: Duration,
        lock: Option<&HopLock>,
    ) -> Result<Saved, StoreError> {
        // Recorded before the write: a node that starts after it must find
        // the window open, even if this one dies in between.
        self.pg_only(ttl).await;
        let saved = self
            .pg
            .catch_up(
                id,
                data,
                expected,
                ttl,
                held_on(lock, ActiveStore::Postgres),
            )
            .await
            .map_err(|e| self.pg_failed("save", e))?;
        if let Saved::Saved { .. } = saved {
            self.forget_deleted(id);
        }
        Ok(saved)
    }

    /// Saves under the failover rules and releases `lock`: in the same call
    /// when the save goes to the store holding it, else with a call of its
    /// own (or, when Redis is down, by letting it expire).
    async fn save(
        &self,
        id: &SessionId,
        data: &str,
        expected: Option<u64>,
        ttl: Duration,
        lock: Option<&HopLock>,
    ) -> Result<Saved, StoreError> {
        check_data(data)?;
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.breaker
            .longest_ttl
            .fetch_max(ttl_ms, Ordering::Relaxed);
        if self.breaker.is_open() {
            // A lock on Redis is left to expire: Redis is not answering.
            return self.pg_save(id, data, expected, ttl, lock).await;
        }
        if self.breaker.in_window() {
            return self.window_save(id, data, expected, ttl, lock).await;
        }
        let redis_lock = held_on(lock, ActiveStore::Redis);
        match self.redis.cas(id, data, expected, ttl, redis_lock).await {
            Ok(saved) => {
                self.redis_ok();
                if let Saved::Saved { version } = saved {
                    let expires_at = chrono::Utc::now()
                        + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::MAX);
                    self.mirror.upsert(id, data, version, expires_at);
                }
                if let Some(lock) = held_on(lock, ActiveStore::Postgres) {
                    // Locked while the breaker was open; it closed since.
                    self.release_pg(id, lock).await;
                }
                Ok(saved)
            }
            Err(error) if error.is_redis_unavailable() => {
                self.redis_failed("save", &error);
                self.pg_save(id, data, expected, ttl, lock).await
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
        lock: Option<&HopLock>,
    ) -> Result<Saved, StoreError> {
        let pg_lock = held_on(lock, ActiveStore::Postgres);
        let redis_lock = held_on(lock, ActiveStore::Redis);
        let saved = self
            .pg
            .catch_up(id, data, expected, ttl, pg_lock)
            .await
            .map_err(|e| self.pg_failed("save", e))?;
        let Saved::Saved { version } = saved else {
            if let Some(lock) = redis_lock {
                self.release_redis(id, lock).await;
            }
            return Ok(saved);
        };
        self.forget_deleted(id);
        match self.redis.raise(id, data, version, ttl, redis_lock).await {
            Ok(_) => self.redis_ok(),
            Err(error) => {
                if error.is_redis_unavailable() {
                    self.redis_failed("save", &error);
                }
                self.pg_only(ttl).await;
            }
        }
        Ok(saved)
    }

    /// Releases a lock without saving; a lock on a Redis that is not
    /// answering is left to expire.
    async fn unlock(&self, id: &SessionId, lock: &HopLock) {
        match lock.held_on {
            ActiveStore::Redis if !self.breaker.is_open() => self.release_redis(id, lock).await,
            ActiveStore::Redis => {}
            ActiveStore::Postgres => self.release_pg(id, lock).await,
        }
    }

    /// Best effort: a lock that cannot be released expires by itself.
    async fn release_redis(&self, id: &SessionId, lock: &HopLock) {
        match self.redis.release(id, lock).await {
            Ok(()) => self.redis_ok(),
            Err(error) if error.is_redis_unavailable() => self.redis_failed("unlock", &error),
            Err(error) => tracing::warn!(%error, "cannot release a session lock in redis"),
        }
    }

    /// Best effort, as [`Inner::release_redis`].
    async fn release_pg(&self, id: &SessionId, lock: &HopLock) {
        if let Err(error) = self.pg.release(id, lock).await {
            let error = self.pg_failed("unlock", error);
            tracing::warn!(%error, "cannot release a session lock in postgres");
        }
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
            self.remember_deleted(id).await;
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
                self.remember_deleted(id).await;
                Ok(())
            }
            Err(error) => Err(error),
        }
    }
}

/// Every `probe_interval`: connects to Redis if the node started without it,
/// reads its `run_id` (a new one opens the failback window, rule 5), closes
/// the breaker when Redis answers and counts a failure when it does not, so
/// an idle node notices an outage as a busy one does.
async fn probe(inner: Arc<Inner>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(inner.settings.probe_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let answer = tokio::select! {
            _ = shutdown.cancelled() => return,
            answer = probe_once(&inner) => answer,
        };
        match answer {
            Ok(run_id) => {
                inner.saw_run_id(run_id).await;
                if inner.breaker.is_open() {
                    inner.close();
                } else {
                    inner.redis_ok();
                }
            }
            Err(error) if inner.breaker.is_open() => {
                metrics::counter!(STORE_ERRORS, "store" => "redis", "op" => "probe").increment(1);
                tracing::debug!(%error, "redis still unavailable for sessions");
            }
            Err(error) => inner.redis_failed("probe", &error),
        }
    }
}

async fn probe_once(inner: &Inner) -> Result<String, StoreError> {
    inner.redis.connect().await?;
    inner.redis.run_id().await
}

/// `lock` if it lives on `store`.
fn held_on(lock: Option<&HopLock>, store: ActiveStore) -> Option<&HopLock> {
    lock.filter(|lock| lock.held_on == store)
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
        Box::pin(self.inner.save(id, data, expected, ttl, None))
    }

    fn delete<'a>(&'a self, id: &'a SessionId) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.inner.delete(id))
    }

    fn lock_load<'a>(
        &'a self,
        id: &'a SessionId,
        lease: Duration,
    ) -> BoxFuture<'a, Result<LockLoad, StoreError>> {
        Box::pin(self.inner.lock_load(id, lease))
    }

    fn save_unlock<'a>(
        &'a self,
        id: &'a SessionId,
        data: &'a str,
        expected: Option<u64>,
        ttl: Duration,
        lock: HopLock,
    ) -> BoxFuture<'a, Result<Saved, StoreError>> {
        Box::pin(async move { self.inner.save(id, data, expected, ttl, Some(&lock)).await })
    }

    /// Best effort: never fails, a lock that cannot be released expires.
    fn unlock<'a>(
        &'a self,
        id: &'a SessionId,
        lock: HopLock,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            self.inner.unlock(id, &lock).await;
            Ok(())
        })
    }
}
