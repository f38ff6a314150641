//! Paybill payments end to end: the gateway registers its real paybill URLs
//! with its fake Daraja through the `register-urls` code path, payers pay
//! with `POST /fake/c2b`, and the fake posts validation and confirmation to
//! the gateway over HTTP, as Safaricom does. Balances, suspense, the
//! receipt SMS and the books are checked after each kind of payment.

use pesachama::config::MpesaSettings;
use pesachama::mpesa::fake::{C2bPaymentResult, CallbackKind};
use pesachama::mpesa::{C2bUrls, UnansweredValidation};
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::daraja_support::{raw_post, raw_token};
use crate::helpers::{TestApp, spawn_app};
use crate::seed::{self, PAYBILL_GRACE as GRACE, PAYBILL_OTIENO as OTIENO};

/// The gateway's paybill URLs as `pesachama mpesa register-urls` builds
/// them: under the gateway's address, ending in its callback token.
fn gateway_urls(app: &TestApp) -> C2bUrls {
    let settings = MpesaSettings {
        api_url: app.fake_daraja().url().parse().unwrap(),
        consumer_key: SecretString::from("fake-consumer-key"),
        consumer_secret: SecretString::from("fake-consumer-secret"),
        shortcode: pesachama::mpesa::fake::SANDBOX_SHORTCODE.into(),
        passkey: SecretString::from(pesachama::mpesa::fake::SANDBOX_PASSKEY),
        callback_url: app.url("/").parse().unwrap(),
        callback_token: app.state.mpesa_callback_token.clone(),
    };
    C2bUrls::for_gateway(&settings, UnansweredValidation::Complete).unwrap()
}

/// UMOJA with Grace (member 1, Swahili) and Otieno (member 2, English),
/// its URLs registered with the fake through the gateway's own client.
async fn paybill() -> (TestApp, PgPool) {
    let app = spawn_app().await;
    let pool = app.database.pool().await;
    seed::paybill_payers(&pool).await;
    let registered = app
        .state
        .daraja
        .register_urls(&gateway_urls(&app))
        .await
        .unwrap();
    assert_eq!(registered.response_description, "Success");
    (app, pool)
}

