//! Who may drive a USSD session and what a refusal costs: a session id
//! reused from another phone, a rate-limited hop that must not reach
//! PostgreSQL or the session store, and the events endpoint's own limit.

use pesachama::session::{SessionId, SessionStore};
use redis::AsyncCommands;
use sqlx::PgPool;

use crate::helpers::{TestApp, servers, spawn_app, spawn_app_with};
use crate::proxy::{ChaosProxy, redis_socket};
use crate::seed::{self, GRACE};

/// Another valid Safaricom number, not a member of anything.
const STRANGER: &str = "+254722000002";

/// Grace's `users` row, whole, as text: any write to it changes this.
async fn user_row(db: &PgPool) -> String {
    sqlx::query_scalar("select to_jsonb(u)::text from users u where phone = $1")
        .bind(GRACE)
        .fetch_one(db)
        .await
        .unwrap()
}

/// `(data, version)` of a stored session.
async fn stored(app: &TestApp, session: &str) -> (String, u64) {
    let found = app
        .state
        .sessions
        .load(&SessionId::parse(session).unwrap())
        .await
        .unwrap()
        .expect("session stored");
    (found.data, found.version)
}

#[tokio::test]
async fn a_session_id_reused_from_another_phone_is_refused_and_left_to_its_owner() {
    let app = spawn_app().await;
    let (umoja, grace) = seed::grace(&app.state.db, "en").await;
    seed::contribution(&app.state.db, umoja, grace, "c1", 1_000, 200).await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[(None, &["1 Balance"]), (Some("5"), &["My account"])])
        .await;
    let before = stored(&app, &phone.session).await;

    for text in ["5*0", "5", ""] {
        let (status, body) = app.hop(&phone.session, STRANGER, text).await;
        assert_eq!(status, 200);
        assert_eq!(
            body, "END This session belongs to another phone. Please dial again.",
            "text {text:?}"
        );
    }
    assert_eq!(stored(&app, &phone.session).await, before);
    assert!(
        !before.0.contains("722000002") && !before.0.contains("711000001"),
        "the record holds a phone number: {}",
        before.0
    );
    assert!(
        app.metrics()
            .await
            .contains(r#"outcome="foreign_phone"} 3"#)
    );

    phone.walk(&[(Some("0"), &["1 Balance"])]).await;
}

#[tokio::test]
async fn a_rate_limited_hop_touches_neither_postgresql_nor_the_session_store() {
    let db_proxy = {
        let url = reqwest::Url::parse(&servers().postgres_admin).unwrap();
        let target = (url.host_str().unwrap(), url.port().unwrap_or(5432));
        let socket = std::net::ToSocketAddrs::to_socket_addrs(&target)
            .unwrap()
            .next()
            .unwrap();
        ChaosProxy::start(socket).await
    };
    let redis_proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let redis_url = format!("redis://{}", redis_proxy.addr);
    let proxied = db_proxy.addr;
    let app = spawn_app_with(|raw| {
        let mut url = reqwest::Url::parse(&raw["DATABASE_URL"]).unwrap();
        url.set_host(Some(&proxied.ip().to_string())).unwrap();
        url.set_port(Some(proxied.port())).unwrap();
        raw.insert("DATABASE_URL".into(), url.to_string());
        raw.insert("REDIS_URL".into(), redis_url);
        raw.insert("PESACHAMA_USSD_RATE_PER_PHONE".into(), "1".into());
        raw.insert("PESACHAMA_USSD_DEFAULT_LANG".into(), "sw".into());
    })
    .await;
    let direct = app.database.pool().await;
    seed::grace(&direct, "en").await;
    app.phone(GRACE).dial().await;
    let row_before = user_row(&direct).await;

    // With both links cut, any storage call would fail the hop with
    // "service unavailable" (or stall it); the refusal needs neither.
    db_proxy.cut();
    redis_proxy.cut();
    let session = "ATUid_rate_limited_0001";
    let (status, body) = app.hop(session, GRACE, "").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("END Maombi ni mengi mno"), "{body}");

    let key = format!("{}ussd:{session}", app.state.settings.redis_prefix);
    let mut redis = redis::Client::open(servers().redis.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let in_redis: bool = redis.exists(&key).await.unwrap();
    let in_postgres: i64 =
        sqlx::query_scalar("select count(*) from ussd_sessions where session_id = $1")
            .bind(session)
            .fetch_one(&direct)
            .await
            .unwrap();
    assert_eq!((in_redis, in_postgres), (false, 0));
    assert_eq!(user_row(&direct).await, row_before);
}

#[tokio::test]
async fn session_end_events_have_their_own_rate_limit_per_source() {
    let app = spawn_app_with(|raw| {
        raw.insert("PESACHAMA_USSD_EVENTS_RATE_PER_SOURCE".into(), "1".into());
    })
    .await;
    let form = [("sessionId", "ATUid_events_0001"), ("status", "Success")];
    let first = app.ussd_form("/ussd/africastalking/events", &form).await;
    assert_eq!(first.status(), 200);
    let second = app.ussd_form("/ussd/africastalking/events", &form).await;
    assert_eq!(second.status(), 429);
    assert_eq!(second.headers()["content-type"], "application/problem+json");
    // Hops keep their own limit.
    let (status, _) = app.hop("ATUid_events_0002", GRACE, "").await;
    assert_eq!(status, 200);
    assert!(
        app.metrics()
            .await
            .contains(r#"pesachama_ussd_rate_limited_total{limit="events"} 1"#)
    );
}
