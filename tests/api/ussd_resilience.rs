//! The USSD channel under stress and attack: Redis cut mid-session, resume
//! after an interruption, PIN lockout across a restart, rate limits, callback
//! protection, session-end events, and `menus check`.

use std::time::Duration;

use pesachama::session::{ActiveStore, SessionId, SessionStore};

use crate::helpers::{TestApp, servers, spawn_app, spawn_app_with};
use crate::proxy::{ChaosProxy, redis_socket};
use crate::seed::{self, GRACE};

async fn grace(app: &TestApp, lang: &str) -> uuid::Uuid {
    let (umoja, grace) = seed::grace(&app.state.db, lang).await;
    seed::contribution(&app.state.db, umoja, grace, "c1", 1_000, 200).await;
    grace
}

async fn event(app: &TestApp, session: &str, status: &str) -> u16 {
    app.ussd_form(
        "/ussd/africastalking/events",
        &[
            ("sessionId", session),
            ("serviceCode", "*384*1234#"),
            ("phoneNumber", GRACE),
            ("networkCode", "63902"),
            ("status", status),
            ("durationInMillis", "42000"),
            ("hopsCount", "2"),
            ("input", "1"),
            ("cost", "KES 0.10"),
        ],
    )
    .await
    .status()
    .as_u16()
}

/// Grace (English) opens My account and drops there: an interrupted session.
async fn interrupted_in_my_account(app: &TestApp) {
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[(None, &["1 Balance"]), (Some("5"), &["My account"])])
        .await;
    assert_eq!(event(app, &phone.session, "Incomplete").await, 200);
}

