//! Orphans: pushes that went out but whose CheckoutRequestID was never
//! written. Their success callback is kept as unknown; the reconciliation
//! pass pairs it with its orphan by phone and amount and books it once,
//! and leaves a pair it cannot tell apart to the deadline and an official.

use chrono::{TimeDelta, Utc};
use pesachama::mpesa::reconcile;

use super::*;

/// An orphan of Dan's for `amount`, pushed `ago`.
async fn orphan(pool: &PgPool, chama: Uuid, dan: Uuid, amount: i64, ago: TimeDelta) -> Uuid {
    pending_request(
        pool,
        chama,
        dan,
        "contribution",
        amount,
        None,
        Utc::now() - ago,
    )
    .await
}

async fn checkout_of(pool: &PgPool, id: Uuid) -> Option<String> {
    sqlx::query_scalar("select checkout_request_id from mpesa_stk_requests where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_kept_success_callback_settles_its_orphan_once() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    let id = orphan(&pool, chama, dan, 700, TimeDelta::minutes(1)).await;
    let paid = success("ws_CO_OR1", "NLJ7RT6O01", 700.0, DAN_DARAJA);
    post_callback(&app, &paid).await;
    assert_eq!(stored_outcomes(&pool).await, ["unknown"]);

    reconcile::pass(&app.state).await.unwrap();

    let (status, by, code, flag) = request_state(&pool, id).await;
    assert_eq!(
        (status.as_str(), by.as_deref(), code.as_deref(), flag),
        ("succeeded", Some("callback"), Some("0"), None)
    );
    assert_eq!(checkout_of(&pool, id).await.as_deref(), Some("ws_CO_OR1"));
    assert_eq!(balance(&pool, chama, dan).await.savings, 700);
    assert!(sms_for(&pool, "stk-receipt:ws_CO_OR1").await.is_some());
    assert_count(
        &pool,
        "select count(*) from audit_logs where action = 'mpesa.stk.callback_adopted'",
        1,
    )
    .await;
    assert_metric(
        &app,
        r#"pesachama_mpesa_reconciliations_total{result="adopted"}"#,
    )
    .await;

    // The callback again, and more passes: nothing more.
    post_callback(&app, &paid).await;
    reconcile::pass(&app.state).await.unwrap();
    assert_eq!(
        stored_outcomes(&pool).await,
        ["unknown", "booked", "duplicate"]
    );
    assert_count(&pool, "select count(*) from journal_entries", 1).await;
    assert_eq!(balance(&pool, chama, dan).await.savings, 700);
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn orphans_and_callbacks_that_do_not_pair_alone_wait_for_the_deadline() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    // Two orphans of the same phone and amount, one callback: which is it?
    let twins = [
        orphan(&pool, chama, dan, 500, TimeDelta::minutes(2)).await,
        orphan(&pool, chama, dan, 500, TimeDelta::minutes(1)).await,
    ];
    post_callback(&app, &success("ws_CO_OR2", "NLJ7RT6O02", 500.0, DAN_DARAJA)).await;
    // One orphan, two callbacks that fit it: which paid?
    let single = orphan(&pool, chama, dan, 300, TimeDelta::minutes(1)).await;
    post_callback(&app, &success("ws_CO_OR3", "NLJ7RT6O03", 300.0, DAN_DARAJA)).await;
    post_callback(&app, &success("ws_CO_OR4", "NLJ7RT6O04", 300.0, DAN_DARAJA)).await;
    // Another amount, another phone, a callback older than the push, and a
    // failure (which names neither): none of them fits.
    let other = orphan(&pool, chama, dan, 900, TimeDelta::minutes(1)).await;
    post_callback(&app, &success("ws_CO_OR5", "NLJ7RT6O05", 901.0, DAN_DARAJA)).await;
    post_callback(
        &app,
        &success("ws_CO_OR6", "NLJ7RT6O06", 900.0, 254_711_000_099),
    )
    .await;
    post_callback(
        &app,
        &failure("ws_CO_OR7", json!(1032), "Request cancelled by user"),
    )
    .await;
    // A push stamped a minute from now: the callback came before it.
    let later = orphan(&pool, chama, dan, 800, TimeDelta::minutes(-1)).await;
    post_callback(&app, &success("ws_CO_OR8", "NLJ7RT6O08", 800.0, DAN_DARAJA)).await;

    reconcile::pass(&app.state).await.unwrap();

    for id in twins.into_iter().chain([single, other, later]) {
        assert_eq!(request_state(&pool, id).await.0, "pending");
        assert_eq!(checkout_of(&pool, id).await, None);
    }
    assert_count(&pool, "select count(*) from journal_entries", 0).await;
    assert_count(
        &pool,
        "select count(*) from audit_logs where action = 'mpesa.stk.callback_adopted'",
        0,
    )
    .await;
    app.database.assert_ledger_consistent().await;
}
