//! Callbacks that are not Daraja's: a wrong token or source is refused, a
//! body we cannot read is stored and answered, and nothing else changes.

use serde_json::json;

use super::*;

#[tokio::test]
async fn a_wrong_token_is_404_counted_and_changes_nothing() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    let id = contribution(&pool, chama, dan, 1000, "ws_CO_H1").await;
    let body = success("ws_CO_H1", "NLJ7RT6H10", 1000.0, DAN_DARAJA).to_string();

    for token in ["wrong-token-0123456789", "x", "%00"] {
        let path = format!("{}/{token}", pesachama::mpesa::STK_CALLBACK_PATH);
        let (status, _) = post_bytes(&app, &path, body.clone().into_bytes()).await;
        assert_eq!(status, 404, "{token}");
    }
    let (status, _) =
        post_bytes(&app, pesachama::mpesa::STK_CALLBACK_PATH, body.into_bytes()).await;
    assert_eq!(status, 404);

    assert_eq!(request_state(&pool, id).await.0, "pending");
    assert_count(&pool, "select count(*) from mpesa_stk_callbacks", 0).await;
    assert_count(&pool, "select count(*) from journal_entries", 0).await;
    assert_metric(
        &app,
        r#"pesachama_mpesa_callback_refused_total{reason="token"}"#,
    )
    .await;
}

#[tokio::test]
async fn a_source_outside_the_allow_list_is_refused() {
    let app = spawn_app_with(|raw| {
        raw.insert(
            "MPESA_CALLBACK_ALLOWED_SOURCES".into(),
            "196.201.214.0/24".into(),
        );
        raw.insert("MPESA_RECONCILE_EVERY_SECS".into(), "600".into());
    })
    .await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    let id = contribution(&pool, chama, dan, 1000, "ws_CO_H2").await;
    let body = success("ws_CO_H2", "NLJ7RT6H20", 1000.0, DAN_DARAJA).to_string();

    let (status, _) = post_bytes(&app, &callback_path(&app), body.into_bytes()).await;

    assert_eq!(status, 403);
    assert_eq!(request_state(&pool, id).await.0, "pending");
    assert_count(&pool, "select count(*) from mpesa_stk_callbacks", 0).await;
}

#[tokio::test]
async fn malformed_bodies_are_stored_answered_and_change_nothing() {
    let app = app().await;
    let (pool, chama, dan) = umoja(&app, "en").await;
    let id = contribution(&pool, chama, dan, 1000, "ws_CO_H3").await;
    let oversized = {
        let mut body = success("ws_CO_H3", "NLJ7RT6H30", 1000.0, DAN_DARAJA);
        body["padding"] = json!("x".repeat(20_000));
        body.to_string().into_bytes()
    };
    let bodies: Vec<Vec<u8>> = vec![
        b"not json at all".to_vec(),
        b"".to_vec(),
        vec![0xff, 0xfe, 0x00],
        br#"{"Body": {"stkCallback": {"CheckoutRequestID": "ws\u0000", "ResultCode": 0}}}"#
            .to_vec(),
        json!({"Body": {}}).to_string().into_bytes(),
        json!({"stkCallback": {"CheckoutRequestID": "ws_CO_H3", "ResultCode": 0}})
            .to_string()
            .into_bytes(),
        json!({"Body": {"stkCallback": {"CheckoutRequestID": 12345, "ResultCode": 1032}}})
            .to_string()
            .into_bytes(),
        json!({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_H3", "ResultCode": {"x": 1}}}})
            .to_string()
            .into_bytes(),
        // A success without its metadata: nothing to book.
        json!({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_H3", "ResultCode": 0}}})
            .to_string()
            .into_bytes(),
        success("ws_CO_H3", "NLJ7RT6H30", 10.5, DAN_DARAJA)
            .to_string()
            .into_bytes(),
        success("ws_CO_H3", "lowercase1", 1000.0, DAN_DARAJA)
            .to_string()
            .into_bytes(),
        json!([1, 2, 3]).to_string().into_bytes(),
        oversized,
    ];
    let sent = bodies.len();
    for body in bodies {
        let (status, answer) = post_bytes(&app, &callback_path(&app), body).await;
        assert_eq!(status, 200, "{answer}");
        assert_accepted(&answer);
    }

    assert_eq!(request_state(&pool, id).await.0, "pending");
    assert_count(&pool, "select count(*) from journal_entries", 0).await;
    assert_count(&pool, "select count(*) from sms_outbox", 0).await;
    assert_count(&pool, "select count(*) from app_events", 0).await;
    let outcomes = stored_outcomes(&pool).await;
    assert_eq!(outcomes.len(), sent);
    assert!(outcomes.iter().all(|o| o == "malformed"), "{outcomes:?}");
    assert_count(
        &pool,
        "select count(*) from mpesa_stk_callbacks where matched",
        0,
    )
    .await;
    assert_metric(
        &app,
        r#"pesachama_mpesa_callback_refused_total{reason="malformed"}"#,
    )
    .await;
    app.database.assert_ledger_consistent().await;
}