#[tokio::test]
async fn a_session_survives_redis_being_cut_mid_session() {
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let url = format!("redis://{}", proxy.addr);
    let app = spawn_app_with(|raw| {
        raw.insert("REDIS_URL".into(), url);
    })
    .await;
    grace(&app, "en").await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[(None, &["1 Balance"]), (Some("1"), &["Enter your PIN"])])
        .await;
    // Let the write-behind mirror copy the session to PostgreSQL.
    for _ in 0..100 {
        if app.state.sessions.mirror_pending() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    proxy.cut();
    phone
        .walk(&[
            (Some("1234"), &["Savings KES 1,000"]),
            (Some("0"), &["1 Balance"]),
            (Some("4"), &["Enter your PIN"]),
            (Some("1234"), &["Mini-statement"]),
        ])
        .await;
    assert_eq!(app.state.sessions.active_store(), ActiveStore::Postgres);
    assert!(
        app.metrics()
            .await
            .contains("pesachama_session_store_failovers_total")
    );

    proxy.restore();
    for _ in 0..50 {
        if app.state.sessions.active_store() == ActiveStore::Redis {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(app.state.sessions.active_store(), ActiveStore::Redis);
    phone
        .walk(&[(Some("00"), &["1 Balance"]), (Some("5"), &["My account"])])
        .await;
}

#[tokio::test]
async fn a_redial_after_an_interruption_offers_to_resume_without_the_pin() {
    let app = spawn_app().await;
    grace(&app, "sw").await;
    let mut first = app.phone(GRACE);
    first
        .walk(&[
            (None, &["1 Salio"]),
            (Some("1"), &["PIN"]),
            (Some("1234"), &["Akiba"]),
        ])
        .await;
    assert_eq!(event(&app, &first.session, "Incomplete").await, 200);

    let mut second = app.phone(GRACE);
    second
        .walk(&[
            (
                None,
                &["Huduma yako ya mwisho ilikatika", "1 Endelea ulipoishia"],
            ),
            // Continuing lands behind the PIN again, never on the balance itself.
            (Some("1"), &["PIN"]),
            (Some("1234"), &["Akiba KES 1,000"]),
        ])
        .await;

    // The offer is used up; a session that ended on END is not resumable,
    // and a replay of the first session's event brings nothing back.
    assert_eq!(event(&app, &second.session, "Success").await, 200);
    assert_eq!(event(&app, &first.session, "Incomplete").await, 200);
    let mut third = app.phone(GRACE);
    third.walk(&[(None, &["1 Salio"])]).await;
}

#[tokio::test]
async fn a_repeated_dial_gets_the_same_resume_offer_and_the_session_goes_on() {
    let app = spawn_app().await;
    grace(&app, "en").await;
    interrupted_in_my_account(&app).await;

    let mut second = app.phone(GRACE);
    let offer = second.dial().await;
    assert!(offer.contains("1 Continue"), "{offer}");
    // Africa's Talking sends the dial again: the offer it took is not lost.
    let (status, again) = app.hop(&second.session, GRACE, "").await;
    assert_eq!(status, 200);
    assert_eq!(again, offer);
    second.walk(&[(Some("1"), &["My account"])]).await;
}

#[tokio::test]
async fn a_resume_offer_follows_only_a_resumable_end_within_the_window() {
    let app = spawn_app().await;
    let user = grace(&app, "en").await;
    interrupted_in_my_account(&app).await;
    // Backdating a recorded end is rewriting history, which the runtime role
    // may not do: the owner does it to stand in for the passing of time.
    let owner = app.database.owner_pool().await;
    let age_end = |ago: &'static str| {
        sqlx::query(
            "update ussd_session_ends set received_at = now() - $1::interval where user_id = $2",
        )
        .bind(ago)
        .bind(user)
        .execute(&owner)
    };

    // The end is older than the window: the dial does not even look for the
    // saved state, which stays where it is.
    age_end("1 hour").await.unwrap();
    app.phone(GRACE).walk(&[(None, &["1 Balance"])]).await;
    let saved = SessionId::parse(&format!("resume:{user}")).unwrap();
    assert!(app.state.sessions.load(&saved).await.unwrap().is_some());

    // Within the window the same state is offered.
    age_end("10 seconds").await.unwrap();
    app.phone(GRACE)
        .walk(&[(None, &["1 Continue"]), (Some("1"), &["My account"])])
        .await;
}

#[tokio::test]
async fn starting_again_from_a_resume_offer_shows_the_main_menu() {
    let app = spawn_app().await;
    grace(&app, "en").await;
    let mut first = app.phone(GRACE);
    first
        .walk(&[(None, &["1 Balance"]), (Some("5"), &["My account"])])
        .await;
    event(&app, &first.session, "Incomplete").await;
    let mut second = app.phone(GRACE);
    second
        .walk(&[
            (None, &["Continue where you left off"]),
            (Some("7"), &["2 Start again"]),
            (Some("2"), &["1 Balance"]),
        ])
        .await;
}

#[tokio::test]
async fn session_end_events_are_recorded_once_and_bad_ones_refused() {
    let app = spawn_app().await;
    grace(&app, "en").await;
    let mut phone = app.phone(GRACE);
    phone.dial().await;
    assert_eq!(event(&app, &phone.session, "Incomplete").await, 200);
    assert_eq!(event(&app, &phone.session, "Incomplete").await, 200);
    let (rows, status, screen): (i64, String, String) = sqlx::query_as(
        "select count(*), max(status), max(last_screen) from ussd_session_ends where session_id = $1",
    )
    .bind(&phone.session)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(
        (rows, status.as_str(), screen.as_str()),
        (1, "incomplete", "main")
    );

    assert_eq!(
        event(&app, &phone.session, "Exploded").await,
        200,
        "unknown statuses are acknowledged"
    );
    let missing = app
        .ussd_form("/ussd/africastalking/events", &[("status", "Success")])
        .await;
    assert_eq!(missing.status(), 400);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"pesachama_ussd_dropoff_total{screen="main"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn three_wrong_pins_lock_and_the_lock_survives_a_restart() {
    let app = spawn_app().await;
    grace(&app, "en").await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["1 Balance"]),
            (Some("1"), &["Enter your PIN"]),
            (Some("0000"), &["Attempts left: 2"]),
            (Some("1111"), &["Attempts left: 1"]),
            (Some("2222"), &["END", "locked"]),
        ])
        .await;

    // A new gateway process on the same database.
    let url = app.database.url.clone();
    let restarted = spawn_app_with(|raw| {
        raw.insert("DATABASE_URL".into(), url);
    })
    .await;
    let mut again = restarted.phone(GRACE);
    again
        .walk(&[
            (None, &["1 Balance"]),
            (Some("1"), &["PIN"]),
            (Some("1234"), &["END", "locked"]),
        ])
        .await;
    let (locked_until_future, lock_count): (bool, i32) = sqlx::query_as(
        "select pin_locked_until > now(), pin_lock_count from users where phone = $1",
    )
    .bind(GRACE)
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert!(locked_until_future);
    assert_eq!(lock_count, 1);
}

