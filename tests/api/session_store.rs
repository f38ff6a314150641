//! The session stores against real Redis and PostgreSQL: compare-and-set,
//! expiry, concurrency, and the failover store through a Redis outage made
//! with a link-cutting proxy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pesachama::session::{
    ActiveStore, FailoverStore, PgStore, RedisStore, Saved, SessionId, SessionSettings,
    SessionStore, StoreError, Stored, delete_expired,
};
use pesachama::supervisor::Supervisor;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::helpers::{TestDb, servers};
use crate::proxy::{ChaosProxy, redis_socket};

pub const TTL: Duration = Duration::from_secs(180);

/// The same connection settings as the app (`app.rs`).
pub async fn redis_conn(url: &str) -> ConnectionManager {
    let client = redis::Client::open(url).unwrap();
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Duration::from_secs(1))
        .set_response_timeout(Duration::from_millis(250))
        .set_number_of_retries(2);
    ConnectionManager::new_with_config(client, config)
        .await
        .unwrap()
}

pub fn prefix() -> String {
    format!("t{}:", Uuid::new_v4().simple())
}

pub fn id(name: &str) -> SessionId {
    SessionId::parse(&format!("ATUid_{name}")).unwrap()
}

async fn redis_store() -> RedisStore {
    RedisStore::new(redis_conn(&servers().redis).await, prefix())
}

pub fn json(step: u32) -> String {
    format!(r#"{{"screen":"main","step":{step}}}"#)
}

fn step_of(stored: &Stored) -> u64 {
    let value: serde_json::Value = serde_json::from_str(&stored.data).unwrap();
    value["step"].as_u64().unwrap()
}

/// Polls `check` every 20 ms until it holds or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn check_compare_and_set(store: &dyn SessionStore) {
    let s = id("cas");
    assert_eq!(store.load(&s).await.unwrap(), None);

    let created = store.save(&s, &json(1), None, TTL).await.unwrap();
    assert_eq!(created, Saved::Saved { version: 1 });
    assert_eq!(
        store.save(&s, &json(9), None, TTL).await.unwrap(),
        Saved::Conflict,
        "a second create must lose"
    );

    let updated = store.save(&s, &json(2), Some(1), TTL).await.unwrap();
    assert_eq!(updated, Saved::Saved { version: 2 });
    assert_eq!(
        store.save(&s, &json(9), Some(1), TTL).await.unwrap(),
        Saved::Conflict,
        "a stale version must lose"
    );
    assert_eq!(
        store.save(&s, &json(9), Some(7), TTL).await.unwrap(),
        Saved::Conflict,
        "a future version must lose"
    );

    let stored = store.load(&s).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(step_of(&stored), 2);

    store.delete(&s).await.unwrap();
    assert_eq!(store.load(&s).await.unwrap(), None);
    store.delete(&s).await.unwrap();
    assert_eq!(
        store.save(&s, &json(1), None, TTL).await.unwrap(),
        Saved::Saved { version: 1 },
        "a deleted session can start again"
    );
}

async fn check_expiry(store: &dyn SessionStore) {
    let s = id("expiry");
    let short = Duration::from_millis(300);
    store.save(&s, &json(1), None, short).await.unwrap();
    assert!(store.load(&s).await.unwrap().is_some());
    assert!(
        eventually(Duration::from_secs(3), || async {
            store.load(&s).await.unwrap().is_none()
        })
        .await,
        "session did not expire"
    );
    assert_eq!(
        store.save(&s, &json(2), Some(1), TTL).await.unwrap(),
        Saved::Conflict,
        "an expired session cannot be updated"
    );
    assert_eq!(
        store.save(&s, &json(1), None, TTL).await.unwrap(),
        Saved::Saved { version: 1 },
        "an expired session id can be created again"
    );
}

