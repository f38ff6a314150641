//! Typed operations: once-only effects under their idempotency key, the
//! refusals that keep screens behind the PIN, and PIN changes that need the
//! current PIN in the same session, also after a resume.

use pesachama::menu::{ActionOutcome, SessionState};
use pesachama::ops::{self, RequestEnv};
use pesachama::phone::Msisdn;
use pesachama::user;

use crate::helpers::{TestApp, spawn_app};
use crate::seed::{self, GRACE};

/// Grace's session state as the first hop leaves it.
async fn graces_session(app: &TestApp) -> SessionState {
    seed::grace(&app.state.db, "en").await;
    let mut conn = app.state.db.acquire().await.unwrap();
    let caller = user::find_caller(&mut conn, &Msisdn::parse(GRACE).unwrap())
        .await
        .unwrap()
        .expect("Grace is a member");
    let mut state = SessionState::default();
    ops::vars::remember_caller(&mut state, &caller);
    state
}

async fn failed_attempts(app: &TestApp) -> i32 {
    sqlx::query_scalar("select pin_failed_attempts from users where phone = $1")
        .bind(GRACE)
        .fetch_one(&app.state.db)
        .await
        .unwrap()
}

async fn keys_recorded(app: &TestApp, operation: &str) -> i64 {
    sqlx::query_scalar("select count(*) from idempotency_keys where operation = $1")
        .bind(operation)
        .fetch_one(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn twenty_copies_of_one_request_count_one_wrong_pin() {
    let app = spawn_app().await;
    let state = graces_session(&app).await;
    for (outcome, state) in copies(&app, &state, "test:hop-7", "verify_pin", "9999").await {
        assert_eq!(outcome, ActionOutcome::Invalid("pin-wrong".into()));
        assert_eq!(
            state.vars.get("attempts_left").map(String::as_str),
            Some("2")
        );
    }
    assert_eq!(failed_attempts(&app).await, 1);
    assert_eq!(keys_recorded(&app, "verify_pin").await, 1);

    // A late copy, after the first committed, changes nothing either.
    let mut late = state.clone();
    let env = RequestEnv::new(&app.state, "test:hop-7".into());
    let outcome = ops::dispatch(&env, "verify_pin", &mut late, Some("9999"))
        .await
        .unwrap();
    assert_eq!(outcome, ActionOutcome::Invalid("pin-wrong".into()));
    assert_eq!(failed_attempts(&app).await, 1);

    // Another request is another attempt.
    let mut state = state.clone();
    let env = RequestEnv::new(&app.state, "test:hop-8".into());
    let outcome = ops::dispatch(&env, "verify_pin", &mut state, Some("9999"))
        .await
        .unwrap();
    assert_eq!(outcome, ActionOutcome::Invalid("pin-wrong".into()));
    assert_eq!(failed_attempts(&app).await, 2);
}

/// Runs twenty copies of one request at once, each on its own task and
/// connection, as copies that slipped past the session lock would: the
/// outcome and session state each copy ends with.
async fn copies(
    app: &TestApp,
    state: &SessionState,
    request: &str,
    action: &'static str,
    input: &'static str,
) -> Vec<(ActionOutcome, SessionState)> {
    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (app, mut state, request) = (app.state.clone(), state.clone(), request.to_owned());
        copies.spawn(async move {
            let env = RequestEnv::new(&app, request);
            let outcome = ops::dispatch(&env, action, &mut state, Some(input)).await;
            (outcome.unwrap(), state)
        });
    }
    copies.join_all().await
}

#[tokio::test]
async fn balance_and_statement_refuse_without_the_pin() {
    let app = spawn_app().await;
    let mut state = graces_session(&app).await;
    let env = RequestEnv::new(&app.state, "test:hop-1".into());
    for (action, pin_screen) in [
        ("load_balance", "balance_pin"),
        ("load_statement", "statement_pin"),
    ] {
        let outcome = ops::dispatch(&env, action, &mut state, None).await.unwrap();
        assert_eq!(outcome, ActionOutcome::Goto(pin_screen.into()), "{action}");
    }
    assert!(!state.vars.contains_key("savings"));
}

#[tokio::test]
async fn a_pin_is_replaced_only_after_the_current_one_in_the_same_session() {
    let app = spawn_app().await;
    let mut state = graces_session(&app).await;
    let env = RequestEnv::new(&app.state, "test:hop-1".into());
    // A PIN verified for the balance is not a proof for a change.
    ops::dispatch(&env, "verify_pin", &mut state, Some("1234"))
        .await
        .unwrap();
    ops::dispatch(&env, "stash_pin", &mut state, Some("3917"))
        .await
        .unwrap();
    let refused = ops::dispatch(&env, "save_pin", &mut state, Some("3917"))
        .await
        .unwrap();
    assert_eq!(refused, ActionOutcome::Goto("change_pin_old".into()));

    let env = RequestEnv::new(&app.state, "test:hop-2".into());
    let proof = ops::dispatch(&env, "authorise_pin_change", &mut state, Some("1234"))
        .await
        .unwrap();
    assert_eq!(proof, ActionOutcome::Continue);
    let saved = ops::dispatch(&env, "save_pin", &mut state, Some("3917"))
        .await
        .unwrap();
    assert_eq!(saved, ActionOutcome::Goto("main".into()));

    // The new PIN works and the old one no longer does.
    let env = RequestEnv::new(&app.state, "test:hop-3".into());
    let old = ops::dispatch(&env, "verify_pin", &mut state, Some("1234"))
        .await
        .unwrap();
    assert_eq!(old, ActionOutcome::Invalid("pin-wrong".into()));
    let env = RequestEnv::new(&app.state, "test:hop-4".into());
    let new = ops::dispatch(&env, "verify_pin", &mut state, Some("3917"))
        .await
        .unwrap();
    assert_eq!(new, ActionOutcome::Continue);
    // Correct PINs changed nothing and left no key; the wrong one did.
    assert_eq!(keys_recorded(&app, "verify_pin").await, 1);
}

#[tokio::test]
async fn a_copy_refused_after_the_first_committed_gets_the_first_outcome() {
    let app = spawn_app().await;
    let mut state = graces_session(&app).await;
    let env = RequestEnv::new(&app.state, "test:hop-1".into());
    ops::dispatch(&env, "authorise_pin_change", &mut state, Some("1234"))
        .await
        .unwrap();
    ops::dispatch(&env, "stash_pin", &mut state, Some("3917"))
        .await
        .unwrap();
    // The copy's session lost the proof (as if read before it was saved):
    // run alone it would be refused, but the first copy already saved.
    let mut copy = state.clone();
    ops::vars::forget_authorisations(&mut copy);
    ops::dispatch(&env, "stash_pin", &mut copy, Some("3917"))
        .await
        .unwrap();
    let env = RequestEnv::new(&app.state, "test:hop-2".into());
    let first = ops::dispatch(&env, "save_pin", &mut state, Some("3917"))
        .await
        .unwrap();
    let again = ops::dispatch(&env, "save_pin", &mut copy, Some("3917"))
        .await
        .unwrap();
    assert_eq!(first, ActionOutcome::Goto("main".into()));
    assert_eq!(again, first);
    assert_eq!(keys_recorded(&app, "save_pin").await, 1);
}

#[tokio::test]
async fn a_resumed_session_never_lands_on_a_pin_change() {
    let app = spawn_app().await;
    seed::grace(&app.state.db, "en").await;
    let mut first = app.phone(GRACE);
    first
        .walk(&[
            (None, &["1 Balance"]),
            (Some("5"), &["My account"]),
            (Some("1"), &["Enter your current PIN"]),
            (Some("1234"), &["Enter your new 4-digit PIN"]),
            (Some("3917"), &["Enter the same PIN again"]),
        ])
        .await;
    // The call drops on the confirmation screen.
    let dropped = app
        .ussd_form(
            "/ussd/africastalking/events",
            &[
                ("sessionId", first.session.as_str()),
                ("serviceCode", "*384*1234#"),
                ("phoneNumber", GRACE),
                ("networkCode", "63902"),
                ("status", "Incomplete"),
                ("durationInMillis", "30000"),
                ("hopsCount", "5"),
            ],
        )
        .await;
    assert_eq!(dropped.status(), 200);

    // Continuing goes back to My account, before the PIN screens.
    let mut second = app.phone(GRACE);
    second
        .walk(&[
            (None, &["1 Continue"]),
            (Some("1"), &["My account", "1 Change PIN"]),
            (Some("1"), &["Enter your current PIN"]),
        ])
        .await;

    // Nothing changed: the old PIN still opens the balance.
    let mut third = app.phone(GRACE);
    third
        .walk(&[
            (None, &["1 Balance"]),
            (Some("1"), &["Enter your PIN"]),
            (Some("1234"), &["Savings"]),
        ])
        .await;
}

#[tokio::test]
async fn old_idempotency_keys_are_purged_and_recent_ones_kept() {
    let app = spawn_app().await;
    let mut state = graces_session(&app).await;
    // Wrong PINs: a correct one changes nothing and records no key.
    for hop in ["test:old", "test:new"] {
        let env = RequestEnv::new(&app.state, hop.into());
        ops::dispatch(&env, "verify_pin", &mut state, Some("9999"))
            .await
            .unwrap();
    }
    let mut conn = app.state.db.acquire().await.unwrap();
    let cutoff: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select created_at from idempotency_keys where key like 'test:new:%'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(ops::purge_before(&mut conn, cutoff, 100).await.unwrap(), 1);
    let left: Vec<String> = sqlx::query_scalar("select key from idempotency_keys")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    assert_eq!(left, ["test:new:verify_pin"]);
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn twenty_copies_of_a_pin_change_write_one_audit_row_and_one_alert() {
    let app = spawn_app().await;
    let mut state = graces_session(&app).await;
    let env = RequestEnv::new(&app.state, "test:hop-1".into());
    ops::dispatch(&env, "authorise_pin_change", &mut state, Some("1234"))
        .await
        .unwrap();
    ops::dispatch(&env, "stash_pin", &mut state, Some("3917"))
        .await
        .unwrap();
    for (outcome, _) in copies(&app, &state, "test:hop-2", "save_pin", "3917").await {
        assert_eq!(outcome, ActionOutcome::Goto("main".into()));
    }
    assert_eq!(
        count(
            &app,
            "select count(*) from audit_logs where action = 'pin.change'"
        )
        .await,
        1
    );
    assert_eq!(count(&app, "select count(*) from sms_outbox").await, 1);
    assert_eq!(keys_recorded(&app, "save_pin").await, 1);
}

#[tokio::test]
async fn a_weak_pin_is_refused_in_the_members_language() {
    let app = spawn_app().await;
    seed::grace(&app.state.db, "sw").await;
    let mut phone = app.phone(GRACE);
    phone
        .walk(&[
            (None, &["1 Salio"]),
            (Some("5"), &["Akaunti yangu"]),
            (Some("1"), &["PIN"]),
            (Some("1234"), &["PIN"]),
            (Some("4321"), &["PIN"]),
            (Some("4321"), &["Tarakimu zinazofuatana"]),
        ])
        .await;
    assert_eq!(
        count(
            &app,
            "select count(*) from audit_logs where action = 'pin.change'"
        )
        .await,
        0
    );
}
