//! The confirmation of a payment and the push's own news of it arriving at
//! the same moment, many times over: one entry and one registered receipt
//! per payment, whichever wins.

use super::*;

const ROUNDS: usize = 20;

#[tokio::test]
async fn a_confirmation_and_the_late_callback_at_once_leave_one_entry_and_one_receipt() {
    let (app, pool) = app().await;
    for round in 0..ROUNDS {
        let checkout = format!("ws_CO_RC{round}");
        let receipt = format!("TKR{round:07}");
        query_booked(&pool, 300, &checkout).await;
        let paybill = confirmation(&receipt, 300, &dan_hashed(), Utc::now());
        let (confirmed, called_back) = tokio::join!(
            post_confirmation(&app, &paybill),
            post_callback(&app, &checkout, &receipt, 300)
        );
        assert_eq!((confirmed, called_back), (200, 200), "round {round}");
    }
    assert_eq!(entries(&pool).await, ROUNDS as i64);
    assert_eq!(
        count(&pool, "select count(*) from mpesa_receipts").await,
        ROUNDS as i64
    );
    // Each push carries its receipt, and each confirmation its push's entry.
    assert_eq!(
        count(
            &pool,
            "select count(*) from mpesa_stk_requests r
               join mpesa_receipts m on m.receipt = r.mpesa_receipt
                                    and m.journal_entry_id = r.journal_entry_id
               join mpesa_c2b_receipts b on b.trans_id = r.mpesa_receipt
                                        and b.journal_entry_id = r.journal_entry_id
              where r.flag is null"
        )
        .await,
        ROUNDS as i64
    );
    assert_eq!(savings(&pool).await, 300 * ROUNDS as i64);
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_confirmation_and_the_query_at_once_leave_one_entry() {
    let (app, pool) = app().await;
    for round in 0..ROUNDS {
        let checkout = format!("ws_CO_RQ{round}");
        let receipt = format!("TKS{round:07}");
        let id = pending(&pool, 250, &checkout, TimeDelta::minutes(2)).await;
        let paybill = confirmation(&receipt, 250, &dan_hashed(), Utc::now());
        let (confirmed, _) = tokio::join!(
            post_confirmation(&app, &paybill),
            settle(&pool, &checkout, paid_per_query(), SettledBy::Query)
        );
        assert_eq!(confirmed, 200, "round {round}");
        // Either the query booked first and the confirmation took its
        // entry, or the confirmation was booked first and the query closed
        // the push as paid by it.
        let (status, attached, _, _) = request(&pool, id).await;
        let (method, _, _, named) = c2b_row(&pool, &receipt).await;
        match status.as_str() {
            "succeeded" => {
                assert_eq!(attached.as_deref(), Some(receipt.as_str()), "round {round}");
                assert_eq!(method.as_deref(), Some("stk_query"), "round {round}");
            }
            "unknown" => assert_eq!(named, Some(id), "round {round}"),
            other => panic!("round {round}: request {other}"),
        }
    }
    assert_eq!(entries(&pool).await, ROUNDS as i64);
    assert_eq!(savings(&pool).await, 250 * ROUNDS as i64);
    app.database.assert_ledger_consistent().await;
}
