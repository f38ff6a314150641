//! STK results over HTTP and by query: Daraja's callback booked or failed
//! once, hostile callbacks refused or stored without effect, lost callbacks
//! settled by the reconciliation worker. Every test that moves money ends
//! with the ledger check.

mod callbacks;
mod deadline;
mod failures;
mod hostile;
mod orphans;
mod race;
mod reconcile;

use chrono::{DateTime, Utc};
use pesachama::ledger::{self, MemberBalance};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

use crate::daraja_support::stk_success as success;
use crate::helpers::{TestApp, spawn_app_with};
use crate::seed;

/// Dan's phone in Daraja's form.
const DAN_DARAJA: u64 = 254_711_000_004;

/// A gateway whose reconciliation worker waits for the test to run a pass.
async fn app() -> TestApp {
    spawn_app_with(|raw| {
        raw.insert("MPESA_RECONCILE_EVERY_SECS".into(), "600".into());
    })
    .await
}

/// UMOJA with Dan (Swahili when `lang` says so): `(pool, chama, dan)`.
async fn umoja(app: &TestApp, lang: &str) -> (PgPool, Uuid, Uuid) {
    let pool = app.database.pool().await;
    let (chama, dan) = seed::dan(&pool).await;
    sqlx::query("update users set language = $2 where id = $1")
        .bind(dan)
        .bind(lang)
        .execute(&pool)
        .await
        .unwrap();
    (pool, chama, dan)
}

/// A request Daraja accepted `age` ago: pending with `checkout` (or none,
/// for a push that got no answer).
async fn pending_request(
    pool: &PgPool,
    chama: Uuid,
    member: Uuid,
    purpose: &str,
    amount: i64,
    checkout: Option<&str>,
    pushed_at: DateTime<Utc>,
) -> Uuid {
    sqlx::query_scalar(
        "insert into mpesa_stk_requests
             (chama_id, user_id, purpose, amount, phone, account_reference,
              checkout_request_id, status, pushed_at, created_at)
         values ($1, $2, $3, $4, $5, 'UMOJA', $6, 'pending', $7, $7)
         returning id",
    )
    .bind(chama)
    .bind(member)
    .bind(purpose)
    .bind(amount)
    .bind(seed::DAN)
    .bind(checkout)
    .bind(pushed_at)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// A contribution of `amount` pushed just now with `checkout`.
async fn contribution(
    pool: &PgPool,
    chama: Uuid,
    member: Uuid,
    amount: i64,
    checkout: &str,
) -> Uuid {
    pending_request(
        pool,
        chama,
        member,
        "contribution",
        amount,
        Some(checkout),
        Utc::now(),
    )
    .await
}

/// Daraja's failure callback with `code`.
fn failure(checkout: &str, code: Value, desc: &str) -> Value {
    json!({"Body": {"stkCallback": {
        "MerchantRequestID": "f1e2-4b95-a71d-b30d3cdbb7a7942864",
        "CheckoutRequestID": checkout,
        "ResultCode": code,
        "ResultDesc": desc}}})
}

/// Where Daraja posts, with the app's token.
fn callback_path(app: &TestApp) -> String {
    format!(
        "{}/{}",
        pesachama::mpesa::STK_CALLBACK_PATH,
        app.state.mpesa_callback_token.expose_secret()
    )
}

/// Posts raw bytes to `path`; `(status, body)`.
async fn post_bytes(app: &TestApp, path: &str, body: Vec<u8>) -> (u16, String) {
    let response = app
        .client
        .post(app.url(path))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Posts a callback and asserts Daraja's accepted answer.
async fn post_callback(app: &TestApp, body: &Value) {
    let (status, answer) =
        post_bytes(app, &callback_path(app), body.to_string().into_bytes()).await;
    assert_eq!(status, 200, "{answer}");
    assert_accepted(&answer);
}

fn assert_accepted(answer: &str) {
    let answer: Value = serde_json::from_str(answer).unwrap();
    assert_eq!(answer, json!({"ResultCode": 0, "ResultDesc": "Accepted"}));
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Asserts that `sql` (a bigint query) answers `expected`.
async fn assert_count(pool: &PgPool, sql: &str, expected: i64) {
    assert_eq!(count(pool, sql).await, expected, "{sql}");
}

/// Asserts that the app's metrics have `needle` (a name with its labels).
async fn assert_metric(app: &TestApp, needle: &str) {
    let metrics = app.metrics().await;
    assert!(metrics.contains(needle), "no {needle} in\n{metrics}");
}

/// The request's `(status, settled_by, result_code, flag)`.
async fn request_state(
    pool: &PgPool,
    id: Uuid,
) -> (String, Option<String>, Option<String>, Option<String>) {
    sqlx::query_as(
        "select status, settled_by, result_code, flag from mpesa_stk_requests where id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Outcomes of the stored callbacks, in arrival order.
async fn stored_outcomes(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("select outcome from mpesa_stk_callbacks order by id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// The outbox rows' `(template, message)` for a dedupe key.
async fn sms_for(pool: &PgPool, dedupe_key: &str) -> Option<(String, String)> {
    sqlx::query_as("select template, message from sms_outbox where dedupe_key = $1")
        .bind(dedupe_key)
        .fetch_optional(pool)
        .await
        .unwrap()
}

async fn balance(pool: &PgPool, chama: Uuid, member: Uuid) -> MemberBalance {
    let mut conn = pool.acquire().await.unwrap();
    ledger::member_balance(&mut conn, chama, member)
        .await
        .unwrap()
}