async fn check_one_concurrent_winner(store: Arc<dyn SessionStore>) {
    let s = id("race");
    store.save(&s, &json(1), None, TTL).await.unwrap();
    let mut racers = Vec::new();
    for step in 0..16 {
        let store = store.clone();
        let s = s.clone();
        racers.push(tokio::spawn(async move {
            store
                .save(&s, &json(100 + step), Some(1), TTL)
                .await
                .unwrap()
        }));
    }
    let mut wins = 0;
    for racer in racers {
        if let Saved::Saved { version } = racer.await.unwrap() {
            assert_eq!(version, 2);
            wins += 1;
        }
    }
    assert_eq!(wins, 1, "exactly one of the concurrent saves must win");
}

#[tokio::test]
async fn redis_store_compare_and_set_expiry_and_races() {
    let store = redis_store().await;
    check_compare_and_set(&store).await;
    check_expiry(&store).await;
    check_one_concurrent_winner(Arc::new(store)).await;
}

#[tokio::test]
async fn postgres_store_compare_and_set_expiry_and_races() {
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool().await);
    check_compare_and_set(&store).await;
    check_expiry(&store).await;
    check_one_concurrent_winner(Arc::new(store)).await;
}

#[tokio::test]
async fn failover_store_keeps_the_same_contract_while_redis_is_up() {
    let db = TestDb::new().await;
    let (store, _running) = failover(&db, &servers().redis, SessionSettings::default()).await;
    check_compare_and_set(&store).await;
    check_expiry(&store).await;
    check_one_concurrent_winner(Arc::new(store.clone())).await;
    assert_eq!(store.active_store(), ActiveStore::Redis);
}

/// Stops the store's tasks (and waits for them) when dropped.
pub struct Running {
    shutdown: CancellationToken,
    tasks: Supervisor,
}

