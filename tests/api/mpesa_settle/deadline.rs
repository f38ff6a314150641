//! The deadline: requests nobody answers are closed as `unknown`, listed
//! for an official, and still settled by a callback that comes after all.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use pesachama::mpesa::reconcile;

use super::reconcile::{fake, pushed};
use super::*;

#[tokio::test]
async fn past_the_deadline_requests_become_unknown_and_are_listed() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    fake(&app).set_query_delay(Duration::from_secs(3600));
    let (queried, _) = pushed(&app, &pool, chama, dan, 1000, TimeDelta::days(2)).await;
    // A push that got no answer: no CheckoutRequestID to ask about.
    let silent = pending_request(
        &pool,
        chama,
        dan,
        "contribution",
        200,
        None,
        Utc::now() - TimeDelta::days(2),
    )
    .await;
    let young_silent = pending_request(
        &pool,
        chama,
        dan,
        "contribution",
        300,
        None,
        Utc::now() - TimeDelta::hours(1),
    )
    .await;

    reconcile::pass(&app.state).await.unwrap();

    for id in [queried, silent] {
        let (status, by, _, _) = request_state(&pool, id).await;
        assert_eq!(
            (status.as_str(), by.as_deref()),
            ("unknown", Some("deadline"))
        );
    }
    assert_eq!(request_state(&pool, young_silent).await.0, "pending");
    assert_count(
        &pool,
        "select count(*) from audit_logs where action = 'mpesa.stk.unknown'",
        2,
    )
    .await;
    let mut conn = pool.acquire().await.unwrap();
    let listed = reconcile::pending::list(&mut conn).await.unwrap();
    let statuses: Vec<_> = listed.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["unknown", "unknown", "pending"]);
    let text = reconcile::pending::Listing {
        requests: &listed,
        now: Utc::now(),
    }
    .to_string();
    assert!(
        text.contains("UMOJA") && text.contains("2d") && text.contains("(none)"),
        "{text}"
    );
    assert!(!text.contains("711000004"), "phones are masked: {text}");
    assert_metric(
        &app,
        r#"pesachama_mpesa_reconciliations_total{result="deadline"}"#,
    )
    .await;
    assert_metric(&app, "pesachama_mpesa_stk_pending").await;
    assert_count(&pool, "select count(*) from journal_entries", 0).await;
}

#[tokio::test]
async fn a_late_success_callback_settles_an_unknown_request() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    let id = pending_request(
        &pool,
        chama,
        dan,
        "contribution",
        700,
        Some("ws_CO_U1"),
        Utc::now() - TimeDelta::days(2),
    )
    .await;
    reconcile::pass(&app.state).await.unwrap();
    assert_eq!(request_state(&pool, id).await.0, "unknown");

    post_callback(&app, &success("ws_CO_U1", "NLJ7RT6U10", 700.0, DAN_DARAJA)).await;

    let (status, by, _, _) = request_state(&pool, id).await;
    assert_eq!(
        (status.as_str(), by.as_deref()),
        ("succeeded", Some("callback"))
    );
    assert_eq!(balance(&pool, chama, dan).await.savings, 700);
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn the_pending_command_lists_waiting_unknown_and_flagged_requests_masked() {
    let db = crate::helpers::TestDb::new().await;
    let pool = db.pool().await;
    let (chama, dan) = seed::dan(&pool).await;
    pending_request(
        &pool,
        chama,
        dan,
        "fine",
        250,
        Some("ws_CO_L1"),
        Utc::now() - TimeDelta::minutes(5),
    )
    .await;
    pending_request(
        &pool,
        chama,
        dan,
        "contribution",
        1000,
        None,
        Utc::now() - TimeDelta::hours(3),
    )
    .await;

    let output = crate::cli::pesachama(Some(&db.url), &["mpesa", "pending"]);

    assert!(output.status.success(), "{output:?}");
    let text = crate::cli::stdout(&output);
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[1].contains("3h") && lines[1].contains("(none)") && lines[1].contains("1000"),
        "{text}"
    );
    assert!(
        lines[2].contains("5m") && lines[2].contains("ws_CO_L1") && lines[2].contains("fine"),
        "{text}"
    );
    assert!(!text.contains("711000004"), "phones are masked: {text}");
}
