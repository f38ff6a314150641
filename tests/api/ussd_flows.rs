//! Members walking the menus, as transcripts, in English and Swahili, and the
//! hop-decoding edge cases, against the real app, PostgreSQL and Redis.

use pesachama::chama::Role;

use crate::helpers::{TestApp, spawn_app};
use crate::seed::{self, GRACE};

const MARY: &str = "+254711000004";

/// A chama with a chairperson who has a PIN and history, and a member of two
/// chamas without a PIN yet.
async fn umoja(app: &TestApp) {
    let (umoja, grace) = seed::grace(&app.state.db, "en").await;
    seed::chama(&app.state.db, "JIRANI", "Jirani Self Help").await;
    seed::contribution(&app.state.db, umoja, grace, "c1", 1_000, 250).await;
    seed::contribution(&app.state.db, umoja, grace, "c2", 1_500, 250).await;
    seed::member(
        &app.state.db,
        "UMOJA",
        MARY,
        "Mary Njeri",
        Role::Member,
        None,
        "en",
    )
    .await;
    seed::member(
        &app.state.db,
        "JIRANI",
        MARY,
        "Mary Njeri",
        Role::Member,
        None,
        "en",
    )
    .await;
}

async fn failed_pin_attempts(app: &TestApp, phone: &str) -> i32 {
    sqlx::query_scalar("select pin_failed_attempts from users where phone = $1")
        .bind(phone)
        .fetch_one(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_member_checks_her_balance_in_english() {
    let app = spawn_app().await;
    umoja(&app).await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["CON PesaChama", "1 Balance", "9 Officials"]),
            (Some("1"), &["CON Enter your PIN"]),
            (
                Some("1234"),
                &[
                    "Umoja Women Group",
                    "Savings KES 2,500",
                    "Shares KES 500",
                    "Chama total KES 3,000",
                ],
            ),
            (Some("0"), &["CON PesaChama", "1 Balance"]),
            // The statement is behind the PIN too.
            (Some("4"), &["CON Enter your PIN"]),
            (
                Some("1234"),
                &["Mini-statement (KES):", "Saved 1,500", "Bought shares 250"],
            ),
        ])
        .await;
}

#[tokio::test]
async fn a_first_time_member_of_two_chamas_onboards_in_swahili() {
    let app = spawn_app().await;
    umoja(&app).await;
    let mut phone = app.phone(MARY);
    phone
        .walk(&[
            (None, &["Chagua lugha", "2 Kiswahili"]),
            (Some("2"), &["Weka PIN"]),
            (Some("2468"), &["Weka PIN hiyo tena"]),
            (
                Some("2468"),
                &["Chagua chama", "1 Jirani Self Help", "2 Umoja Women Group"],
            ),
            (Some("2"), &["1 Salio", "5 Akaunti yangu"]),
            (Some("1"), &["PIN"]),
            (
                Some("2468"),
                &["Umoja Women Group", "Akiba KES 0", "Jumla ya chama"],
            ),
        ])
        .await;
    // The officials' entry is for officers only.
    assert!(!phone.send("00").await.contains("Viongozi"));
    let language: String = sqlx::query_scalar("select language from users where phone = $1")
        .bind(MARY)
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(language, "sw");
}

#[tokio::test]
async fn a_member_switches_language_and_it_applies_from_the_next_screen() {
    let app = spawn_app().await;
    umoja(&app).await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["1 Balance"]),
            (Some("5"), &["My account", "2 Language"]),
            (Some("2"), &["Kiswahili"]),
            (Some("2"), &["Salio"]),
        ])
        .await;
    let mut next_dial = app.phone(GRACE);
    next_dial.walk(&[(None, &["1 Salio"])]).await;
}

#[tokio::test]
async fn mismatched_pins_start_the_pin_setting_again() {
    let app = spawn_app().await;
    umoja(&app).await;
    let mut phone = app.phone(MARY);
    phone
        .walk(&[
            (None, &["Select language"]),
            (Some("1"), &["Set a 4-digit PIN"]),
            (Some("1111"), &["same PIN again"]),
            (Some("2222"), &["did not match", "Set a 4-digit PIN"]),
        ])
        .await;
    let has_pin: bool =
        sqlx::query_scalar("select pin_hash is not null from users where phone = $1")
            .bind(MARY)
            .fetch_one(&app.state.db)
            .await
            .unwrap();
    assert!(!has_pin);
}

#[tokio::test]
async fn an_unknown_phone_is_told_how_to_join() {
    let app = spawn_app().await;
    let mut phone = app.phone("+254722000999");
    let screen = phone.dial().await;
    assert!(screen.starts_with("END "), "{screen}");
    assert!(screen.contains("Ask your chama official"), "{screen}");
}

#[tokio::test]
async fn an_invalid_phone_number_gets_a_polite_end() {
    let app = spawn_app().await;
    let (status, body) = app.hop("ATUid_landline", "+254202222222", "").await;
    assert_eq!(status, 200);
    assert!(body.starts_with("END "), "{body}");
}

#[tokio::test]
async fn a_repeated_hop_gets_the_same_answer_and_runs_nothing_again() {
    let app = spawn_app().await;
    umoja(&app).await;
    let mut phone = app.phone(GRACE);
    phone.dial().await;
    phone.send("1").await;
    let wrong = phone.send("9999").await;
    assert!(wrong.contains("Attempts left: 2"), "{wrong}");
    // Africa's Talking retries the same hop: same answer, no second attempt counted.
    let (_, again) = app.hop(&phone.session, GRACE, &phone.text()).await;
    assert_eq!(again, wrong);
    let attempts = failed_pin_attempts(&app, GRACE).await;
    assert_eq!(attempts, 1);
}