impl Running {
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        assert_eq!(
            self.tasks.drain(Duration::from_secs(5)).await,
            Ok(true),
            "session store tasks stop"
        );
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn failover(
    db: &TestDb,
    redis_url: &str,
    settings: SessionSettings,
) -> (FailoverStore, Running) {
    failover_over(db, redis_url, &prefix(), settings).await
}

/// [`failover`] over the Redis keys under `prefix` (another node's).
pub async fn failover_over(
    db: &TestDb,
    redis_url: &str,
    prefix: &str,
    settings: SessionSettings,
) -> (FailoverStore, Running) {
    let redis = RedisStore::new(redis_conn(redis_url).await, prefix);
    let pg = PgStore::new(db.pool().await);
    let shutdown = CancellationToken::new();
    let tasks = Supervisor::new();
    let store = FailoverStore::spawn(redis, pg, settings, &tasks, shutdown.clone());
    (store, Running { shutdown, tasks })
}

/// What PostgreSQL holds for `s`, read directly.
async fn pg_version(pool: &PgPool, s: &SessionId) -> Option<u64> {
    PgStore::new(pool.clone())
        .load(s)
        .await
        .unwrap()
        .map(|stored| stored.version)
}

#[tokio::test]
async fn a_session_begun_on_redis_finishes_on_postgres_and_comes_back() {
    // Arrange: Redis behind a proxy the test can cut.
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let proxied = format!("redis://{}", proxy.addr);
    let settings = SessionSettings {
        probe_interval: Duration::from_millis(100),
        ..SessionSettings::default()
    };
    let (store, _running) = failover(&db, &proxied, settings).await;
    // The same Redis, not through the proxy, to look behind the store's back.
    let prefix_view = store_redis_view(&store).await;
    let s = id("failover");

    // A session begins on Redis and is mirrored to PostgreSQL.
    assert_eq!(
        store.save(&s, &json(1), None, TTL).await.unwrap(),
        Saved::Saved { version: 1 }
    );
    assert_eq!(
        store.save(&s, &json(2), Some(1), TTL).await.unwrap(),
        Saved::Saved { version: 2 }
    );
    assert!(
        eventually(Duration::from_secs(2), || async {
            pg_version(&pool, &s).await == Some(2)
        })
        .await,
        "the mirror did not copy version 2 to postgres"
    );

    // Act: Redis goes away mid-session.
    proxy.cut();
    let stored = store
        .load(&s)
        .await
        .expect("load is answered from postgres");
    let stored = stored.expect("the session survives on postgres");
    assert_eq!((stored.version, step_of(&stored)), (2, 2));
    assert_eq!(
        store.save(&s, &json(3), Some(2), TTL).await.unwrap(),
        Saved::Saved { version: 3 }
    );
    let stored = store.load(&s).await.unwrap().unwrap();
    assert_eq!(stored.version, 3);
    // Three failed Redis calls in a row: the breaker is open.
    assert_eq!(store.active_store(), ActiveStore::Postgres);
    // Open: no Redis attempt, so no added latency.
    let started = Instant::now();
    store.load(&s).await.unwrap().unwrap();
    assert!(started.elapsed() < Duration::from_millis(40));
    // Redis still holds the stale version 2.
    assert_eq!(prefix_view.load(&s).await.unwrap().unwrap().version, 2);

    // Redis comes back: the breaker closes within a couple of seconds.
    proxy.restore();
    assert!(
        eventually(Duration::from_secs(3), || async {
            store.active_store() == ActiveStore::Redis
        })
        .await,
        "breaker did not close after Redis came back"
    );
    assert!(store.in_failback_window());

    // Assert: the newer PostgreSQL copy wins over Redis's stale one, the
    // session continues, and Redis catches up.
    let stored = store.load(&s).await.unwrap().unwrap();
    assert_eq!((stored.version, step_of(&stored)), (3, 3));
    assert_eq!(
        store.save(&s, &json(4), Some(3), TTL).await.unwrap(),
        Saved::Saved { version: 4 }
    );
    let in_redis = prefix_view.load(&s).await.unwrap().unwrap();
    assert_eq!((in_redis.version, step_of(&in_redis)), (4, 4));
    assert_eq!(pg_version(&pool, &s).await, Some(4));
    assert_eq!(
        store.save(&s, &json(9), Some(3), TTL).await.unwrap(),
        Saved::Conflict,
        "the compare-and-set still holds in the failback window"
    );
}

/// A plain `RedisStore` over the failover store's keys, through the same
/// Redis but not through the proxy.
async fn store_redis_view(store: &FailoverStore) -> RedisStore {
    RedisStore::new(redis_conn(&servers().redis).await, store_prefix(store))
}

/// Reads the prefix back from a key the store would use.
pub fn store_prefix(store: &FailoverStore) -> String {
    let key = store.redis_key(&SessionId::parse("x").unwrap());
    key.strip_suffix("ussd:x").unwrap().to_owned()
}

#[tokio::test]
async fn one_failed_redis_save_does_not_let_the_stale_redis_copy_win() {
    // A high threshold keeps the breaker closed: a single blip.
    let db = TestDb::new().await;
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let proxied = format!("redis://{}", proxy.addr);
    let settings = SessionSettings {
        failure_threshold: 100,
        ..SessionSettings::default()
    };
    let (store, _running) = failover(&db, &proxied, settings).await;
    let s = id("blip");
    store.save(&s, &json(1), None, TTL).await.unwrap();
    store.save(&s, &json(2), Some(1), TTL).await.unwrap();

    proxy.cut();
    // Expected 2 while PostgreSQL may still hold 1: catch-up CAS accepts.
    assert_eq!(
        store.save(&s, &json(3), Some(2), TTL).await.unwrap(),
        Saved::Saved { version: 3 }
    );
    assert_eq!(store.active_store(), ActiveStore::Redis);
    proxy.restore();

    // Redis answers again and still has version 2; the store must not
    // believe it.
    let fresh = eventually(Duration::from_secs(3), || async {
        matches!(store.load(&s).await, Ok(Some(Stored { version: 3, .. })))
    })
    .await;
    assert!(fresh, "load returned Redis's stale copy or failed");
    assert!(store.in_failback_window());
    assert_eq!(
        store.save(&s, &json(4), Some(3), TTL).await.unwrap(),
        Saved::Saved { version: 4 }
    );
}

#[tokio::test]
async fn a_session_deleted_during_the_outage_stays_deleted_after_it() {
    let db = TestDb::new().await;
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let proxied = format!("redis://{}", proxy.addr);
    let settings = SessionSettings {
        failure_threshold: 1,
        probe_interval: Duration::from_millis(100),
        ..SessionSettings::default()
    };
    let (store, _running) = failover(&db, &proxied, settings).await;
    let pool = db.pool().await;
    let s = SessionId::parse(&format!("resume:{}", Uuid::new_v4())).unwrap();
    store.save(&s, &json(1), None, TTL).await.unwrap();
    assert!(
        eventually(Duration::from_secs(2), || async {
            pg_version(&pool, &s).await == Some(1)
        })
        .await
    );

    proxy.cut();
    assert_eq!(store.load(&s).await.unwrap().map(|x| x.version), Some(1));
    assert_eq!(store.active_store(), ActiveStore::Postgres);
    store.delete(&s).await.unwrap();
    assert_eq!(store.load(&s).await.unwrap(), None);

    proxy.restore();
    assert!(
        eventually(Duration::from_secs(3), || async {
            store.active_store() == ActiveStore::Redis
        })
        .await
    );
    assert_eq!(
        store.load(&s).await.unwrap(),
        None,
        "Redis's stale copy came back"
    );
    assert_eq!(
        store.save(&s, &json(1), None, TTL).await.unwrap(),
        Saved::Saved { version: 1 }
    );
}

#[tokio::test]
async fn the_mirror_writes_what_it_holds_at_shutdown() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let settings = SessionSettings {
        // Longer than the test: only the shutdown flush can write.
        mirror_flush: Duration::from_secs(60),
        ..SessionSettings::default()
    };
    let (store, running) = failover(&db, &servers().redis, settings).await;
    let ids: Vec<_> = (0..50).map(|n| id(&format!("shutdown{n}"))).collect();
    for s in &ids {
        store.save(s, &json(1), None, TTL).await.unwrap();
    }
    assert_eq!(store.mirror_pending(), 50);
    running.stop().await;
    assert_eq!(store.mirror_pending(), 0);
    for s in &ids {
        assert_eq!(pg_version(&pool, s).await, Some(1));
    }
}

