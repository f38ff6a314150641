//! The STK push worker (issue 15) against real PostgreSQL: each answer
//! Daraja can give and what it does to the intent, a claim left by a dead
//! node, and two workers sharing the queue without pushing anything twice.
//! Accepted pushes go to the fake Daraja over HTTP through the real client; the error classes come
//! from a client that answers every push with one error.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use pesachama::config::MpesaPushSettings;
use pesachama::mpesa::push::Pusher;
use pesachama::mpesa::{
    BoxFuture, C2bRegistered, C2bUrls, DarajaClient, FakeDaraja, Intent, MpesaError,
    StkPushAccepted, StkPushRequest, StkQueryResult, TransactionStatusAccepted,
    TransactionStatusQuery, record_intent,
};
use pesachama::sms::templates::Templates;
use sqlx::PgPool;
use uuid::Uuid;

use crate::daraja_support::Receiver;
use crate::helpers::TestDb;
use crate::seed;

/// A Daraja that answers every push with `answer`, counting the pushes.
struct Scripted {
    answer: Result<StkPushAccepted, MpesaError>,
    pushes: AtomicUsize,
}

impl DarajaClient for Scripted {
    fn stk_push(&self, _: StkPushRequest) -> BoxFuture<'_, Result<StkPushAccepted, MpesaError>> {
        self.pushes.fetch_add(1, Ordering::SeqCst);
        let answer = self.answer.clone();
        Box::pin(async move { answer })
    }

    fn stk_query<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<StkQueryResult, MpesaError>> {
        Box::pin(async { Err(MpesaError::Transient("not asked here".into())) })
    }

    fn register_urls<'a>(
        &'a self,
        _: &'a C2bUrls,
    ) -> BoxFuture<'a, Result<C2bRegistered, MpesaError>> {
        Box::pin(async { Err(MpesaError::InvalidRequest("not asked here".into())) })
    }

    fn transaction_status<'a>(
        &'a self,
        _: &'a TransactionStatusQuery,
    ) -> BoxFuture<'a, Result<TransactionStatusAccepted, MpesaError>> {
        Box::pin(async { Err(MpesaError::InvalidRequest("not asked here".into())) })
    }
}

fn refusing(error: MpesaError) -> Arc<Scripted> {
    Arc::new(Scripted {
        answer: Err(error),
        pushes: AtomicUsize::new(0),
    })
}

/// A Daraja that accepts every push under one CheckoutRequestID.
fn accepting_as(checkout_request_id: &str) -> Arc<Scripted> {
    Arc::new(Scripted {
        answer: Ok(StkPushAccepted {
            merchant_request_id: "29115-34620561-1".into(),
            checkout_request_id: checkout_request_id.into(),
            customer_message: "Success. Request accepted for processing".into(),
        }),
        pushes: AtomicUsize::new(0),
    })
}

/// The fake Daraja over HTTP, the real client to it, and the receiver its
/// callbacks go to (kept alive as long as the test holds it).
async fn fake() -> (Arc<FakeDaraja>, Arc<dyn DarajaClient>, Receiver) {
    let (fake, receiver, client) = crate::daraja_support::setup().await;
    (fake, Arc::new(client), receiver)
}

fn pusher(db: &PgPool, client: Arc<dyn DarajaClient>) -> Pusher {
    let texts = Templates::load(Path::new("locales")).expect("the shipped templates load");
    Pusher::new(
        db.clone(),
        client,
        Arc::new(texts),
        MpesaPushSettings::default(),
    )
}

/// UMOJA and Grace, on a database of their own (no gateway: no other worker).
async fn umoja() -> (TestDb, PgPool, Uuid, Uuid) {
    let test_db = TestDb::new().await;
    let db = test_db.pool().await;
    let (chama, grace) = seed::grace(&db, "en").await;
    (test_db, db, chama, grace)
}

