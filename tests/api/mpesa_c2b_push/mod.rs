//! Paybill confirmations of STK payments whose receipt is not known: the
//! push's callback was lost and Daraja's query, which names no receipt,
//! booked the push or will. A confirmation of a query-booked push takes its
//! entry; one booked while the push is pending keeps the query from booking
//! it again; both hold when the callback, the query and the confirmation
//! come at once; a payment that differs is booked as its own; and `ledger
//! check` names a payment booked twice anyway.

mod pending;
mod query_booked;
mod race;

use chrono::{DateTime, TimeDelta, Utc};
use pesachama::mpesa::c2b::{self, Confirmed, Payment, WirePayment};
use pesachama::mpesa::settle::{self, SettledBy, Settlement, StkResult};
use pesachama::phone::Msisdn;
use pesachama::sms::templates::Templates;
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use crate::daraja_support::stk_success;
use crate::helpers::{TestApp, TestDb, spawn_app_with};
use crate::seed;

fn texts() -> Templates {
    Templates::load(std::path::Path::new("locales")).unwrap()
}

/// UMOJA with Dan, member 1.
async fn umoja() -> (TestDb, PgPool) {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    seed::dan(&pool).await;
    (db, pool)
}

/// A gateway with UMOJA and Dan, whose reconciliation worker stays out of
/// the way.
async fn app() -> (TestApp, PgPool) {
    let app = spawn_app_with(|raw| {
        raw.insert("MPESA_RECONCILE_EVERY_SECS".into(), "600".into());
    })
    .await;
    let pool = app.database.pool().await;
    seed::dan(&pool).await;
    (app, pool)
}

/// A push to Dan (of UMOJA) that Daraja accepted `age` ago, still pending.
async fn pending(pool: &PgPool, amount: i64, checkout: &str, age: TimeDelta) -> Uuid {
    sqlx::query_scalar(
        "insert into mpesa_stk_requests
             (chama_id, user_id, purpose, amount, phone, account_reference,
              checkout_request_id, status, pushed_at, created_at)
         select m.chama_id, m.user_id, 'contribution', $1, u.phone, 'UMOJA', $3, 'pending', $4, $4
           from chama_members m join users u on u.id = m.user_id
          where u.phone = $2
         returning id",
    )
    .bind(amount)
    .bind(seed::DAN)
    .bind(checkout)
    .bind(Utc::now() - age)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Settles `checkout` with `result` as the reconciliation worker or the
/// callback route would, in a transaction of its own.
async fn settle(pool: &PgPool, checkout: &str, result: StkResult, by: SettledBy) -> Settlement {
    let mut tx = pool.begin().await.unwrap();
    let settled = settle::settle(&mut tx, &texts(), checkout, &result, by)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    settled
}

/// What Daraja's query says of a paid push: no receipt, amount or phone.
fn paid_per_query() -> StkResult {
    StkResult::Paid(settle::Payment::default())
}

/// A push pending for two minutes, then booked on the query's word.
async fn query_booked(pool: &PgPool, amount: i64, checkout: &str) -> Uuid {
    let id = pending(pool, amount, checkout, TimeDelta::minutes(2)).await;
    assert_eq!(
        settle(pool, checkout, paid_per_query(), SettledBy::Query).await,
        Settlement::Booked { flagged: true }
    );
    id
}

/// The STK callback's success result with `receipt`.
fn paid_per_callback(receipt: &str, amount: i64) -> StkResult {
    StkResult::Paid(settle::Payment {
        receipt: Some(receipt.to_owned()),
        amount: Some(amount),
        phone: Some(Msisdn::parse(seed::DAN).unwrap()),
        paid_at: Some(Utc::now()),
    })
}

/// Dan's number as C2B v1 sends it.
fn dan_hashed() -> String {
    hex::encode(Sha256::digest("254711000004"))
}

/// A paybill confirmation in Daraja's shape, paid `at`.
fn confirmation(trans_id: &str, amount: i64, msisdn: &str, at: DateTime<Utc>) -> Value {
    // TransTime is Nairobi time.
    let time = (at + TimeDelta::hours(3))
        .format("%Y%m%d%H%M%S")
        .to_string();
    json!({
        "TransactionType": "Pay Bill", "TransID": trans_id, "TransTime": time,
        "TransAmount": format!("{amount}.00"), "BusinessShortCode": "174379",
        "BillRefNumber": "UMOJA", "InvoiceNumber": "", "OrgAccountBalance": "",
        "ThirdPartyTransID": "", "MSISDN": msisdn, "FirstName": "DAN",
        "MiddleName": "", "LastName": ""
    })
}

async fn confirm(pool: &PgPool, raw: Value) -> Confirmed {
    let wire: WirePayment = serde_json::from_value(raw.clone()).unwrap();
    let payment = Payment::read(wire).unwrap();
    let mut tx = pool.begin().await.unwrap();
    let window = pesachama::config::DEFAULT_C2B_MATCH_WINDOW;
    let outcome = c2b::confirm(&mut tx, &texts(), &payment, &raw, window)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    outcome
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// The request's `(status, receipt, flag, entry)`.
async fn request(
    pool: &PgPool,
    id: Uuid,
) -> (String, Option<String>, Option<String>, Option<Uuid>) {
    sqlx::query_as(
        "select status, mpesa_receipt, flag, journal_entry_id from mpesa_stk_requests
          where id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The confirmation row's `(match_method, entry, member, named request)`.
async fn c2b_row(
    pool: &PgPool,
    trans_id: &str,
) -> (Option<String>, Option<Uuid>, Option<Uuid>, Option<Uuid>) {
    sqlx::query_as(
        "select match_method, journal_entry_id, member_user_id, stk_request_id
           from mpesa_c2b_receipts where trans_id = $1",
    )
    .bind(trans_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Savings credited to anyone.
async fn savings(pool: &PgPool) -> i64 {
    count(
        pool,
        "select coalesce(sum(-l.amount), 0)::bigint from journal_lines l
           join ledger_accounts a on a.id = l.account_id and a.code = 2000",
    )
    .await
}

async fn entries(pool: &PgPool) -> i64 {
    count(pool, "select count(*) from journal_entries").await
}

/// Posts `body` to the app's `path` under its callback token; the status.
async fn post(app: &TestApp, path: &str, body: &Value) -> u16 {
    let token = app.state.mpesa_callback_token.expose_secret();
    app.client
        .post(app.url(&format!("{path}/{token}")))
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Posts a paybill confirmation to the app, as Daraja does.
async fn post_confirmation(app: &TestApp, body: &Value) -> u16 {
    post(app, pesachama::mpesa::C2B_CONFIRMATION_PATH, body).await
}

/// Posts Daraja's success callback for `checkout` to the app.
async fn post_callback(app: &TestApp, checkout: &str, receipt: &str, amount: i64) -> u16 {
    let body = stk_success(checkout, receipt, amount as f64, 254_711_000_004);
    post(app, pesachama::mpesa::STK_CALLBACK_PATH, &body).await
}
