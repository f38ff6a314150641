//! The hop lock at the store level, on Redis, on PostgreSQL and through the
//! failover store: two hops of one session serialise, a dead holder's lock
//! frees itself, and a holder whose lease ran out cannot free its successor's.

use std::sync::Arc;
use std::time::{Duration, Instant};

use pesachama::session::{
    FailoverStore, LockLoad, Locked, PgStore, RedisStore, Saved, SessionSettings, SessionStore,
    load_locked,
};

use crate::failback::redis_restarted_since_last_seen;
use crate::helpers::{TestDb, servers};
use crate::session_store::{TTL, failover, id, json, prefix, redis_conn};

/// Long enough for a test step, short enough to watch it expire.
const LEASE: Duration = Duration::from_millis(300);

async fn take(store: &dyn SessionStore, name: &str) -> pesachama::session::HopLock {
    match store.lock_load(&id(name), LEASE).await.unwrap() {
        LockLoad::Locked { lock, .. } => lock,
        LockLoad::Busy => panic!("{name}: the lock should be free"),
    }
}

/// Runs every check against one store.
async fn check_lock(store: Arc<dyn SessionStore>) {
    check_a_waiting_hop_loads_what_the_holder_saved(store.clone()).await;
    check_a_busy_session_answers_from_the_stored_copy(&*store).await;
    check_a_dead_holders_lock_expires(&*store).await;
    check_a_late_release_leaves_the_successors_lock(&*store).await;
    check_a_lock_on_a_new_session_is_not_a_session(&*store).await;
}

async fn check_a_waiting_hop_loads_what_the_holder_saved(store: Arc<dyn SessionStore>) {
    let s = id("serial");
    let first = take(&*store, "serial").await;
    let waiting = {
        let store = store.clone();
        let s = s.clone();
        tokio::spawn(async move {
            load_locked(&*store, &s, LEASE, Duration::from_secs(5))
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "the second hop waits for the first");
    let saved = store
        .save_unlock(&s, &json(1), None, TTL, first)
        .await
        .unwrap();
    assert_eq!(saved, Saved::Saved { version: 1 });
    match waiting.await.unwrap() {
        Locked::Held { lock, stored } => {
            assert_eq!(stored.map(|s| s.version), Some(1), "it sees the save");
            store.unlock(&s, lock).await.unwrap();
        }
        Locked::Busy { .. } => panic!("the second hop should get the lock"),
    }
}

async fn check_a_busy_session_answers_from_the_stored_copy(store: &dyn SessionStore) {
    let s = id("busy");
    let first = take(store, "busy").await;
    store
        .save_unlock(&s, &json(1), None, TTL, first)
        .await
        .unwrap();
    let _held = take(store, "busy").await;
    let started = Instant::now();
    let waited = load_locked(store, &s, LEASE, Duration::from_millis(100))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "bounded wait"
    );
    match waited {
        Locked::Busy { current } => assert_eq!(current.map(|s| s.version), Some(1)),
        Locked::Held { .. } => panic!("the lock is held"),
    }
}

async fn check_a_dead_holders_lock_expires(store: &dyn SessionStore) {
    let s = id("dead");
    // The holder dies: its lock is never released.
    let _forgotten = take(store, "dead").await;
    assert!(matches!(
        store.lock_load(&s, LEASE).await.unwrap(),
        LockLoad::Busy
    ));
    let started = Instant::now();
    let waited = load_locked(store, &s, LEASE, Duration::from_secs(3))
        .await
        .unwrap();
    assert!(matches!(waited, Locked::Held { .. }), "the lease ran out");
    assert!(started.elapsed() < Duration::from_secs(1));
}

async fn check_a_late_release_leaves_the_successors_lock(store: &dyn SessionStore) {
    let s = id("late");
    let slow = take(store, "late").await;
    tokio::time::sleep(LEASE + Duration::from_millis(100)).await;
    let successor = take(store, "late").await;
    // The slow hop finally saves: the CAS decides, the lock stays the successor's.
    assert_eq!(
        store
            .save_unlock(&s, &json(1), None, TTL, slow)
            .await
            .unwrap(),
        Saved::Saved { version: 1 }
    );
    assert!(
        matches!(store.lock_load(&s, LEASE).await.unwrap(), LockLoad::Busy),
        "a stale holder must not release its successor's lock"
    );
    store.unlock(&s, successor).await.unwrap();
    assert!(matches!(
        store.lock_load(&s, LEASE).await.unwrap(),
        LockLoad::Locked { .. }
    ));
}

async fn check_a_lock_on_a_new_session_is_not_a_session(store: &dyn SessionStore) {
    let s = id("reserved");
    let lock = take(store, "reserved").await;
    assert_eq!(store.load(&s).await.unwrap(), None);
    store.unlock(&s, lock).await.unwrap();
    assert_eq!(store.load(&s).await.unwrap(), None);
    // And a create still succeeds over what the lock left behind.
    assert_eq!(
        store.save(&s, &json(1), None, TTL).await.unwrap(),
        Saved::Saved { version: 1 }
    );
}

#[tokio::test]
async fn redis_hop_locks_serialise_and_expire() {
    let store = RedisStore::new(redis_conn(&servers().redis).await, prefix());
    check_lock(Arc::new(store)).await;
}

#[tokio::test]
async fn postgres_hop_locks_serialise_and_expire() {
    let db = TestDb::new().await;
    check_lock(Arc::new(PgStore::new(db.pool().await))).await;
}

#[tokio::test]
async fn failover_hop_locks_serialise_and_expire_on_redis_and_in_the_failback_window() {
    let db = TestDb::new().await;
    let (store, running) = failover(&db, &servers().redis, SessionSettings::default()).await;
    check_lock(Arc::new(store)).await;
    running.stop().await;

    // Redis restarted since the nodes last saw it: in the window
    // PostgreSQL's copies count too.
    let db = TestDb::new().await;
    redis_restarted_since_last_seen(&db.pool().await).await;
    let settings = SessionSettings {
        restart_window: TTL,
        ..SessionSettings::default()
    };
    let (store, running): (FailoverStore, _) = failover(&db, &servers().redis, settings).await;
    store.connect_redis().await.unwrap();
    assert!(
        store.in_failback_window(),
        "a store that finds Redis restarted is in the window"
    );
    check_lock(Arc::new(store)).await;
    running.stop().await;
}
