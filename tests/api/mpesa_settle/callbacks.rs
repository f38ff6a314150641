//! Success callbacks: booked once with every effect, whatever the copies.

use chrono::Utc;
use pesachama::ledger::{Line, Posting, accounts, post_entry};

use super::*;

#[tokio::test]
async fn a_success_callback_books_once_with_receipt_sms_audit_event_and_registry() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    let id = contribution(&pool, chama, dan, 1000, "ws_CO_1").await;

    post_callback(&app, &success("ws_CO_1", "NLJ7RT61SV", 1000.0, DAN_DARAJA)).await;

    assert_eq!(balance(&pool, chama, dan).await.savings, 1000);
    let (status, by, code, flag) = request_state(&pool, id).await;
    assert_eq!(
        (status.as_str(), by.as_deref(), code.as_deref(), flag),
        ("succeeded", Some("callback"), Some("0"), None)
    );
    let (template, message) = sms_for(&pool, "stk-receipt:ws_CO_1").await.unwrap();
    assert_eq!(template, "sms-receipt");
    assert!(
        message.contains("NLJ7RT61SV") && message.contains("KES 1,000"),
        "{message}"
    );
    assert!(
        message.contains("Your balance is now KES 1,000"),
        "{message}"
    );
    assert_count(
        &pool,
        "select count(*) from audit_logs where action = 'mpesa.stk.booked'",
        1,
    )
    .await;
    assert_count(&pool, "select count(*) from app_events where kind = 'contribution.received' and dedupe_key = 'stk:ws_CO_1'", 1).await;
    assert_count(&pool, "select count(*) from mpesa_receipts where receipt = 'NLJ7RT61SV' and source = 'stk' and amount = 1000", 1).await;
    assert_count(&pool, "select count(*) from mpesa_stk_requests r join mpesa_receipts m on m.journal_entry_id = r.journal_entry_id where r.mpesa_receipt = 'NLJ7RT61SV'", 1).await;
    assert_eq!(stored_outcomes(&pool).await, ["booked"]);
    assert_metric(
        &app,
        r#"pesachama_mpesa_stk_results_total{via="callback",outcome="booked",result_code="0"}"#,
    )
    .await;
    assert_metric(&app, "pesachama_mpesa_stk_callback_delay_seconds_bucket").await;
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_duplicate_callback_books_nothing_more_and_is_still_accepted() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    contribution(&pool, chama, dan, 500, "ws_CO_2").await;
    let body = success("ws_CO_2", "NLJ7RT61SW", 500.0, DAN_DARAJA);

    post_callback(&app, &body).await;
    post_callback(&app, &body).await;

    assert_eq!(balance(&pool, chama, dan).await.savings, 500);
    assert_count(&pool, "select count(*) from journal_entries", 1).await;
    assert_count(&pool, "select count(*) from sms_outbox", 1).await;
    assert_count(&pool, "select count(*) from app_events", 1).await;
    assert_eq!(stored_outcomes(&pool).await, ["booked", "duplicate"]);
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn twelve_concurrent_copies_of_one_callback_book_exactly_once() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    contribution(&pool, chama, dan, 750, "ws_CO_3").await;
    let body = success("ws_CO_3", "NLJ7RT61SX", 750.0, DAN_DARAJA).to_string();
    let url = app.url(&callback_path(&app));

    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (client, url, body) = (app.client.clone(), url.clone(), body.clone());
        copies.spawn(async move {
            let response = client.post(url).body(body).send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        });
    }
    for (status, answer) in copies.join_all().await {
        assert_eq!(status, 200, "{answer}");
        assert_accepted(&answer);
    }

    assert_eq!(balance(&pool, chama, dan).await.savings, 750);
    assert_count(&pool, "select count(*) from journal_entries", 1).await;
    assert_count(&pool, "select count(*) from mpesa_receipts", 1).await;
    assert_count(&pool, "select count(*) from sms_outbox", 1).await;
    let outcomes = stored_outcomes(&pool).await;
    assert_eq!(
        outcomes.iter().filter(|o| *o == "booked").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "duplicate").count(),
        11,
        "{outcomes:?}"
    );
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_different_amount_and_phone_are_booked_as_received_and_flagged() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    let id = contribution(&pool, chama, dan, 1000, "ws_CO_4").await;

    post_callback(
        &app,
        &success("ws_CO_4", "NLJ7RT61SY", 900.0, 254_722_000_999),
    )
    .await;

    assert_eq!(balance(&pool, chama, dan).await.savings, 900);
    let (status, _, _, flag) = request_state(&pool, id).await;
    assert_eq!(status, "succeeded");
    assert_eq!(
        flag.as_deref(),
        Some("amount 900 != 1000; paid from another phone")
    );
    let (paid_amount, paid_phone): (Option<i64>, Option<String>) =
        sqlx::query_as("select paid_amount, paid_phone from mpesa_stk_requests where id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (paid_amount, paid_phone.as_deref()),
        (Some(900), Some("+254722000999"))
    );
    assert_count(
        &pool,
        "select count(*) from mpesa_receipts where amount = 900",
        1,
    )
    .await;
    assert_metric(&app, r#"pesachama_mpesa_stk_flags_total{reason="amount"}"#).await;
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn each_purpose_is_credited_to_its_account() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    for (n, purpose) in ["fine", "loan_repayment", "welfare"]
        .into_iter()
        .enumerate()
    {
        let checkout = format!("ws_CO_P{n}");
        pending_request(&pool, chama, dan, purpose, 100, Some(&checkout), Utc::now()).await;
        post_callback(
            &app,
            &success(&checkout, &format!("NLJ7RT6P{n}A"), 100.0, DAN_DARAJA),
        )
        .await;
    }

    let credited: Vec<(i32, i64)> = sqlx::query_as(
        "select a.code, sum(l.amount)::bigint from journal_lines l
           join ledger_accounts a on a.id = l.account_id
          group by a.code order by a.code",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        credited,
        [(1000, 300), (1100, -100), (3100, -100), (4010, -100)]
    );
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_receipt_a_paybill_confirmation_booked_closes_the_request_without_booking() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    let id = contribution(&pool, chama, dan, 300, "ws_CO_5").await;
    // The paybill road booked the same payment first, to suspense.
    let mut tx = pool.begin().await.unwrap();
    let lines = [
        Line {
            account_code: accounts::MPESA,
            member: None,
            amount: 300,
        },
        Line {
            account_code: 2020,
            member: None,
            amount: -300,
        },
    ];
    let Posting::Posted(entry) = post_entry(
        &mut tx,
        chama,
        "c2b:174379:NLJ7RT61SZ",
        "Paybill",
        Utc::now(),
        &lines,
    )
    .await
    .unwrap() else {
        panic!("a fresh key posts");
    };
    sqlx::query(
        "insert into mpesa_receipts (receipt, source, chama_id, amount, journal_entry_id)
         values ('NLJ7RT61SZ', 'c2b', $1, 300, $2)",
    )
    .bind(chama)
    .bind(entry)
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();

    post_callback(&app, &success("ws_CO_5", "NLJ7RT61SZ", 300.0, DAN_DARAJA)).await;
    // Nothing left for a query to book: the request is closed.
    pesachama::mpesa::reconcile::pass(&app.state).await.unwrap();

    let (status, by, _, flag) = request_state(&pool, id).await;
    assert_eq!(
        (status.as_str(), by.as_deref(), flag.as_deref()),
        (
            "unknown",
            Some("callback"),
            Some("receipt NLJ7RT61SZ already booked (c2b)")
        )
    );
    assert_eq!(balance(&pool, chama, dan).await.savings, 0);
    assert_count(&pool, "select count(*) from journal_entries", 1).await;
    assert_count(
        &pool,
        "select count(*) from audit_logs where action = 'mpesa.stk.receipt_taken'",
        1,
    )
    .await;
    assert_eq!(stored_outcomes(&pool).await, ["duplicate"]);
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_callback_for_an_unknown_request_is_stored_unmatched_and_answered() {
    let app = app().await;
    let (pool, _, _) = umoja(&app, "en").await;

    post_callback(
        &app,
        &success("ws_CO_nobody", "NLJ7RT6100", 100.0, DAN_DARAJA),
    )
    .await;

    let (matched, outcome, code): (bool, String, Option<String>) = sqlx::query_as(
        "select matched, outcome, result_code from mpesa_stk_callbacks
          where checkout_request_id = 'ws_CO_nobody'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (matched, outcome.as_str(), code.as_deref()),
        (false, "unknown", Some("0"))
    );
    assert_count(&pool, "select count(*) from journal_entries", 0).await;
    assert_count(&pool, "select count(*) from mpesa_receipts", 0).await;
    app.database.assert_ledger_consistent().await;
}