#[tokio::test]
async fn a_phone_over_its_rate_limit_gets_a_polite_end_in_the_service_language() {
    let app = spawn_app_with(|raw| {
        raw.insert("PESACHAMA_USSD_RATE_PER_PHONE".into(), "3".into());
        raw.insert("PESACHAMA_USSD_DEFAULT_LANG".into(), "sw".into());
    })
    .await;
    grace(&app, "en").await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["Balance"]),
            (Some("5"), &["My account"]),
            (Some("0"), &["Balance"]),
        ])
        .await;
    let limited = phone.send("1").await;
    assert!(limited.starts_with("END Maombi ni mengi mno"), "{limited}");
    assert!(
        app.metrics()
            .await
            .contains(r#"pesachama_ussd_rate_limited_total{limit="phone"}"#)
    );
}

#[tokio::test]
async fn callbacks_without_the_configured_token_are_refused() {
    let app = spawn_app_with(|raw| {
        raw.insert(
            "PESACHAMA_USSD_CALLBACK_TOKEN".into(),
            "s3cret-token-0123456789".into(),
        );
    })
    .await;
    grace(&app, "en").await;
    let form = [
        ("sessionId", "ATUid_protected"),
        ("serviceCode", "*384*1234#"),
        ("phoneNumber", GRACE),
        ("text", ""),
    ];
    for path in [
        "/ussd/africastalking",
        "/ussd/africastalking?token=wrong",
        "/ussd/africastalking/events",
    ] {
        assert_eq!(app.ussd_form(path, &form).await.status(), 403, "{path}");
    }
    let allowed = app
        .ussd_form("/ussd/africastalking?token=s3cret-token-0123456789", &form)
        .await;
    assert_eq!(allowed.status(), 200);
    assert!(allowed.text().await.unwrap().contains("1 Balance"));
    assert!(
        app.metrics()
            .await
            .contains(r#"pesachama_ussd_refused_total{reason="token"}"#)
    );
}

#[tokio::test]
async fn callbacks_need_the_basic_auth_credential_and_an_allowed_source() {
    let app = spawn_app_with(|raw| {
        raw.insert(
            "PESACHAMA_USSD_BASIC_AUTH".into(),
            "africastalking:pa55word".into(),
        );
    })
    .await;
    grace(&app, "en").await;
    let form = [
        ("sessionId", "ATUid_auth"),
        ("serviceCode", "*384*1234#"),
        ("phoneNumber", GRACE),
        ("text", ""),
    ];
    let url = app.url("/ussd/africastalking");
    let anonymous = app.client.post(&url).form(&form).send().await.unwrap();
    assert_eq!(anonymous.status(), 403);
    assert_eq!(
        anonymous.headers()["content-type"],
        "application/problem+json"
    );
    let wrong = app
        .client
        .post(&url)
        .basic_auth("africastalking", Some("nope"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 403);
    let right = app
        .client
        .post(&url)
        .basic_auth("africastalking", Some("pa55word"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), 200);

    let fenced = spawn_app_with(|raw| {
        raw.insert(
            "PESACHAMA_USSD_ALLOWED_SOURCES".into(),
            "196.201.214.0/24, 10.1.2.3".into(),
        );
    })
    .await;
    let refused = fenced.ussd_form("/ussd/africastalking", &form).await;
    assert_eq!(refused.status(), 403);
    assert!(
        fenced
            .metrics()
            .await
            .contains(r#"pesachama_ussd_refused_total{reason="source"}"#)
    );
}

#[test]
fn menus_check_passes_the_shipped_menus_and_names_a_broken_screen() {
    let bin = env!("CARGO_BIN_EXE_pesachama");
    let ok = std::process::Command::new(bin)
        .args(["menus", "check"])
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let dir = std::env::temp_dir().join(format!("pc-menus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir("menus").unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let mut main = std::fs::read_to_string(dir.join("main.toml")).unwrap();
    main.push_str("\n[screen.broken]\nkind = \"menu\"\ntext = \"main-title\"\noptions = [{ key = \"1\", label = \"main-balance\", goto = \"nowhere\" }]\n");
    std::fs::write(dir.join("main.toml"), main).unwrap();
    let bad = std::process::Command::new(bin)
        .args([
            "menus",
            "check",
            "--menus",
            dir.to_str().unwrap(),
            "--locales",
            "locales",
        ])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let report = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        report.contains("main.toml") && report.contains("broken") && report.contains("nowhere"),
        "{report}"
    );
}
