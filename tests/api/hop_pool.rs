//! The hop pool against real PostgreSQL: a released connection is reused
//! without a ping, one dropped unreleased (an error, a cancelled hop) is
//! closed and never handed out again, and a stale one is checked first.

use std::time::Duration;

use pesachama::db::HopPool;
use sqlx::PgPool;

use crate::helpers::TestDb;

async fn pid(conn: &mut sqlx::PgConnection) -> i32 {
    sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(conn)
        .await
        .unwrap()
}

/// Whether the backend `pid` still exists, seen from another connection.
async fn alive(pool: &PgPool, pid: i32) -> bool {
    sqlx::query_scalar("select exists (select 1 from pg_stat_activity where pid = $1)")
        .bind(pid)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn eventually_gone(pool: &PgPool, pid: i32) -> bool {
    for _ in 0..100 {
        if !alive(pool, pid).await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn a_released_connection_serves_the_next_hop() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let hops = HopPool::new(&pool, 4);
    let mut conn = hops.acquire().await.unwrap();
    let first = pid(&mut conn).await;
    conn.release();
    assert_eq!(hops.idle(), 1);
    let mut conn = hops.acquire().await.unwrap();
    assert_eq!(pid(&mut conn).await, first);
    conn.release();
}

#[tokio::test]
async fn a_connection_dropped_inside_a_transaction_is_closed_not_reused() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let hops = HopPool::new(&pool, 4);
    let mut conn = hops.acquire().await.unwrap();
    let first = pid(&mut conn).await;
    sqlx::query("begin").execute(&mut *conn).await.unwrap();
    sqlx::query("update ussd_failback set updated_at = now()")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert_eq!(hops.idle(), 0);
    assert!(eventually_gone(&pool, first).await, "the backend exits");
    // The next hop gets a fresh connection, outside any transaction, and
    // the abandoned update never committed nor holds its row.
    let mut conn = hops.acquire().await.unwrap();
    assert_ne!(pid(&mut conn).await, first);
    let in_tx: bool = sqlx::query_scalar("select pg_current_xact_id_if_assigned() is not null")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert!(!in_tx);
    sqlx::query("update ussd_failback set updated_at = now()")
        .execute(&mut *conn)
        .await
        .unwrap();
    conn.release();
}

#[tokio::test]
async fn a_cancelled_query_closes_its_connection() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let hops = HopPool::new(&pool, 1);
    let mut conn = hops.acquire().await.unwrap();
    let first = pid(&mut conn).await;
    // Short: the server notices the goodbye only once the sleep is over.
    let slow = sqlx::query("select pg_sleep(0.5)").execute(&mut *conn);
    assert!(
        tokio::time::timeout(Duration::from_millis(50), slow)
            .await
            .is_err()
    );
    drop(conn);
    // The only permit came back: the next caller does not wait, and gets a
    // connection that answers at once rather than the half-read one.
    let mut conn = tokio::time::timeout(Duration::from_secs(2), hops.acquire())
        .await
        .expect("the permit of a dropped connection is free")
        .unwrap();
    assert_ne!(pid(&mut conn).await, first);
    conn.release();
    assert!(eventually_gone(&pool, first).await);
}

#[tokio::test]
async fn a_full_pool_makes_the_next_hop_wait_for_a_release() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let hops = HopPool::new(&pool, 1);
    let held = hops.acquire().await.unwrap();
    let waiting = tokio::spawn({
        let hops = hops.clone();
        async move { hops.acquire().await.map(|conn| conn.release()) }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished());
    held.release();
    tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_stale_connection_the_server_dropped_is_replaced_before_use() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let owner = db.owner_pool().await;
    let hops = HopPool::pinging_after(&pool, 2, Duration::ZERO);
    let mut conn = hops.acquire().await.unwrap();
    let first = pid(&mut conn).await;
    conn.release();
    let _: bool = sqlx::query_scalar("select pg_terminate_backend($1)")
        .bind(first)
        .fetch_one(&owner)
        .await
        .unwrap();
    assert!(eventually_gone(&pool, first).await);
    let mut conn = hops.acquire().await.unwrap();
    assert_ne!(
        pid(&mut conn).await,
        first,
        "the dead one was pinged and replaced"
    );
    conn.release();
}