/// Records an intent of `amount` as a confirm hop would.
async fn intent(db: &PgPool, chama: Uuid, grace: Uuid, amount: i64) -> Uuid {
    let key = format!("hop:{}:start_contribution", Uuid::new_v4());
    let mut conn = db.acquire().await.unwrap();
    record_intent(
        &mut conn,
        Intent {
            chama_id: chama,
            user_id: grace,
            purpose: "contribution",
            amount,
            payer: None,
            idempotency_key: &key,
        },
    )
    .await
    .unwrap()
    .expect("recorded")
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    status: String,
    checkout_request_id: Option<String>,
    merchant_request_id: Option<String>,
    push_attempts: i32,
    claimed_at: Option<chrono::DateTime<chrono::Utc>>,
    pushed_at: Option<chrono::DateTime<chrono::Utc>>,
    settled_by: Option<String>,
    result_desc: Option<String>,
    /// Seconds from now.
    next_query_in: Option<f64>,
    next_push_in: Option<f64>,
}

async fn row(db: &PgPool, id: Uuid) -> Row {
    sqlx::query_as(
        "select status, checkout_request_id, merchant_request_id, push_attempts, claimed_at,
                pushed_at, settled_by, result_desc,
                extract(epoch from next_query_at - now())::float8 as next_query_in,
                extract(epoch from next_push_at - now())::float8 as next_push_in
           from mpesa_stk_requests where id = $1",
    )
    .bind(id)
    .fetch_one(db)
    .await
    .unwrap()
}