#[tokio::test]
async fn the_sweeper_deletes_only_expired_rows() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let store = PgStore::new(pool.clone());
    store
        .save(&id("old"), &json(1), None, Duration::from_millis(1))
        .await
        .unwrap();
    store.save(&id("live"), &json(1), None, TTL).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let swept = delete_expired(&pool).await.unwrap();
    assert_eq!(swept, pesachama::session::Sweep::Deleted(1));
    let left: Vec<String> = sqlx::query_scalar("select session_id from ussd_sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(left, vec!["ATUid_live".to_owned()]);
}

#[tokio::test]
async fn the_sweeper_clears_expired_rows_over_several_batches() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    sqlx::query(
        "insert into ussd_sessions (session_id, state, version, expires_at)
         select 'ATUid_old' || g, '{}', 1, now() - interval '1 minute'
           from generate_series(1, 12000) g
         union all
         select 'ATUid_live' || g, '{}', 1, now() + interval '3 minutes'
           from generate_series(1, 100) g",
    )
    .execute(&pool)
    .await
    .unwrap();
    let swept = delete_expired(&pool).await.unwrap();
    assert_eq!(swept, pesachama::session::Sweep::Deleted(12_000));
    let (live, all): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where expires_at > now()), count(*) from ussd_sessions",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((live, all), (100, 100));
}

#[tokio::test]
async fn hostile_session_ids_are_refused() {
    assert!(SessionId::parse("").is_err());
    assert!(SessionId::parse(&"A".repeat(129)).is_err());
    for bad in [
        "ATUid 1",
        "ATUid_1\r\n",
        "../../etc",
        "ATUid*1",
        "x;DEL *",
        "ü",
    ] {
        assert!(SessionId::parse(bad).is_err(), "{bad:?} accepted");
    }
    assert!(SessionId::parse(&"A".repeat(128)).is_ok());
}

