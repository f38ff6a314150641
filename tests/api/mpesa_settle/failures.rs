//! Failure callbacks: the request failed with Daraja's code, the member told
//! why in their language, nothing booked.

use serde_json::json;

use super::*;

/// Each code with the words the member reads, in English and Swahili.
const CASES: [(&str, &str, &str); 7] = [
    (
        "1",
        "not enough money in your M-Pesa",
        "huna pesa za kutosha kwenye M-Pesa",
    ),
    (
        "1032",
        "the M-Pesa prompt was cancelled",
        "ombi la M-Pesa lilighairiwa",
    ),
    (
        "1037",
        "your phone could not be reached",
        "simu yako haikupatikana",
    ),
    (
        "2001",
        "the M-Pesa PIN was wrong",
        "PIN ya M-Pesa haikuwa sahihi",
    ),
    (
        "1025",
        "M-Pesa could not complete it",
        "M-Pesa haikuweza kuyakamilisha",
    ),
    (
        "9999",
        "M-Pesa could not complete it",
        "M-Pesa haikuweza kuyakamilisha",
    ),
    (
        "SFC_IC0003",
        "M-Pesa could not complete it",
        "M-Pesa haikuweza kuyakamilisha",
    ),
];

async fn each_code_in(lang: &str) {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, lang).await;
    for (n, (code, en, sw)) in CASES.into_iter().enumerate() {
        let checkout = format!("ws_CO_F{n}");
        let id = contribution(&pool, chama, dan, 1000, &checkout).await;
        // Daraja sends numbers as numbers, `SFC_IC0003` as a string.
        let result_code = code.parse::<i64>().map_or(json!(code), |n| json!(n));
        post_callback(&app, &failure(&checkout, result_code, "Daraja's own words")).await;

        let (status, by, stored_code, flag) = request_state(&pool, id).await;
        assert_eq!(
            (status.as_str(), by.as_deref(), stored_code.as_deref(), flag),
            ("failed", Some("callback"), Some(code), None),
            "{code}"
        );
        let (template, message) = sms_for(&pool, &format!("stk-failed:{checkout}"))
            .await
            .unwrap();
        assert_eq!(template, "sms-payment-failed");
        let words = if lang == "sw" { sw } else { en };
        assert!(message.contains(words), "{code}: {message}");
        assert!(message.contains("KES 1,000"), "{message}");
    }
    assert_count(&pool, "select count(*) from journal_entries", 0).await;
    assert_count(
        &pool,
        "select count(*) from app_events where kind = 'payment.failed'",
        CASES.len() as i64,
    )
    .await;
    assert_count(
        &pool,
        "select count(*) from audit_logs where action = 'mpesa.stk.failed'",
        CASES.len() as i64,
    )
    .await;
    assert!(stored_outcomes(&pool).await.iter().all(|o| o == "failed"));
    app.database.assert_ledger_consistent().await;
}

#[tokio::test]
async fn each_failure_code_fails_the_request_and_tells_the_member_in_english() {
    each_code_in("en").await;
}

#[tokio::test]
async fn each_failure_code_tells_a_swahili_member_in_swahili() {
    each_code_in("sw").await;
}

#[tokio::test]
async fn a_success_after_a_failure_books_nothing_and_flags_the_request() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    let id = contribution(&pool, chama, dan, 400, "ws_CO_FS").await;

    post_callback(
        &app,
        &failure("ws_CO_FS", json!(1032), "Request cancelled by user"),
    )
    .await;
    post_callback(&app, &success("ws_CO_FS", "NLJ7RT6FS1", 400.0, DAN_DARAJA)).await;

    let (status, _, _, flag) = request_state(&pool, id).await;
    assert_eq!(status, "failed");
    assert_eq!(
        flag.as_deref(),
        Some("paid per callback after it was marked failed")
    );
    assert_count(&pool, "select count(*) from journal_entries", 0).await;
    assert_eq!(stored_outcomes(&pool).await, ["failed", "duplicate"]);
    app.database.assert_ledger_consistent().await;
}
