//! Paybill confirmations booked once through `mpesa::c2b`, against the real
//! database as the runtime role: matched by member number or phone, kept in
//! suspense or unallocated until an official allocates them, duplicates and
//! concurrent copies changing nothing. The books are checked after each.

use pesachama::chama::Role;
use pesachama::mpesa::c2b::{self, AllocateError, Confirmed, Payment, WirePayment};
use pesachama::sms::templates::Templates;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::helpers::TestDb;
use crate::seed::{self, PAYBILL_GRACE as GRACE, PAYBILL_OTIENO as OTIENO};

fn texts() -> Templates {
    Templates::load(std::path::Path::new("locales")).unwrap()
}

/// UMOJA with Grace (member 1, Swahili) and Otieno (member 2).
async fn chama() -> (TestDb, PgPool) {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    seed::paybill_payers(&pool).await;
    (db, pool)
}

fn body(trans_id: &str, amount: &str, bill_ref: &str, msisdn: &str) -> Value {
    json!({
        "TransactionType": "Pay Bill", "TransID": trans_id, "TransTime": "20261130101500",
        "TransAmount": amount, "BusinessShortCode": "600966", "BillRefNumber": bill_ref,
        "InvoiceNumber": "", "OrgAccountBalance": "", "ThirdPartyTransID": "",
        "MSISDN": msisdn, "FirstName": "GRACE", "MiddleName": "", "LastName": ""
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

/// Allocates in a transaction of its own, committed only when it succeeds.
async fn allocate(
    pool: &PgPool,
    receipt: &str,
    chama: Option<&str>,
    member_no: i32,
) -> Result<c2b::Allocated, AllocateError> {
    let mut tx = pool.begin().await.unwrap();
    let outcome = c2b::allocate(&mut tx, receipt, chama, member_no).await;
    if outcome.is_ok() {
        tx.commit().await.unwrap();
    }
    outcome
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

async fn savings(pool: &PgPool, phone: &str) -> i64 {
    sqlx::query_scalar(
        "select coalesce(sum(-l.amount), 0)::bigint from journal_lines l
           join ledger_accounts a on a.id = l.account_id and a.code = 2000
           join users u on u.id = l.member_user_id where u.phone = $1",
    )
    .bind(phone)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn suspense(pool: &PgPool) -> i64 {
    scalar(
        pool,
        "select coalesce(sum(-l.amount), 0)::bigint from journal_lines l
           join ledger_accounts a on a.id = l.account_id and a.code = 2020",
    )
    .await
}

#[tokio::test]
async fn a_member_number_books_to_that_member_once_with_a_receipt_sms() {
    let (db, pool) = chama().await;
    let raw = body("TKA1B2C3D4", "1500.00", "umoja-1", "2547 ***** 021");
    assert_eq!(
        confirm(&pool, raw.clone()).await,
        Confirmed::Member {
            how: "member_number"
        }
    );
    assert_eq!(savings(&pool, GRACE).await, 1500);
    let sms: String = sqlx::query_scalar("select message from sms_outbox where phone = $1")
        .bind(GRACE)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        sms.contains("TKA1B2C3D4") && sms.contains("KES 1,500"),
        "{sms}"
    );
    assert_eq!(
        scalar(
            &pool,
            "select count(*) from audit_logs where action = 'mpesa.c2b.booked'"
        )
        .await,
        1
    );

    // Daraja repeats itself: the same TransID changes nothing.
    assert_eq!(confirm(&pool, raw).await, Confirmed::Duplicate);
    assert_eq!(savings(&pool, GRACE).await, 1500);
    assert_eq!(scalar(&pool, "select count(*) from sms_outbox").await, 1);
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_registered_phone_is_recognised_plain_or_hashed() {
    let (db, pool) = chama().await;
    assert_eq!(
        confirm(&pool, body("TKB0000001", "200", "UMOJA", "254711000022")).await,
        Confirmed::Member { how: "phone" }
    );
    let hashed = hex::encode(Sha256::digest("254711000021"));
    assert_eq!(
        confirm(&pool, body("TKB0000002", "300", "Umoja", &hashed)).await,
        Confirmed::Member { how: "phone" }
    );
    // No chama named, but the phone belongs to one member of one chama.
    assert_eq!(
        confirm(&pool, body("TKB0000003", "50", "", "254711000022")).await,
        Confirmed::Member { how: "phone" }
    );
    assert_eq!(savings(&pool, OTIENO).await, 250);
    assert_eq!(savings(&pool, GRACE).await, 300);
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn an_unmatched_member_waits_in_suspense_until_allocated_once() {
    let (db, pool) = chama().await;
    assert_eq!(
        confirm(&pool, body("TKC0000001", "700", "UMOJA", "2547 ***** 999")).await,
        Confirmed::Suspense
    );
    assert_eq!(suspense(&pool).await, 700);
    db.assert_ledger_consistent().await;

    let refused = allocate(&pool, "TKC0000001", Some("JIRANI"), 1).await;
    assert!(
        matches!(refused, Err(AllocateError::OtherChama { .. })),
        "{refused:?}"
    );
    let refused = allocate(&pool, "TKC0000001", None, 9).await;
    assert!(
        matches!(refused, Err(AllocateError::UnknownMember { .. })),
        "{refused:?}"
    );

    let done = allocate(&pool, "TKC0000001", None, 2).await.unwrap();
    assert_eq!(
        (done.chama.as_str(), done.member_no, done.amount),
        ("UMOJA", 2, 700)
    );
    assert_eq!(suspense(&pool).await, 0);
    assert_eq!(savings(&pool, OTIENO).await, 700);
    assert_eq!(
        scalar(
            &pool,
            "select count(*) from audit_logs where action = 'mpesa.c2b.allocated'"
        )
        .await,
        1
    );

    let again = allocate(&pool, "TKC0000001", None, 1).await;
    assert!(
        matches!(again, Err(AllocateError::AlreadyAllocated(_))),
        "{again:?}"
    );
    assert_eq!(savings(&pool, GRACE).await, 0);
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_payment_naming_no_chama_is_kept_unbooked_until_allocated() {
    let (db, pool) = chama().await;
    assert_eq!(
        confirm(
            &pool,
            body("TKD0000001", "400", "NOSUCH-4", "2547 ***** 555")
        )
        .await,
        Confirmed::Unallocated
    );
    assert_eq!(
        scalar(&pool, "select count(*) from journal_entries").await,
        0
    );
    assert_eq!(
        scalar(
            &pool,
            "select count(*) from mpesa_c2b_receipts where match_method = 'none'"
        )
        .await,
        1
    );

    let refused = allocate(&pool, "TKD0000001", None, 1).await;
    assert!(
        matches!(refused, Err(AllocateError::ChamaNeeded(_))),
        "{refused:?}"
    );
    let refused = allocate(&pool, "TKD0000001", Some("NOSUCH"), 1).await;
    assert!(
        matches!(refused, Err(AllocateError::UnknownChama(_))),
        "{refused:?}"
    );
    let refused = allocate(&pool, "TKZZZZZZZZ", Some("UMOJA"), 1).await;
    assert!(
        matches!(refused, Err(AllocateError::UnknownReceipt(_))),
        "{refused:?}"
    );

    allocate(&pool, "TKD0000001", Some("umoja"), 1)
        .await
        .unwrap();
    assert_eq!(savings(&pool, GRACE).await, 400);
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn concurrent_copies_of_one_confirmation_book_it_once() {
    let (db, pool) = chama().await;
    let raw = body("TKE0000001", "1000", "UMOJA-2", "254711000022");
    let copies = (0..10).map(|_| {
        let (pool, raw) = (pool.clone(), raw.clone());
        tokio::spawn(async move { confirm(&pool, raw).await })
    });
    let mut outcomes = Vec::new();
    for copy in copies {
        outcomes.push(copy.await.unwrap());
    }
    let booked = outcomes
        .iter()
        .filter(|o| matches!(o, Confirmed::Member { .. }))
        .count();
    assert_eq!(booked, 1, "{outcomes:?}");
    assert_eq!(savings(&pool, OTIENO).await, 1000);
    assert_eq!(
        scalar(&pool, "select count(*) from mpesa_receipts").await,
        1
    );
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_receipt_its_stk_push_booked_is_kept_not_booked_again() {
    let (db, pool) = chama().await;
    confirm(&pool, body("TKF0000001", "600", "UMOJA-1", "")).await;
    // The same receipt arriving again by the paybill road under another
    // shortcode (Daraja's duplicate across roads): kept, not booked.
    let mut other = body("TKF0000001", "600", "UMOJA-1", "");
    other["BusinessShortCode"] = "174379".into();
    assert_eq!(confirm(&pool, other).await, Confirmed::AlreadyBooked);
    assert_eq!(savings(&pool, GRACE).await, 600);
    assert_eq!(
        scalar(&pool, "select count(*) from mpesa_c2b_receipts").await,
        2
    );
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn validation_refuses_an_account_that_names_no_chama_or_a_bad_amount() {
    let (_db, pool) = chama().await;
    let mut conn = pool.acquire().await.unwrap();
    for (bill_ref, amount, expected) in [
        ("UMOJA-2", "100.00", "0"),
        ("umoja", "100", "0"),
        ("NOSUCH", "100", "C2B00012"),
        ("", "100", "C2B00012"),
        ("UMOJA", "100.50", "C2B00013"),
        ("UMOJA", "0", "C2B00013"),
    ] {
        let raw = body("TKG0000001", amount, bill_ref, "2547 ***** 021");
        let payment = Payment::read(serde_json::from_value(raw).unwrap());
        let verdict = c2b::decide(&mut conn, payment.as_ref()).await.unwrap();
        assert_eq!(verdict.code(), expected, "{bill_ref:?} {amount:?}");
    }
    // Validation decides; it stores and books nothing.
    assert_eq!(
        scalar(&pool, "select count(*) from mpesa_c2b_receipts").await,
        0
    );
}

/// Posts `body` to the paybill route `which` with `token`; `(status, answer)`.
async fn post_route(
    app: &crate::helpers::TestApp,
    which: &str,
    token: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let response = app
        .client
        .post(app.url(&format!("/paybill/c2b/{which}/{token}")))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_paybill_routes_book_once_and_refuse_strangers() {
    use secrecy::ExposeSecret;
    let app = crate::helpers::spawn_app().await;
    let pool = app.state.db.clone();
    seed::chama(&pool, "UMOJA", "Umoja Women Group").await;
    seed::member(&pool, "UMOJA", GRACE, "Grace", Role::Member, None, "sw").await;
    let token = app.state.mpesa_callback_token.expose_secret().to_owned();
    let payment = body("TKH0000001", "250.00", "UMOJA-1", "2547 ***** 021");

    let (status, _) = post_route(
        &app,
        "confirmation",
        "wrong-token",
        payment.to_string().into(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        scalar(&pool, "select count(*) from mpesa_c2b_receipts").await,
        0
    );

    for junk in [&b"not json"[..], b"{}", b"[1,2]", br#"{"TransID": 7}"#] {
        let (status, answer) = post_route(&app, "confirmation", &token, junk.to_vec()).await;
        assert_eq!(
            (status, answer["ResultCode"].clone()),
            (200, json!(0)),
            "{junk:?}"
        );
    }
    let oversized = vec![b'x'; 64 * 1024];
    let (status, _) = post_route(&app, "confirmation", &token, oversized).await;
    assert_ne!(status, 500);
    assert_eq!(
        scalar(&pool, "select count(*) from mpesa_c2b_receipts").await,
        0
    );

    let (status, answer) = post_route(&app, "validation", &token, payment.to_string().into()).await;
    assert_eq!((status, answer["ResultCode"].clone()), (200, json!("0")));
    let unknown = body("TKH0000002", "250", "NOSUCH", "");
    let (_, answer) = post_route(&app, "validation", &token, unknown.to_string().into()).await;
    assert_eq!(answer["ResultCode"], json!("C2B00012"));

    for _ in 0..3 {
        let (status, answer) =
            post_route(&app, "confirmation", &token, payment.to_string().into()).await;
        assert_eq!(
            (status, answer["ResultDesc"].clone()),
            (200, json!("Success"))
        );
    }
    assert_eq!(savings(&pool, GRACE).await, 250);
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn mpesa_allocate_on_the_command_line_books_a_suspense_receipt_once() {
    let (db, pool) = chama().await;
    confirm(&pool, body("TKJ0000001", "900", "UMOJA", "2547 ***** 999")).await;

    let refused = crate::cli::pesachama(
        Some(&db.url),
        &[
            "mpesa",
            "allocate",
            "--receipt",
            "TKJ0000001",
            "--member-no",
            "7",
        ],
    );
    assert!(!refused.status.success());
    let done = crate::cli::pesachama(
        Some(&db.url),
        &[
            "mpesa",
            "allocate",
            "--receipt",
            "TKJ0000001",
            "--member-no",
            "2",
        ],
    );
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let out = crate::cli::stdout(&done);
    assert!(
        out.contains("allocated TKJ0000001 (KES 900) to member 2 of UMOJA"),
        "{out}"
    );
    let again = crate::cli::pesachama(
        Some(&db.url),
        &[
            "mpesa",
            "allocate",
            "--receipt",
            "TKJ0000001",
            "--member-no",
            "2",
        ],
    );
    assert!(!again.status.success());
    assert_eq!(savings(&pool, OTIENO).await, 900);
    db.assert_ledger_consistent().await;
}
