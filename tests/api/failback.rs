//! The failback window shared through PostgreSQL (rule 5 of `session`): a
//! node that starts trusts Redis at once when nothing went wrong, and
//! compares both stores when Redis restarted or another node wrote sessions
//! to PostgreSQL only.

use std::time::Duration;

use pesachama::session::{ActiveStore, SessionSettings, SessionStore};
use sqlx::PgPool;

use crate::helpers::{TestDb, servers};
use crate::proxy::{ChaosProxy, redis_socket};
use crate::session_store::{TTL, eventually, failover, failover_over, id, json, store_prefix};

/// Settings of a production node: a restart opens a window of one TTL.
fn node() -> SessionSettings {
    SessionSettings {
        restart_window: TTL,
        ..SessionSettings::default()
    }
}

/// The Redis `run_id` and the window's remaining seconds, as recorded.
async fn recorded(pool: &PgPool) -> (Option<String>, f64) {
    sqlx::query_as(
        "select redis_run_id, extract(epoch from greatest(failback_until, now()) - now())::float8
           from ussd_failback",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Pretends the nodes last saw another Redis server: it restarted since.
pub async fn redis_restarted_since_last_seen(pool: &PgPool) {
    sqlx::query("update ussd_failback set redis_run_id = 'a-redis-before-its-restart'")
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_node_starting_on_a_database_no_node_served_trusts_redis_at_once() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (store, running) = failover(&db, &servers().redis, node()).await;
    store.connect_redis().await.unwrap();
    assert!(!store.in_failback_window());
    let (run_id, remaining) = recorded(&pool).await;
    assert!(
        run_id.is_some_and(|id| !id.is_empty()),
        "the run_id is recorded"
    );
    assert_eq!(remaining, 0.0);
    running.stop().await;

    // The next node (a deploy) finds the same Redis: no window either.
    let (store, running) = failover(&db, &servers().redis, node()).await;
    store.connect_redis().await.unwrap();
    assert!(!store.in_failback_window());
    running.stop().await;
}

#[tokio::test]
async fn every_node_starting_after_a_redis_restart_compares_both_stores() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    redis_restarted_since_last_seen(&pool).await;

    let (first, running_first) = failover(&db, &servers().redis, node()).await;
    first.connect_redis().await.unwrap();
    assert!(first.in_failback_window());
    let (_, remaining) = recorded(&pool).await;
    assert!(
        remaining > TTL.as_secs_f64() - 30.0,
        "a restart opens a full TTL for every node, {remaining} s left"
    );
    // A second node sees the run_id the first recorded, and still the window.
    let (second, running_second) = failover(&db, &servers().redis, node()).await;
    second.connect_redis().await.unwrap();
    assert!(second.in_failback_window());
    running_first.stop().await;
    running_second.stop().await;
}

#[tokio::test]
async fn a_node_starting_after_another_wrote_only_to_postgres_does_not_believe_redis() {
    // Arrange: node A saves a session through Redis, then loses Redis and
    // moves it on in PostgreSQL only. Redis keeps the stale copy.
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let (a, running_a) = failover(&db, &format!("redis://{}", proxy.addr), node()).await;
    a.connect_redis().await.unwrap();
    assert!(!a.in_failback_window());
    let s = id("moved-on-in-postgres");
    a.save(&s, &json(1), None, TTL).await.unwrap();
    assert!(
        eventually(Duration::from_secs(2), || async { a.mirror_pending() == 0 }).await,
        "the mirror copies version 1"
    );
    proxy.cut();
    for expected in 1..=3 {
        a.save(&s, &json(expected as u32 + 1), Some(expected), TTL)
            .await
            .unwrap();
    }
    assert_eq!(a.active_store(), ActiveStore::Postgres);
    let (_, remaining) = recorded(&pool).await;
    assert!(
        remaining > TTL.as_secs_f64() - 30.0,
        "A recorded its writes"
    );

    // Act: node B starts on the same Redis (which still holds version 1)
    // and the same database.
    let (b, running_b) = failover_over(&db, &servers().redis, &store_prefix(&a), node()).await;
    b.connect_redis().await.unwrap();

    // Assert: B is in the window and believes PostgreSQL's newer copy.
    assert!(b.in_failback_window());
    assert_eq!(b.load(&s).await.unwrap().unwrap().version, 4);
    running_a.stop().await;
    running_b.stop().await;
}