/// Pays through the fake's `/fake/c2b`, as a payer on the M-Pesa menu.
async fn pay(app: &TestApp, payment: Value) -> C2bPaymentResult {
    let response = app
        .client
        .post(format!("{}/fake/c2b", app.fake_daraja().url()))
        .json(&payment)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// Net credit of `account` (2000 savings, 2020 suspense), for `phone`'s
/// member or in all.
async fn credited(pool: &PgPool, account: i32, phone: Option<&str>) -> i64 {
    sqlx::query_scalar(
        "select coalesce(sum(-l.amount), 0)::bigint from journal_lines l
           join ledger_accounts a on a.id = l.account_id and a.code = $1
           left join users u on u.id = l.member_user_id
          where $2::text is null or u.phone = $2",
    )
    .bind(account)
    .bind(phone)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The receipt SMS queued for `phone`: `(template, message)`.
async fn receipt_sms(pool: &PgPool, phone: &str) -> Vec<(String, String)> {
    sqlx::query_as("select template, message from sms_outbox where phone = $1 order by created_at")
        .bind(phone)
        .fetch_all(pool)
        .await
        .unwrap()
}

/// The confirmation row's `match_method`, and whether it has an entry.
async fn matched(pool: &PgPool, trans_id: &str) -> (Option<String>, bool) {
    sqlx::query_as(
        "select match_method, journal_entry_id is not null from mpesa_c2b_receipts
          where trans_id = $1",
    )
    .bind(trans_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn paybill_payments_reach_the_gateway_through_the_fake_and_are_booked_once() {
    let (app, pool) = paybill().await;

    // A member number after the chama's code names the member, whoever pays.
    let by_number = pay(
        &app,
        json!({"phone": "0722000333", "amount": 1500, "bill_ref": "umoja-2"}),
    )
    .await;
    assert_eq!(
        (by_number.completed, by_number.confirmation_status),
        (true, Some(200))
    );
    let receipt = by_number.trans_id.unwrap();
    assert_eq!(
        matched(&pool, &receipt).await,
        (Some("member_number".into()), true)
    );
    assert_eq!(credited(&pool, 2000, Some(OTIENO)).await, 1500);
    let sms = receipt_sms(&pool, OTIENO).await;
    assert_eq!(sms.len(), 1);
    assert_eq!(sms[0].0, "sms-receipt");
    assert!(
        sms[0].1.contains(&receipt) && sms[0].1.contains("KES 1,500"),
        "{}",
        sms[0].1
    );
    app.database.assert_ledger_consistent().await;

    // Grace pays from her registered phone with the chama's code alone. The
    // gateway registers through C2B v2, which masks the payer's number: it
    // names nobody, and the money waits in the chama's suspense account.
    let masked = pay(
        &app,
        json!({"phone": GRACE, "amount": 700, "bill_ref": "UMOJA"}),
    )
    .await;
    let masked = masked.trans_id.unwrap();
    assert_eq!(
        matched(&pool, &masked).await,
        (Some("chama_only".into()), true)
    );
    assert_eq!(credited(&pool, 2020, None).await, 700);
    assert!(receipt_sms(&pool, GRACE).await.is_empty());
    app.database.assert_ledger_consistent().await;

    // Registered through v1 (as older integrations are), Daraja sends the
    // number's SHA-256, which the gateway recognises among the members.
    let token = raw_token(app.fake_daraja()).await;
    let urls = gateway_urls(&app);
    let (status, _) = raw_post(
        app.fake_daraja(),
        "/mpesa/c2b/v1/registerurl",
        Some(&token),
        json!({
            "ShortCode": pesachama::mpesa::fake::SANDBOX_SHORTCODE,
            "ResponseType": "Completed",
            "ConfirmationURL": urls.confirmation.as_str(),
            "ValidationURL": urls.validation.as_str(),
        })
        .to_string(),
    )
    .await;
    assert_eq!(status, 200);
    let by_phone = pay(
        &app,
        json!({"phone": "0711000021", "amount": 300, "bill_ref": "UMOJA"}),
    )
    .await;
    let by_phone = by_phone.trans_id.unwrap();
    assert_eq!(
        matched(&pool, &by_phone).await,
        (Some("phone".into()), true)
    );
    assert_eq!(credited(&pool, 2000, Some(GRACE)).await, 300);
    let sms = receipt_sms(&pool, GRACE).await;
    assert_eq!(sms.len(), 1);
    assert!(sms[0].1.contains(&by_phone), "{}", sms[0].1);
    app.database.assert_ledger_consistent().await;

    // An account number that names no chama: kept, booked nowhere.
    let entries = count(&pool, "select count(*) from journal_entries").await;
    let stray = pay(
        &app,
        json!({"phone": "0722000444", "amount": 250, "bill_ref": "NOSUCH"}),
    )
    .await;
    let stray = stray.trans_id.unwrap();
    assert_eq!(matched(&pool, &stray).await, (Some("none".into()), false));
    assert_eq!(
        count(&pool, "select count(*) from journal_entries").await,
        entries
    );
    app.database.assert_ledger_consistent().await;

    // Safaricom delivers one confirmation three times: booked once.
    let repeated = pay(
        &app,
        json!({"phone": "0722000555", "amount": 400, "bill_ref": "UMOJA-1", "copies": 3}),
    )
    .await;
    let repeated = repeated.trans_id.unwrap();
    let posts: Vec<_> = app
        .fake_daraja()
        .callbacks()
        .into_iter()
        .filter(|c| c.kind == CallbackKind::C2bConfirmation && c.reference == repeated)
        .collect();
    assert_eq!(posts.len(), 3);
    assert!(posts.iter().all(|p| p.status == Some(200)), "{posts:?}");
    assert_eq!(
        count(
            &pool,
            &format!("select count(*) from mpesa_c2b_receipts where trans_id = '{repeated}'")
        )
        .await,
        1
    );
    assert_eq!(credited(&pool, 2000, Some(GRACE)).await, 700);
    assert_eq!(receipt_sms(&pool, GRACE).await.len(), 2);
    assert_eq!(
        count(&pool, "select count(*) from mpesa_receipts").await,
        4,
        "every booked receipt registered once"
    );
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn with_validation_on_a_payment_naming_no_chama_is_refused_before_m_pesa_takes_it() {
    let (app, pool) = paybill().await;
    app.fake_daraja().set_c2b_validation(true);

    let refused = pay(
        &app,
        json!({"phone": "0722000444", "amount": 250, "bill_ref": "NOSUCH"}),
    )
    .await;
    assert!(!refused.completed);
    assert_eq!(refused.validation_result.as_deref(), Some("C2B00012"));
    assert_eq!(refused.trans_id, None);
    assert_eq!(
        count(&pool, "select count(*) from mpesa_c2b_receipts").await,
        0
    );

    let accepted = pay(
        &app,
        json!({"phone": "0722000444", "amount": 250, "bill_ref": "UMOJA 2"}),
    )
    .await;
    assert!(accepted.completed);
    assert_eq!(accepted.validation_result.as_deref(), Some("0"));
    assert_eq!(credited(&pool, 2000, Some(OTIENO)).await, 250);
    app.database.assert_ledger_consistent().await;
}