#[tokio::test]
async fn a_stale_hop_shows_the_current_screen_again() {
    let app = spawn_app().await;
    umoja(&app).await;
    let mut phone = app.phone(GRACE);
    phone.dial().await;
    let account = phone.send("5").await;
    assert!(account.contains("My account"), "{account}");
    // An older text arrives late: the member still sees where they are.
    let (_, stale) = app.hop(&phone.session, GRACE, "").await;
    assert_eq!(stale, account);
}

#[tokio::test]
async fn an_input_containing_a_star_reaches_the_screen_whole() {
    let app = spawn_app().await;
    umoja(&app).await;
    let mut phone = app.phone(GRACE);
    phone.dial().await;
    phone.send("1").await;
    // "12*4" is one input on the PIN screen, not two: it is refused as a PIN.
    let screen = phone.send("12*4").await;
    assert!(screen.contains("A PIN must be 4 digits"), "{screen}");
    let attempts = failed_pin_attempts(&app, GRACE).await;
    assert_eq!(attempts, 0, "a malformed PIN is not a wrong PIN");
}

#[tokio::test]
async fn an_operator_sending_only_the_latest_input_still_works() {
    let app = spawn_app().await;
    umoja(&app).await;
    let session = "ATUid_noncumulative";
    app.hop(session, GRACE, "").await;
    let (_, pin) = app.hop(session, GRACE, "1").await;
    assert!(pin.contains("Enter your PIN"), "{pin}");
    let (_, balance) = app.hop(session, GRACE, "1234").await;
    assert!(balance.contains("Savings KES 2,500"), "{balance}");
}

#[tokio::test]
async fn malformed_callbacks_are_refused_with_a_problem_and_change_nothing() {
    let app = spawn_app().await;
    let long = "1*".repeat(600);
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("serviceCode", "*384*1234#"),
            ("phoneNumber", GRACE),
            ("text", ""),
        ],
        vec![
            ("sessionId", "ATUid_x"),
            ("phoneNumber", GRACE),
            ("text", ""),
        ],
        vec![
            ("sessionId", "ATUid_x"),
            ("serviceCode", "*384*1234#"),
            ("text", ""),
        ],
        vec![
            ("sessionId", "ATUid_x"),
            ("serviceCode", "*384*1234#"),
            ("phoneNumber", GRACE),
        ],
        vec![
            ("sessionId", "bad id!"),
            ("serviceCode", "*384*1234#"),
            ("phoneNumber", GRACE),
            ("text", ""),
        ],
        vec![
            ("sessionId", "ATUid_x"),
            ("serviceCode", "DROP TABLE"),
            ("phoneNumber", GRACE),
            ("text", ""),
        ],
        vec![
            ("sessionId", "ATUid_x"),
            ("serviceCode", "*384*1234#"),
            ("phoneNumber", GRACE),
            ("text", &long),
        ],
    ];
    for form in &cases {
        let response = app.ussd_form("/ussd/africastalking", form).await;
        assert_eq!(response.status(), 400, "{form:?}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
    }
    let not_a_form = app
        .client
        .post(app.url("/ussd/africastalking"))
        .header("content-type", "application/json")
        .body(r#"{"sessionId": 1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(not_a_form.status(), 415);
    let sessions: i64 = sqlx::query_scalar("select count(*) from ussd_sessions")
        .fetch_one(&app.state.db)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
}

#[tokio::test]
async fn no_pin_is_stored_in_the_session_in_either_store() {
    let app = spawn_app().await;
    umoja(&app).await;
    let mut phone = app.phone(MARY);
    phone
        .walk(&[
            (None, &[]),
            (Some("1"), &[]),
            (Some("9876"), &[]),
            (Some("9876"), &[]),
        ])
        .await;
    phone.send("1").await;
    phone.send("1").await;
    phone.send("9876").await;

    let mut redis = app.state.sessions.redis_connection().unwrap();
    let key = app
        .state
        .sessions
        .redis_key(&pesachama::session::SessionId::parse(&phone.session).unwrap());
    let stored: Vec<String> = redis::cmd("HVALS")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|v| !holds_pin(v, "9876")), "{stored:?}");

    // The PostgreSQL mirror holds the same state.
    let mut mirrored = String::new();
    for _ in 0..50 {
        mirrored = sqlx::query_scalar(
            "select coalesce(max(state::text), '') from ussd_sessions where session_id = $1",
        )
        .bind(&phone.session)
        .fetch_one(&app.state.db)
        .await
        .unwrap();
        if !mirrored.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(!mirrored.is_empty(), "the mirror never wrote the session");
    assert!(!holds_pin(&mirrored, "9876"), "{mirrored}");
}

/// Whether `pin` is a whole token of `stored` (a field value, or a step of an
/// input like `1*9876`). A plain substring search also matched the digits
/// inside a timestamp's fraction or a lock token's hex, now and then.
fn holds_pin(stored: &str, pin: &str) -> bool {
    stored
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|token| token == pin)
}

#[tokio::test]
async fn ussd_metrics_have_bounded_labels() {
    let app = spawn_app().await;
    umoja(&app).await;
    let mut phone = app.phone(GRACE);
    phone.dial().await;
    phone.send("1").await;
    let metrics = app.metrics().await;
    assert!(metrics.contains("pesachama_ussd_hops_total"), "{metrics}");
    assert!(
        metrics.contains("pesachama_ussd_hop_duration_seconds"),
        "{metrics}"
    );
    assert!(metrics.contains(r#"screen="balance_pin""#), "{metrics}");
    assert!(
        !metrics.contains("254711"),
        "a phone number leaked into metrics"
    );
    assert!(
        !metrics.contains(&phone.session),
        "a session id leaked into metrics"
    );
}
