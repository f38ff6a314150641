//! Copies of one hop sent at the same moment, as Africa's Talking does when
//! the first answer is slow: the hop acts once, on Redis and with Redis cut.

use std::time::Duration;

use pesachama::session::ActiveStore;

use crate::failback::redis_restarted_since_last_seen;
use crate::helpers::{TestApp, TestDb, servers, spawn_app_on};
use crate::proxy::{ChaosProxy, redis_socket};
use crate::seed::{self, GRACE};

const COPIES: usize = 20;

async fn app_behind(proxy: &ChaosProxy, redis_timeout_ms: &str) -> TestApp {
    app_with(proxy, redis_timeout_ms, |_| {}).await
}

async fn app_with(
    proxy: &ChaosProxy,
    redis_timeout_ms: &str,
    adjust: impl FnOnce(&mut pesachama::config::RawSettings),
) -> TestApp {
    app_on(TestDb::new().await, proxy, redis_timeout_ms, adjust).await
}

async fn app_on(
    db: TestDb,
    proxy: &ChaosProxy,
    redis_timeout_ms: &str,
    adjust: impl FnOnce(&mut pesachama::config::RawSettings),
) -> TestApp {
    let url = format!("redis://{}", proxy.addr);
    let app = spawn_app_on(db, |raw| {
        adjust(raw);
        raw.insert("REDIS_URL".into(), url);
        // Twenty copies of one hop are not a flood from one phone.
        raw.insert("PESACHAMA_USSD_RATE_PER_PHONE".into(), "1000".into());
        // A loaded test machine can take longer than a quarter second per
        // hop; the checks here are about acting once, not about latency.
        raw.insert("PESACHAMA_SESSION_LOCK_PATIENCE_MS".into(), "2000".into());
        raw.insert(
            "PESACHAMA_SESSION_REDIS_TIMEOUT_MS".into(),
            redis_timeout_ms.into(),
        );
    })
    .await;
    let (umoja, grace) = seed::grace(&app.state.db, "en").await;
    seed::contribution(&app.state.db, umoja, grace, "c1", 1_000, 200).await;
    app
}

/// Sends COPIES copies of the wrong-PIN hop of a session waiting at the PIN
/// screen, all at once, and checks that one attempt was counted and every
/// copy got the same wrong-PIN screen.
async fn twenty_wrong_pins_count_one(app: &TestApp, session: &str) {
    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..COPIES {
        let request = app.client.post(app.url("/ussd/africastalking")).form(&[
            ("sessionId", session),
            ("serviceCode", "*384*1234#"),
            ("phoneNumber", GRACE),
            ("networkCode", "63902"),
            ("text", "1*0000"),
        ]);
        copies.spawn(async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        });
    }
    let answers = copies.join_all().await;
    for (status, body) in &answers {
        assert_eq!(*status, 200);
        assert!(body.contains("Attempts left: 2"), "{body}");
    }
    assert!(
        answers.windows(2).all(|pair| pair[0] == pair[1]),
        "every copy gets the same answer: {answers:?}"
    );
    let attempts: i32 =
        sqlx::query_scalar("select pin_failed_attempts from users where phone = $1")
            .bind(GRACE)
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    assert_eq!(attempts, 1, "twenty copies of one hop count one attempt");
}

#[tokio::test]
async fn twenty_copies_of_a_wrong_pin_hop_count_one_attempt_on_redis() {
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    // A patient Redis timeout: a slow reply on a loaded test machine must
    // not fail over mid-test, which would move locks to PostgreSQL while a
    // hop holds one on Redis (the case idempotency keys cover, not locks).
    // A short session TTL makes the failback window of a starting node
    // short too, so the hops below take the plain Redis path.
    let app = app_with(&proxy, "1000", |raw| {
        raw.insert("PESACHAMA_USSD_SESSION_TTL_SECS".into(), "2".into());
        raw.insert("PESACHAMA_USSD_RESUME_WINDOW_SECS".into(), "1".into());
    })
    .await;
    for _ in 0..50 {
        if !app.state.sessions.in_failback_window() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!app.state.sessions.in_failback_window());
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[(None, &["1 Balance"]), (Some("1"), &["Enter your PIN"])])
        .await;
    twenty_wrong_pins_count_one(&app, &phone.session).await;
    assert_eq!(app.state.sessions.active_store(), ActiveStore::Redis);
    assert!(!app.state.sessions.in_failback_window());
}

