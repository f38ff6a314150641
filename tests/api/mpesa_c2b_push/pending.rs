//! A confirmation that comes while its push is still pending (Safaricom
//! confirms within seconds; the query comes after a minute and a half): it
//! is booked as a paybill payment naming the push, and the query's "paid"
//! then books nothing. A confirmation the gateway could not tie to the push
//! is booked twice with it, and `ledger check` says so.

use pesachama::ledger::check::{self, Mismatch};

use super::*;

#[tokio::test]
async fn a_confirmation_booked_while_its_push_is_pending_keeps_the_query_from_booking_it_again() {
    let (app, pool) = app().await;
    let id = pending(&pool, 400, "ws_CO_PD1", TimeDelta::seconds(30)).await;
    let paybill = confirmation("TKP0000001", 400, &dan_hashed(), Utc::now());
    assert_eq!(post_confirmation(&app, &paybill).await, 200);
    let (method, entry, _, named) = c2b_row(&pool, "TKP0000001").await;
    assert_eq!((method.as_deref(), named), (Some("phone"), Some(id)));
    assert!(entry.is_some());
    assert_eq!(savings(&pool).await, 400);

    assert_eq!(
        settle(&pool, "ws_CO_PD1", paid_per_query(), SettledBy::Query).await,
        Settlement::Duplicate
    );
    let (status, receipt, flag, request_entry) = request(&pool, id).await;
    assert_eq!(
        (status.as_str(), receipt, flag.as_deref(), request_entry),
        (
            "unknown",
            None,
            Some("receipt TKP0000001 already booked (c2b)"),
            None
        )
    );
    assert_eq!(entries(&pool).await, 1);
    assert_eq!(savings(&pool).await, 400);
    app.database.assert_ledger_consistent().await;

    // The callback comes after all, with the same receipt: nothing more.
    assert_eq!(
        post_callback(&app, "ws_CO_PD1", "TKP0000001", 400).await,
        200
    );
    assert_eq!(entries(&pool).await, 1);
    assert_eq!(request(&pool, id).await.0, "unknown");
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_callback_naming_another_receipt_books_the_push_the_confirmation_was_not() {
    let (app, pool) = app().await;
    let id = pending(&pool, 400, "ws_CO_PD2", TimeDelta::seconds(30)).await;
    let paybill = confirmation("TKP0000002", 400, &dan_hashed(), Utc::now());
    assert_eq!(post_confirmation(&app, &paybill).await, 200);
    assert_eq!(
        post_callback(&app, "ws_CO_PD2", "TKP0000003", 400).await,
        200
    );
    let (status, receipt, flag, _) = request(&pool, id).await;
    assert_eq!(
        (status.as_str(), receipt.as_deref(), flag),
        ("succeeded", Some("TKP0000003"), None)
    );
    assert_eq!(entries(&pool).await, 2);
    assert_eq!(savings(&pool).await, 800);
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_payment_booked_by_a_confirmation_and_by_the_query_is_named_by_the_ledger_check() {
    let (app, pool) = app().await;
    let id = pending(&pool, 400, "ws_CO_TWICE", TimeDelta::seconds(30)).await;
    // Safaricom's clock says the payment was made an hour before the push,
    // so the confirmation cannot be tied to it: booked as its own.
    let skewed = Utc::now() - TimeDelta::hours(1);
    let paybill = confirmation("TKT0000001", 400, &dan_hashed(), skewed);
    assert_eq!(post_confirmation(&app, &paybill).await, 200);
    assert_eq!(c2b_row(&pool, "TKT0000001").await.3, None);
    settle(&pool, "ws_CO_TWICE", paid_per_query(), SettledBy::Query).await;
    // Until the callback names the receipt, nothing says the two are one.
    app.database.assert_ledger_consistent().await;

    assert_eq!(
        post_callback(&app, "ws_CO_TWICE", "TKT0000001", 400).await,
        200
    );
    let (_, receipt, flag, entry) = request(&pool, id).await;
    assert_eq!(receipt, None);
    assert_eq!(
        flag.as_deref(),
        Some("receipt TKT0000001 booked twice: by c2b and by the query")
    );
    let paybill_entry = c2b_row(&pool, "TKT0000001").await.1;
    let mut conn = pool.acquire().await.unwrap();
    let report = check::run(&mut conn).await.unwrap();
    assert_eq!(
        report.mismatches,
        vec![Mismatch::BookedTwice {
            chama_code: "UMOJA".into(),
            reference: "ws_CO_TWICE".into(),
            receipt: "TKT0000001".into(),
            entries: (entry.unwrap(), paybill_entry.unwrap()),
        }]
    );
    let text = report.mismatches[0].to_string();
    assert!(
        text.starts_with("payment booked twice: chama UMOJA stk ws_CO_TWICE receipt TKT0000001"),
        "{text}"
    );
}