#[tokio::test]
async fn a_corrupted_redis_value_is_an_error_not_a_panic() {
    let db = TestDb::new().await;
    let (store, _running) = failover(&db, &servers().redis, SessionSettings::default()).await;
    let plain = RedisStore::new(redis_conn(&servers().redis).await, store_prefix(&store));
    let mut raw = redis_conn(&servers().redis).await;

    // A string where a hash belongs.
    let s = id("junk-string");
    let _: () = redis::cmd("SET")
        .arg(plain.key(&s))
        .arg("\u{0}\u{ff}junk")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(matches!(
        plain.load(&s).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(matches!(
        plain.save(&s, &json(1), Some(1), TTL).await,
        Err(StoreError::Corrupt { .. })
    ));
    assert!(store.load(&s).await.is_err());
    assert!(store.save(&s, &json(1), None, TTL).await.is_err());

    // A hash with a version that is not a number, and one missing a field.
    let s = id("junk-hash");
    let _: () = redis::cmd("HSET")
        .arg(plain.key(&s))
        .arg("v")
        .arg("not-a-number")
        .arg("d")
        .arg("{}")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(matches!(
        plain.load(&s).await,
        Err(StoreError::Corrupt { .. })
    ));
    let s = id("half-hash");
    let _: () = redis::cmd("HSET")
        .arg(plain.key(&s))
        .arg("d")
        .arg("{}")
        .query_async(&mut raw)
        .await
        .unwrap();
    assert!(matches!(
        plain.load(&s).await,
        Err(StoreError::Corrupt { .. })
    ));

    // Corruption is not an outage: the breaker stays closed.
    for _ in 0..5 {
        let _ = store.load(&s).await;
    }
    assert_eq!(store.active_store(), ActiveStore::Redis);
}

#[tokio::test]
async fn data_that_is_not_json_is_refused_by_every_store() {
    let db = TestDb::new().await;
    let (store, _running) = failover(&db, &servers().redis, SessionSettings::default()).await;
    let pg = PgStore::new(db.pool().await);
    let redis = redis_store().await;
    // A raw NUL is not JSON (and PostgreSQL's text could not hold it).
    for bad in ["{not json", "{\"pin\":\"\u{0}\"}", ""] {
        let stores: [&dyn SessionStore; 3] = [&store, &pg, &redis];
        for each in stores {
            assert!(
                matches!(
                    each.save(&id("bad"), bad, None, TTL).await,
                    Err(StoreError::InvalidData(_))
                ),
                "{bad:?} accepted"
            );
        }
    }
    // The JSON escape of a NUL is plain text: every store keeps it as sent.
    let escaped = r#"{"pin":"\u0000"}"#;
    let stores: [&dyn SessionStore; 3] = [&store, &pg, &redis];
    for (n, each) in stores.into_iter().enumerate() {
        let s = id(&format!("escaped{n}"));
        each.save(&s, escaped, None, TTL).await.unwrap();
        assert_eq!(each.load(&s).await.unwrap().unwrap().data, escaped);
    }
}

#[tokio::test]
async fn metrics_carry_help_lines_and_count_a_failover() {
    let handle = pesachama::telemetry::metrics_handle();
    let db = TestDb::new().await;
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let proxied = format!("redis://{}", proxy.addr);
    let settings = SessionSettings {
        failure_threshold: 1,
        ..SessionSettings::default()
    };
    let (store, _running) = failover(&db, &proxied, settings).await;
    proxy.cut();
    let _ = store.load(&id("metrics")).await.unwrap();
    assert_eq!(store.active_store(), ActiveStore::Postgres);

    let text = handle.render();
    for name in [
        "pesachama_session_store_active",
        "pesachama_session_store_failovers_total",
        "pesachama_session_store_errors_total",
    ] {
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "no HELP for {name}"
        );
    }
    assert!(text.contains(r#"pesachama_session_store_failovers_total{to="postgres"}"#));
    assert!(text.contains(r#"pesachama_session_store_errors_total{store="redis",op="load"}"#));
    assert!(
        !text.contains("ATUid_metrics"),
        "a session id leaked into metrics"
    );
}

/// Latency of each store's calls, one at a time. Not an assertion: run with
/// `cargo test --test api measure_session_store_latency -- --ignored --nocapture`
/// and read the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn measure_session_store_latency() {
    const N: u32 = 2_000;
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let data = format!(
        r#"{{"engine":{{"screen":"balance_pin","history":["main","account"]}},"last_text":"1*2","pad":"{}"}}"#,
        "x".repeat(300)
    );

    let redis = redis_store().await;
    report("redis save", N, |n| {
        let (redis, data) = (&redis, &data);
        async move {
            let s = id(&format!("r{n}"));
            redis.save(&s, data, None, TTL).await.unwrap();
        }
    })
    .await;
    report("redis load", N, |n| {
        let redis = &redis;
        async move {
            redis.load(&id(&format!("r{n}"))).await.unwrap().unwrap();
        }
    })
    .await;

    for table in ["logged", "unlogged"] {
        sqlx::query(&format!("alter table ussd_sessions set {table}"))
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("truncate ussd_sessions")
            .execute(&pool)
            .await
            .unwrap();
        let pg = PgStore::new(pool.clone());
        report(&format!("postgres ({table}) create"), N, |n| {
            let (pg, data) = (&pg, &data);
            async move {
                pg.save(&id(&format!("p{n}")), data, None, TTL)
                    .await
                    .unwrap();
            }
        })
        .await;
        report(&format!("postgres ({table}) update"), N, |n| {
            let (pg, data) = (&pg, &data);
            async move {
                let s = id(&format!("p{n}"));
                pg.save(&s, data, Some(1), TTL).await.unwrap();
            }
        })
        .await;
        report(&format!("postgres ({table}) load"), N, |n| {
            let pg = &pg;
            async move {
                pg.load(&id(&format!("p{n}"))).await.unwrap().unwrap();
            }
        })
        .await;
    }

    let (store, _running) = failover(&db, &servers().redis, SessionSettings::default()).await;
    report("failover save (redis + mirror queue)", N, |n| {
        let (store, data) = (&store, &data);
        async move {
            store
                .save(&id(&format!("f{n}")), data, None, TTL)
                .await
                .unwrap();
        }
    })
    .await;
    report("failover load (redis)", N, |n| {
        let store = &store;
        async move {
            store.load(&id(&format!("f{n}"))).await.unwrap().unwrap();
        }
    })
    .await;
    let started = Instant::now();
    assert!(
        eventually(Duration::from_secs(10), || async {
            store.mirror_pending() == 0
        })
        .await
    );
    println!(
        "mirror drained {N} sessions {:?} after the last save",
        started.elapsed()
    );

    // Under load: 32 hops at a time through the failover store, the mirror
    // copying every save; WAL written by the whole cluster meanwhile.
    for table in ["logged", "unlogged"] {
        sqlx::query(&format!("alter table ussd_sessions set {table}"))
            .execute(&pool)
            .await
            .unwrap();
        let wal = || async {
            sqlx::query_scalar::<_, i64>("select (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")
                .fetch_one(&pool)
                .await
                .unwrap()
        };
        let wal_before = wal().await;
        let started = Instant::now();
        let mut workers = Vec::new();
        for w in 0..32 {
            let (store, data) = (store.clone(), data.clone());
            workers.push(tokio::spawn(async move {
                for n in 0..500u64 {
                    let s = id(&format!("{table}{w}"));
                    let expected = if n == 0 { None } else { Some(n) };
                    store.save(&s, &data, expected, TTL).await.unwrap();
                }
            }));
        }
        for worker in workers {
            worker.await.unwrap();
        }
        let saves = started.elapsed();
        assert!(
            eventually(Duration::from_secs(10), || async {
                store.mirror_pending() == 0
            })
            .await
        );
        println!(
            "16000 saves, 32 at a time, {table}: {:.0} saves/s, mirror done after {:?}, WAL {} kB",
            16_000.0 / saves.as_secs_f64(),
            started.elapsed(),
            (wal().await - wal_before) / 1024
        );
    }
}

async fn report<F, Fut>(what: &str, n: u32, mut call: F)
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut took = Vec::with_capacity(n as usize);
    for i in 0..n {
        let started = Instant::now();
        call(i).await;
        took.push(started.elapsed());
    }
    took.sort();
    let at = |q: f64| took[((took.len() as f64 - 1.0) * q) as usize].as_micros();
    println!(
        "{what:<40} p50 {:>6} µs  p99 {:>6} µs  max {:>6} µs",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}