/// The payment-failed SMS queued so far.
async fn failed_sms(db: &PgPool) -> Vec<String> {
    sqlx::query_scalar(
        "select message from sms_outbox where template = 'sms-payment-failed' order by id",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

#[tokio::test]
async fn copies_of_one_hop_racing_in_their_own_transactions_record_one_intent() {
    let (_test_db, db, chama, grace) = umoja().await;
    let key = "hop:racing:start_contribution";
    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let db = db.clone();
        copies.spawn(async move {
            let mut tx = db.begin().await.unwrap();
            let intent = Intent {
                chama_id: chama,
                user_id: grace,
                purpose: "contribution",
                amount: 1_000,
                payer: None,
                idempotency_key: key,
            };
            let recorded = record_intent(&mut tx, intent).await.unwrap();
            // Hold the transaction open so the copies overlap.
            tokio::time::sleep(Duration::from_millis(50)).await;
            tx.commit().await.unwrap();
            recorded
        });
    }
    let recorded = copies.join_all().await;
    assert_eq!(
        recorded.iter().filter(|r| r.is_some()).count(),
        1,
        "{recorded:?}"
    );
    let rows: i64 = sqlx::query_scalar("select count(*) from mpesa_stk_requests")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[tokio::test]
async fn an_accepted_push_is_pending_with_darajas_ids_and_a_query_time() {
    let (_test_db, db, chama, grace) = umoja().await;
    let id = intent(&db, chama, grace, 1_000).await;
    let (daraja, client, _receiver) = fake().await;
    let round = pusher(&db, client.clone()).push_due().await.unwrap();
    assert_eq!(round.pushed, 1);
    let row = row(&db, id).await;
    assert_eq!(row.status, "pending");
    let [push] = &daraja.pushes()[..] else {
        panic!("one push");
    };
    assert_eq!(
        row.checkout_request_id.as_deref(),
        Some(push.checkout_request_id.as_str())
    );
    assert_eq!(
        row.merchant_request_id.as_deref(),
        Some(push.merchant_request_id.as_str())
    );
    assert_eq!(push.request.amount(), 1_000);
    assert_eq!(push.request.account_reference(), "UMOJA");
    assert_eq!(push.request.phone().as_e164(), seed::GRACE);
    assert_eq!(row.push_attempts, 1);
    assert!(row.pushed_at.is_some());
    let query_in = row.next_query_in.unwrap();
    assert!((80.0..=90.0).contains(&query_in), "{query_in}");
    // Nothing is due any more: a second round pushes nothing.
    assert_eq!(
        pusher(&db, client.clone()).push_due().await.unwrap().pushed,
        0
    );
    assert_eq!(daraja.pushes().len(), 1);
}

#[tokio::test]
async fn a_refused_push_fails_at_once_and_tells_the_member() {
    let (_test_db, db, chama, grace) = umoja().await;
    let id = intent(&db, chama, grace, 1_000).await;
    let daraja = refusing(MpesaError::InvalidRequest("Invalid PhoneNumber".into()));
    pusher(&db, daraja.clone()).push_due().await.unwrap();
    let row = row(&db, id).await;
    assert_eq!(row.status, "failed");
    assert_eq!(row.settled_by.as_deref(), Some("push"));
    assert!(row.result_desc.unwrap().contains("Invalid PhoneNumber"));
    assert_eq!(
        failed_sms(&db).await,
        [
            "PesaChama: your payment of KES 1,000 to Umoja Women Group did not go through: M-Pesa refused the request. Please try again."
        ]
    );
    // Settled: never pushed again, never told twice.
    pusher(&db, daraja.clone()).push_due().await.unwrap();
    assert_eq!(daraja.pushes.load(Ordering::SeqCst), 1);
    assert_eq!(failed_sms(&db).await.len(), 1);
}

#[tokio::test]
async fn a_busy_daraja_is_tried_again_later_then_given_up() {
    let (_test_db, db, chama, grace) = umoja().await;
    let id = intent(&db, chama, grace, 1_000).await;
    let daraja = refusing(MpesaError::Busy("Unable to lock subscriber".into()));
    let worker = pusher(&db, daraja.clone());
    worker.push_due().await.unwrap();
    let first = row(&db, id).await;
    assert_eq!(first.status, "queued");
    assert!(first.claimed_at.is_none(), "free to be claimed again");
    let wait = first.next_push_in.unwrap();
    assert!((20.0..=30.0).contains(&wait), "{wait}");
    // Not due yet: the next round leaves it.
    worker.push_due().await.unwrap();
    assert_eq!(daraja.pushes.load(Ordering::SeqCst), 1);
    let attempts = MpesaPushSettings::default().max_busy_attempts as usize;
    for _ in 1..attempts {
        make_due(&db, id).await;
        worker.push_due().await.unwrap();
    }
    let last = row(&db, id).await;
    assert_eq!(daraja.pushes.load(Ordering::SeqCst), attempts);
    assert_eq!(last.status, "failed");
    assert_eq!(last.settled_by.as_deref(), Some("push"));
    assert_eq!(last.push_attempts, attempts as i32);
    let [sms] = &failed_sms(&db).await[..] else {
        panic!("one SMS");
    };
    assert!(sms.contains("M-Pesa was busy"), "{sms}");
}

#[tokio::test]
async fn refused_credentials_wait_like_busy_and_start_nothing() {
    let (_test_db, db, chama, grace) = umoja().await;
    let id = intent(&db, chama, grace, 1_000).await;
    let daraja = refusing(MpesaError::AuthFailed);
    pusher(&db, daraja.clone()).push_due().await.unwrap();
    let row = row(&db, id).await;
    assert_eq!(row.status, "queued");
    assert!(row.claimed_at.is_none());
    assert!(row.next_push_in.unwrap() > 0.0);
    assert!(failed_sms(&db).await.is_empty());
}

async fn make_due(db: &PgPool, id: Uuid) {
    sqlx::query("update mpesa_stk_requests set next_push_at = now() where id = $1")
        .bind(id)
        .execute(db)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_push_without_a_usable_answer_is_pending_and_never_pushed_again() {
    for error in [
        MpesaError::Transient("timed out".into()),
        MpesaError::BadResponse("not JSON".into()),
    ] {
        let (_test_db, db, chama, grace) = umoja().await;
        let id = intent(&db, chama, grace, 1_000).await;
        let daraja = refusing(error);
        let worker = pusher(&db, daraja.clone());
        worker.push_due().await.unwrap();
        let row = row(&db, id).await;
        assert_eq!(row.status, "pending");
        assert_eq!(row.checkout_request_id, None);
        assert!(row.pushed_at.is_some(), "it may have gone out");
        assert!(row.next_query_in.is_some());
        make_due(&db, id).await;
        worker.push_due().await.unwrap();
        assert_eq!(daraja.pushes.load(Ordering::SeqCst), 1);
        assert!(
            failed_sms(&db).await.is_empty(),
            "not settled: nothing to tell yet"
        );
    }
}

#[tokio::test]
async fn a_claim_left_by_a_dead_node_is_queried_not_pushed_again() {
    let (_test_db, db, chama, grace) = umoja().await;
    let id = intent(&db, chama, grace, 1_000).await;
    // A node claimed it long ago and never wrote back.
    sqlx::query(
        "update mpesa_stk_requests set claimed_at = now() - interval '10 minutes',
                push_attempts = 1
          where id = $1",
    )
    .bind(id)
    .execute(&db)
    .await
    .unwrap();
    let fresh = intent(&db, chama, grace, 500).await;
    let (daraja, client, _receiver) = fake().await;
    let round = pusher(&db, client.clone()).push_due().await.unwrap();
    assert_eq!(round.taken_over, 1);
    let stuck = row(&db, id).await;
    assert_eq!(stuck.status, "pending");
    assert_eq!(stuck.checkout_request_id, None);
    assert!(stuck.next_query_in.is_some());
    let [push] = &daraja.pushes()[..] else {
        panic!("only the fresh intent is pushed");
    };
    assert_eq!(push.request.amount(), 500);
    assert_eq!(row(&db, fresh).await.status, "pending");
}

#[tokio::test]
async fn two_workers_never_push_one_intent_twice() {
    let (_test_db, db, chama, grace) = umoja().await;
    let mut ids = Vec::new();
    for n in 1..=40 {
        ids.push(intent(&db, chama, grace, n).await);
    }
    let (daraja, client, _receiver) = fake().await;
    let (a, b) = (pusher(&db, client.clone()), pusher(&db, client.clone()));
    let drain = |worker: Pusher| async move {
        for _ in 0..20 {
            worker.push_due().await.unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::join!(drain(a), drain(b));
    let pushes = daraja.pushes();
    assert_eq!(pushes.len(), 40);
    let mut amounts: Vec<i64> = pushes.iter().map(|p| p.request.amount()).collect();
    amounts.sort_unstable();
    assert_eq!(
        amounts,
        (1..=40).collect::<Vec<_>>(),
        "each intent pushed once"
    );
    for id in ids {
        let row = row(&db, id).await;
        assert_eq!(row.status, "pending");
        assert_eq!(row.push_attempts, 1);
        assert!(row.checkout_request_id.is_some());
    }
}

#[tokio::test]
async fn a_callback_that_came_before_the_push_was_written_settles_it_once_written() {
    let (test_db, db, chama, grace) = umoja().await;
    let id = intent(&db, chama, grace, 1_000).await;
    // Daraja's callback beat our write of its CheckoutRequestID: kept as
    // unknown by the callback route.
    let early = serde_json::json!({"Body": {"stkCallback": {
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": "ws_CO_early_0001",
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": 1000},
            {"Name": "MpesaReceiptNumber", "Value": "TLE1A2B3C4"},
            {"Name": "TransactionDate", "Value": 20261201102115u64},
            {"Name": "PhoneNumber", "Value": 254711000001u64}]}}}});
    sqlx::query(
        "insert into mpesa_stk_callbacks (checkout_request_id, result_code, matched, outcome, raw)
         values ('ws_CO_early_0001', '0', false, 'unknown', $1)",
    )
    .bind(&early)
    .execute(&db)
    .await
    .unwrap();

    pusher(&db, accepting_as("ws_CO_early_0001"))
        .push_due()
        .await
        .unwrap();

    let (status, by, receipt): (String, Option<String>, Option<String>) = sqlx::query_as(
        "select status, settled_by, mpesa_receipt from mpesa_stk_requests where id = $1",
    )
    .bind(id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), by.as_deref(), receipt.as_deref()),
        ("succeeded", Some("callback"), Some("TLE1A2B3C4"))
    );
    let entries: i64 = sqlx::query_scalar("select count(*) from journal_entries")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(entries, 1);
    test_db.assert_ledger_consistent().await;
}
