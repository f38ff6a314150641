//! Two requests racing to book one M-Pesa receipt: the registry's primary
//! key lets one win, and the loser's transaction must roll back whole.

use chrono::Utc;
use pesachama::mpesa::settle::{self, Payment, SettleError, SettledBy, Settlement, StkResult};
use pesachama::phone::Msisdn;

use super::*;

fn paid(receipt: &str) -> StkResult {
    StkResult::Paid(Payment {
        receipt: Some(receipt.to_owned()),
        amount: Some(500),
        phone: Some(Msisdn::parse(seed::DAN).unwrap()),
        paid_at: Some(Utc::now()),
    })
}

#[tokio::test]
async fn the_second_booking_of_a_receipt_in_flight_is_refused_and_rolled_back() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    let first = contribution(&pool, chama, dan, 500, "ws_CO_R1").await;
    let second = contribution(&pool, chama, dan, 500, "ws_CO_R2").await;
    let texts = &app.state.sms_texts;

    let mut winner = pool.begin().await.unwrap();
    let won = settle::settle(
        &mut winner,
        texts,
        "ws_CO_R1",
        &paid("NLJ7RTRACE"),
        SettledBy::Callback,
    )
    .await
    .unwrap();
    assert_eq!(won, Settlement::Booked { flagged: false });
    // The loser cannot see the uncommitted receipt, so its check passes; it
    // waits on the winner's locks (the M-Pesa balance row, the receipt key)
    // and its receipt insert fails once the winner commits.
    let state = app.state.clone();
    let loser = tokio::spawn(async move {
        let mut tx = state.db.begin().await.unwrap();
        let lost = settle::settle(
            &mut tx,
            &state.sms_texts,
            "ws_CO_R2",
            &paid("NLJ7RTRACE"),
            SettledBy::Callback,
        )
        .await;
        tx.rollback().await.unwrap();
        lost
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    winner.commit().await.unwrap();

    assert!(matches!(
        loser.await.unwrap(),
        Err(SettleError::ReceiptTaken)
    ));
    assert_eq!(request_state(&pool, second).await.0, "pending");
    // Settled again, as the callback route does after the rollback: the
    // receipt is seen now, and the request closed without booking.
    let mut tx = pool.begin().await.unwrap();
    let again = settle::settle(
        &mut tx,
        texts,
        "ws_CO_R2",
        &paid("NLJ7RTRACE"),
        SettledBy::Callback,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(again, Settlement::Duplicate);
    assert_eq!(request_state(&pool, first).await.0, "succeeded");
    assert_eq!(request_state(&pool, second).await.0, "unknown");
    assert_count(&pool, "select count(*) from journal_entries", 1).await;
    assert_count(&pool, "select count(*) from sms_outbox", 1).await;
    assert_eq!(balance(&pool, chama, dan).await.savings, 500);
    app.database.assert_ledger_consistent().await;
}