#[tokio::test]
async fn twenty_copies_of_a_wrong_pin_hop_count_one_attempt_on_redis_in_the_failback_window() {
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let db = TestDb::new().await;
    redis_restarted_since_last_seen(&db.pool().await).await;
    let app = app_on(db, &proxy, "1000", |_| {}).await;
    assert!(
        app.state.sessions.in_failback_window(),
        "a node that finds Redis restarted starts in it"
    );
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[(None, &["1 Balance"]), (Some("1"), &["Enter your PIN"])])
        .await;
    twenty_wrong_pins_count_one(&app, &phone.session).await;
    assert_eq!(app.state.sessions.active_store(), ActiveStore::Redis);
}

#[tokio::test]
async fn twenty_copies_of_a_wrong_pin_hop_count_one_attempt_with_redis_cut() {
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let app = app_behind(&proxy, "50").await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[(None, &["1 Balance"]), (Some("1"), &["Enter your PIN"])])
        .await;
    for _ in 0..100 {
        if app.state.sessions.mirror_pending() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy.cut();
    twenty_wrong_pins_count_one(&app, &phone.session).await;
    assert_eq!(app.state.sessions.active_store(), ActiveStore::Postgres);
}

/// Sends COPIES copies of the PIN-change confirmation of a session waiting
/// on it, all at once: the change writes an audit row and queues an alert,
/// and both must exist once.
async fn twenty_pin_changes_write_one_row(app: &TestApp, session: &str) {
    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..COPIES {
        let request = app.client.post(app.url("/ussd/africastalking")).form(&[
            ("sessionId", session),
            ("serviceCode", "*384*1234#"),
            ("phoneNumber", GRACE),
            ("networkCode", "63902"),
            ("text", "5*1*1234*3917*3917"),
        ]);
        copies.spawn(async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        });
    }
    for (status, body) in copies.join_all().await {
        assert_eq!(status, 200);
        assert!(body.starts_with("CON PesaChama"), "{body}");
    }
    for (sql, what) in [
        (
            "select count(*) from audit_logs where action = 'pin.change'",
            "audit row",
        ),
        ("select count(*) from sms_outbox", "security alert"),
    ] {
        let rows: i64 = sqlx::query_scalar(sql)
            .fetch_one(&app.state.db)
            .await
            .unwrap();
        assert_eq!(rows, 1, "twenty copies of one hop write one {what}");
    }
}

async fn at_pin_confirmation(app: &TestApp) -> String {
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["1 Balance"]),
            (Some("5"), &["My account"]),
            (Some("1"), &["Enter your current PIN"]),
            (Some("1234"), &["Enter your new 4-digit PIN"]),
            (Some("3917"), &["Enter the same PIN again"]),
        ])
        .await;
    phone.session
}

#[tokio::test]
async fn twenty_copies_of_a_pin_change_write_one_audit_row_on_redis() {
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let app = app_behind(&proxy, "1000").await;
    let session = at_pin_confirmation(&app).await;
    twenty_pin_changes_write_one_row(&app, &session).await;
    assert_eq!(app.state.sessions.active_store(), ActiveStore::Redis);
}

#[tokio::test]
async fn twenty_copies_of_a_pin_change_write_one_audit_row_with_redis_cut() {
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let app = app_behind(&proxy, "50").await;
    let session = at_pin_confirmation(&app).await;
    for _ in 0..100 {
        if app.state.sessions.mirror_pending() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    proxy.cut();
    twenty_pin_changes_write_one_row(&app, &session).await;
    assert_eq!(app.state.sessions.active_store(), ActiveStore::Postgres);
}
