//! Lost callbacks: the reconciliation worker asks the (fake) Daraja about
//! overdue pushes and settles them through the same path as the callback,
//! once, and closes what nobody answers by the deadline.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use pesachama::mpesa::fake::CallbackPlan;
use pesachama::mpesa::reconcile;
use pesachama::mpesa::settle::{self, Payment, SettledBy, Settlement, StkResult};
use pesachama::mpesa::{FakeOutcome, FakePlan, StkPushRequest};
use pesachama::phone::Msisdn;

use super::*;

/// Pushes through the app's Daraja client (the fake) and records the
/// request as pushed `age` ago; returns `(request id, CheckoutRequestID)`.
pub(super) async fn pushed(
    app: &TestApp,
    pool: &PgPool,
    chama: Uuid,
    member: Uuid,
    amount: i64,
    age: TimeDelta,
) -> (Uuid, String) {
    let phone = Msisdn::parse(seed::DAN).unwrap();
    let push = StkPushRequest::new(phone, amount, "UMOJA", "Contribution").unwrap();
    let accepted = app.state.daraja.stk_push(push).await.unwrap();
    let checkout = accepted.checkout_request_id;
    let id = pending_request(
        pool,
        chama,
        member,
        "contribution",
        amount,
        Some(&checkout),
        Utc::now() - age,
    )
    .await;
    (id, checkout)
}

pub(super) fn fake(app: &TestApp) -> &pesachama::mpesa::FakeDaraja {
    app.fakes.daraja.as_deref().unwrap()
}

/// Pushes to Dan end in `outcome`, and Daraja's callback is lost: only a
/// query learns how.
fn lose_callbacks(app: &TestApp, outcome: FakeOutcome) {
    fake(app).set_plan_for(
        &Msisdn::parse(seed::DAN).unwrap(),
        FakePlan {
            callback: CallbackPlan {
                copies: 0,
                ..CallbackPlan::default()
            },
            ..FakePlan::of(outcome)
        },
    );
}

#[tokio::test]
async fn a_lost_callback_is_settled_by_query_and_the_late_callback_books_nothing_more() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    lose_callbacks(&app, FakeOutcome::Success);
    let (id, checkout) = pushed(&app, &pool, chama, dan, 1000, TimeDelta::minutes(3)).await;

    reconcile::pass(&app.state).await.unwrap();

    assert_eq!(balance(&pool, chama, dan).await.savings, 1000);
    let (status, by, _, flag) = request_state(&pool, id).await;
    assert_eq!(
        (status.as_str(), by.as_deref(), flag.as_deref()),
        (
            "succeeded",
            Some("query"),
            Some("paid per query; no receipt yet")
        )
    );
    let (template, message) = sms_for(&pool, &format!("stk-receipt:{checkout}"))
        .await
        .unwrap();
    assert_eq!(template, "sms-receipt-unnumbered");
    assert!(message.contains("KES 1,000"), "{message}");
    app.database.assert_ledger_consistent().await;

    // Daraja's callback arrives after all: its receipt joins the registry
    // against the query's entry; nothing is booked twice.
    let late = fake(&app).callback_payload(&checkout).unwrap();
    post_callback(&app, &late).await;

    assert_eq!(balance(&pool, chama, dan).await.savings, 1000);
    assert_count(&pool, "select count(*) from journal_entries", 1).await;
    assert_count(&pool, "select count(*) from sms_outbox", 1).await;
    let (receipt, flag): (Option<String>, Option<String>) =
        sqlx::query_as("select mpesa_receipt, flag from mpesa_stk_requests where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(receipt.is_some());
    assert_eq!(flag, None);
    assert_count(&pool, "select count(*) from mpesa_receipts", 1).await;
    assert_eq!(stored_outcomes(&pool).await, ["duplicate"]);
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_query_answer_after_the_callback_settled_it_is_a_duplicate() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    let (id, checkout) = pushed(&app, &pool, chama, dan, 600, TimeDelta::minutes(3)).await;
    post_callback(&app, &fake(&app).callback_payload(&checkout).unwrap()).await;

    // The query's answer as it would land had the worker claimed the
    // request just before the callback committed.
    let mut tx = pool.begin().await.unwrap();
    let settled = settle::settle(
        &mut tx,
        &app.state.sms_texts,
        &checkout,
        &StkResult::Paid(Payment::default()),
        SettledBy::Query,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(settled, Settlement::Duplicate);
    // And the worker finds nothing to claim.
    reconcile::pass(&app.state).await.unwrap();

    let (status, by, _, _) = request_state(&pool, id).await;
    assert_eq!(
        (status.as_str(), by.as_deref()),
        ("succeeded", Some("callback"))
    );
    assert_count(&pool, "select count(*) from journal_entries", 1).await;
    assert_count(
        &pool,
        "select query_attempts::bigint from mpesa_stk_requests",
        0,
    )
    .await;
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_failure_found_by_query_fails_the_request_and_tells_the_member() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "sw").await;
    lose_callbacks(&app, FakeOutcome::InsufficientFunds);
    let (id, checkout) = pushed(&app, &pool, chama, dan, 1000, TimeDelta::minutes(3)).await;

    reconcile::pass(&app.state).await.unwrap();

    let (status, by, code, _) = request_state(&pool, id).await;
    assert_eq!(
        (status.as_str(), by.as_deref(), code.as_deref()),
        ("failed", Some("query"), Some("1"))
    );
    let (_, message) = sms_for(&pool, &format!("stk-failed:{checkout}"))
        .await
        .unwrap();
    assert!(message.contains("huna pesa za kutosha"), "{message}");
    assert_count(&pool, "select count(*) from journal_entries", 0).await;
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn still_processing_is_asked_again_later_with_backoff() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    fake(&app).set_query_delay(Duration::from_secs(3600));
    let (id, _) = pushed(&app, &pool, chama, dan, 1000, TimeDelta::minutes(3)).await;

    reconcile::pass(&app.state).await.unwrap();

    let (attempts, wait): (i32, f64) = sqlx::query_as(
        "select query_attempts, extract(epoch from next_query_at - now())::float8
           from mpesa_stk_requests where id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(request_state(&pool, id).await.0, "pending");
    assert_eq!(attempts, 1);
    assert!((3.0..=91.0).contains(&wait), "next query in {wait}s");

    // Not due yet: a second pass leaves it alone.
    reconcile::pass(&app.state).await.unwrap();
    assert_count(
        &pool,
        "select query_attempts::bigint from mpesa_stk_requests",
        1,
    )
    .await;
    assert_metric(
        &app,
        r#"pesachama_mpesa_reconciliations_total{result="still_processing"}"#,
    )
    .await;
}

#[tokio::test]
async fn a_fresh_push_is_not_queried_before_its_prompt_expires() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    let (id, _) = pushed(&app, &pool, chama, dan, 1000, TimeDelta::seconds(10)).await;

    reconcile::pass(&app.state).await.unwrap();

    assert_eq!(request_state(&pool, id).await.0, "pending");
    assert_count(
        &pool,
        "select query_attempts::bigint from mpesa_stk_requests",
        0,
    )
    .await;
}
