//! A confirmation of a push that a query booked without its receipt: the
//! receipt joins the push's entry, and nothing is booked again, not by the
//! late callback nor by Daraja repeating the confirmation.

use super::*;

#[tokio::test]
async fn a_confirmation_of_a_query_booked_push_takes_its_entry_and_the_late_callback_adds_nothing()
{
    let (db, pool) = umoja().await;
    let id = query_booked(&pool, 1000, "ws_CO_QB1").await;
    db.assert_ledger_consistent().await;

    let raw = confirmation("TKQ0000001", 1000, &dan_hashed(), Utc::now());
    assert_eq!(
        confirm(&pool, raw.clone()).await,
        Confirmed::ReceiptAttached
    );

    let (status, receipt, flag, entry) = request(&pool, id).await;
    assert_eq!(
        (status.as_str(), receipt.as_deref(), flag),
        ("succeeded", Some("TKQ0000001"), None)
    );
    let dan: Uuid = sqlx::query_scalar("select user_id from mpesa_stk_requests")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        c2b_row(&pool, "TKQ0000001").await,
        (Some("stk_query".into()), entry, Some(dan), None)
    );
    let registered: Option<Uuid> = sqlx::query_scalar(
        "select journal_entry_id from mpesa_receipts where receipt = 'TKQ0000001'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(registered, entry);
    assert_eq!(entries(&pool).await, 1);
    assert_eq!(savings(&pool).await, 1000);
    // The member had the unnumbered receipt from the query; nothing more.
    assert_eq!(count(&pool, "select count(*) from sms_outbox").await, 1);
    assert_eq!(
        count(
            &pool,
            "select count(*) from audit_logs where action = 'mpesa.c2b.receipt_attached'"
        )
        .await,
        1
    );
    db.assert_ledger_consistent().await;

    // The late STK callback of the same payment, and Daraja repeating the
    // confirmation: nothing more.
    assert_eq!(
        settle(
            &pool,
            "ws_CO_QB1",
            paid_per_callback("TKQ0000001", 1000),
            SettledBy::Callback
        )
        .await,
        Settlement::Duplicate
    );
    assert_eq!(confirm(&pool, raw).await, Confirmed::Duplicate);
    assert_eq!(request(&pool, id).await.2, None);
    assert_eq!(entries(&pool).await, 1);
    assert_eq!(count(&pool, "select count(*) from mpesa_receipts").await, 1);
    assert_eq!(savings(&pool).await, 1000);
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn the_oldest_query_booked_push_is_taken_by_a_masked_payer_whose_digits_fit() {
    let (db, pool) = umoja().await;
    let older = pending(&pool, 500, "ws_CO_QB2", TimeDelta::minutes(4)).await;
    let newer = pending(&pool, 500, "ws_CO_QB3", TimeDelta::minutes(3)).await;
    // Booked in the other order: the push's age decides, not the query's.
    settle(&pool, "ws_CO_QB3", paid_per_query(), SettledBy::Query).await;
    settle(&pool, "ws_CO_QB2", paid_per_query(), SettledBy::Query).await;

    let first = confirmation("TKQ0000002", 500, "2547 ***** 004", Utc::now());
    assert_eq!(confirm(&pool, first).await, Confirmed::ReceiptAttached);
    assert_eq!(request(&pool, older).await.1.as_deref(), Some("TKQ0000002"));
    assert_eq!(request(&pool, newer).await.1, None);
    let second = confirmation("TKQ0000003", 500, "254711000004", Utc::now());
    assert_eq!(confirm(&pool, second).await, Confirmed::ReceiptAttached);
    assert_eq!(request(&pool, newer).await.1.as_deref(), Some("TKQ0000003"));
    assert_eq!(entries(&pool).await, 2);
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn another_amount_time_payer_or_member_is_a_payment_of_its_own() {
    let (db, pool) = umoja().await;
    let id = query_booked(&pool, 1000, "ws_CO_QB4").await;
    seed::member(
        &pool,
        "UMOJA",
        "+254711000005",
        "Wanjiru",
        pesachama::chama::Role::Member,
        None,
        "en",
    )
    .await;
    let now = Utc::now();
    let cases = [
        (
            "another amount",
            confirmation("TKQ0000011", 900, &dan_hashed(), now),
        ),
        (
            "paid an hour before the push",
            confirmation("TKQ0000012", 1000, &dan_hashed(), now - TimeDelta::hours(1)),
        ),
        (
            "paid an hour after the query",
            confirmation("TKQ0000013", 1000, &dan_hashed(), now + TimeDelta::hours(1)),
        ),
        (
            "paid from another phone",
            confirmation("TKQ0000014", 1000, "254711000005", now),
        ),
    ];
    for (case, raw) in cases {
        let outcome = confirm(&pool, raw).await;
        assert!(
            matches!(outcome, Confirmed::Member { how: "phone" }),
            "{case}: {outcome:?}"
        );
        assert_eq!(request(&pool, id).await.1, None, "{case}");
        db.assert_ledger_consistent().await;
    }
    // A masked number hides Dan's phone, but its last digits are not his.
    let masked_other = confirmation("TKQ0000016", 1000, "2547 ***** 005", now);
    assert_eq!(confirm(&pool, masked_other).await, Confirmed::Suspense);
    assert_eq!(request(&pool, id).await.1, None);
    let mut other_member = confirmation("TKQ0000015", 1000, "2547 ***** 004", now);
    other_member["BillRefNumber"] = "UMOJA-2".into();
    assert_eq!(
        confirm(&pool, other_member).await,
        Confirmed::Member {
            how: "member_number"
        }
    );
    assert_eq!(request(&pool, id).await.1, None);
    assert_eq!(entries(&pool).await, 7);
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_late_callback_naming_another_receipt_than_the_one_taken_is_flagged() {
    let (db, pool) = umoja().await;
    let id = query_booked(&pool, 700, "ws_CO_QB5").await;
    let raw = confirmation("TKQ0000021", 700, "2547 ***** 004", Utc::now());
    assert_eq!(confirm(&pool, raw).await, Confirmed::ReceiptAttached);
    settle(
        &pool,
        "ws_CO_QB5",
        paid_per_callback("TKQ0000022", 700),
        SettledBy::Callback,
    )
    .await;
    let (_, receipt, flag, _) = request(&pool, id).await;
    assert_eq!(receipt.as_deref(), Some("TKQ0000021"));
    assert_eq!(
        flag.as_deref(),
        Some("callback says receipt TKQ0000022; paybill TKQ0000021 was taken for it")
    );
    assert_eq!(entries(&pool).await, 1);
    db.assert_ledger_consistent().await;
}
