//! Redis down is a degraded state, not a dead node: a node starts without
//! Redis and serves from PostgreSQL, and an older Redis copy (a node that
//! restarted, a Redis restored from an older snapshot) never beats a session
//! that moved on in PostgreSQL.

use std::time::Duration;

use pesachama::devstack::PrivateRedis;
use pesachama::session::{ActiveStore, SessionSettings, SessionStore};

use crate::helpers::{TestApp, TestDb, servers, spawn_app_with};
use crate::proxy::{ChaosProxy, redis_socket};
use crate::seed::{self, GRACE};
use crate::session_store::{TTL, eventually, failover, id, json, redis_conn};

async fn seeded(app: &TestApp) {
    let (umoja, grace) = seed::grace(&app.state.db, "en").await;
    seed::contribution(&app.state.db, umoja, grace, "c1", 1_000, 200).await;
}

async fn readiness(app: &TestApp) -> (u16, serde_json::Value) {
    let response = app.get("/readyz").await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_node_started_with_redis_down_serves_a_whole_session_and_connects_later() {
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    proxy.cut();
    let url = format!("redis://{}", proxy.addr);
    let app = spawn_app_with(|raw| {
        raw.insert("REDIS_URL".into(), url);
    })
    .await;
    seeded(&app).await;

    let (status, body) = readiness(&app).await;
    assert_eq!(status, 200, "a node without Redis still serves: {body}");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["redis"], "unreachable");
    assert_eq!(body["sessions"], "postgres");
    assert_eq!(app.state.sessions.active_store(), ActiveStore::Postgres);

    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["1 Balance"]),
            (Some("1"), &["Enter your PIN"]),
            (Some("1234"), &["Savings KES 1,000"]),
        ])
        .await;

    // Redis comes back: the prober connects and sessions return to it. A
    // PING answering ("ready") can come before the prober closes the
    // breaker, so the wait is for the sessions to be back on Redis.
    proxy.restore();
    let mut body = serde_json::Value::Null;
    for _ in 0..200 {
        body = readiness(&app).await.1;
        if body["sessions"] == "redis" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["sessions"], "redis", "{body}");
    assert_eq!(app.state.sessions.active_store(), ActiveStore::Redis);
    phone.walk(&[(Some("0"), &["1 Balance"])]).await;
}

#[tokio::test]
async fn a_restarted_node_continues_from_the_newer_postgres_screen_not_the_older_redis_copy() {
    // Arrange: a node whose Redis link the test can cut, and a session at
    // the PIN screen in both stores.
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let url = format!("redis://{}", proxy.addr);
    let prefix = format!("t{}:", uuid::Uuid::new_v4().simple());
    let settings = |raw: &mut pesachama::config::RawSettings| {
        raw.insert("REDIS_URL".into(), url.clone());
        raw.insert("PESACHAMA_REDIS_PREFIX".into(), prefix.clone());
    };
    let mut first = spawn_app_with(settings).await;
    seeded(&first).await;
    let mut phone = first.phone(GRACE);
    phone
        .walk(&[(None, &["1 Balance"]), (Some("1"), &["Enter your PIN"])])
        .await;
    let session = phone.session.clone();
    let key = first
        .state
        .sessions
        .redis_key(&pesachama::session::SessionId::parse(&session).unwrap());
    let mut redis = redis_conn(&servers().redis).await;
    let old_copy: Vec<(String, String)> = redis::cmd("HGETALL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(!old_copy.is_empty(), "the session is in Redis");

    // Act: Redis is cut, the session moves on in PostgreSQL, the node stops.
    proxy.cut();
    phone.walk(&[(Some("1234"), &["Savings KES 1,000"])]).await;
    let text = format!("{}*0", phone.text());
    first.shutdown.cancel();
    first.stopped.take().unwrap().await.unwrap().unwrap();
    // Redis comes back holding the older copy (as from a snapshot).
    let fields: Vec<&str> = old_copy
        .iter()
        .flat_map(|(f, v)| [f.as_str(), v.as_str()])
        .collect();
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg(&fields)
        .query_async(&mut redis)
        .await
        .unwrap();
    proxy.restore();
    let database = first.database.url.clone();
    let second = spawn_app_with(|raw| {
        settings(raw);
        raw.insert("DATABASE_URL".into(), database);
    })
    .await;

    // Assert: the session continues from the balance screen; "0" is not
    // taken as a wrong PIN at the old screen.
    let (status, body) = second.hop(&session, GRACE, &text).await;
    assert_eq!(status, 200);
    assert!(body.contains("1 Balance"), "{body}");
    let attempts: i32 =
        sqlx::query_scalar("select pin_failed_attempts from users where phone = $1")
            .bind(GRACE)
            .fetch_one(&second.state.db)
            .await
            .unwrap();
    assert_eq!(attempts, 0);
}

#[tokio::test]
async fn a_redis_restarted_from_an_older_snapshot_does_not_win_over_postgres() {
    // Arrange: a store trusting Redis (no restart window), its session at
    // version 3 in Redis and mirrored to PostgreSQL.
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let settings = SessionSettings {
        probe_interval: Duration::from_millis(50),
        ..SessionSettings::default()
    };
    let (store, running) = failover(&db, &format!("redis://{}", proxy.addr), settings).await;
    let s = id("snapshot");
    store.save(&s, &json(1), None, TTL).await.unwrap();
    store.save(&s, &json(2), Some(1), TTL).await.unwrap();
    store.save(&s, &json(3), Some(2), TTL).await.unwrap();
    let pg = pesachama::session::PgStore::new(pool.clone());
    assert!(
        eventually(Duration::from_secs(2), || async {
            pg.load(&s).await.unwrap().map(|s| s.version) == Some(3)
        })
        .await,
        "the mirror copies version 3"
    );
    assert!(
        eventually(Duration::from_secs(2), || async {
            !store.in_failback_window()
        })
        .await
    );

    // Act: Redis is replaced by one restored from a snapshot at version 1
    // (another server: another run_id).
    let dir = std::env::temp_dir().join(format!("pesachama-test-{}", uuid::Uuid::new_v4()));
    let snapshot = PrivateRedis::start(&dir).unwrap();
    let mut restored = redis_conn(snapshot.url()).await;
    let _: () = redis::cmd("HSET")
        .arg(store.redis_key(&s))
        .arg("v")
        .arg("1")
        .arg("d")
        .arg(json(1))
        .query_async(&mut restored)
        .await
        .unwrap();
    proxy.switch_to(redis_socket(snapshot.url()));

    // Assert: the prober sees the new run_id and loads compare both stores.
    assert!(
        eventually(Duration::from_secs(5), || async {
            store.in_failback_window()
        })
        .await,
        "a new run_id opens the failback window"
    );
    let loaded = store.load(&s).await.unwrap().unwrap();
    assert_eq!(loaded.version, 3);
    let data: serde_json::Value = serde_json::from_str(&loaded.data).unwrap();
    assert_eq!(data["step"], 3);
    assert_eq!(
        store.save(&s, &json(4), Some(3), TTL).await.unwrap(),
        pesachama::session::Saved::Saved { version: 4 }
    );
    running.stop().await;
    drop(snapshot);
    let _ = std::fs::remove_dir_all(dir);
}
