//! The fake Daraja's paybill endpoints under bad input, v1 registration's
//! hashed payer, and many pushes at once.

use std::collections::HashSet;
use std::sync::Arc;

use pesachama::mpesa::DarajaClient;
use pesachama::mpesa::FakeDaraja;
use pesachama::mpesa::fake::SANDBOX_SHORTCODE;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::daraja_support::{Receiver, fake_with, payment, push_to, raw_post, raw_token, setup};

#[tokio::test]
async fn registration_and_status_queries_with_missing_or_wrong_fields_are_refused() {
    let fake = fake_with(|_| {}).await;
    let receiver = Receiver::start().await;
    let token = raw_token(&fake).await;
    let url = |path: &str| receiver.url.join(path).unwrap().to_string();
    let register = json!({
        "ShortCode": SANDBOX_SHORTCODE, "ResponseType": "Completed",
        "ConfirmationURL": url("paybill/c"), "ValidationURL": url("paybill/v"),
    });
    let refusals = [
        ("ShortCode", json!("600000")),
        ("ResponseType", json!("completed")),
        ("ConfirmationURL", json!("not a url")),
        ("ValidationURL", Value::Null),
    ];
    let path = "/mpesa/c2b/v2/registerurl";
    assert_each_refused(&fake, path, &token, &register, &refusals).await;
    let status_query = json!({
        "Initiator": "testapi", "SecurityCredential": "c2VjcmV0",
        "CommandID": "TransactionStatusQuery", "TransactionID": "NLJ7RT61SV",
        "PartyA": SANDBOX_SHORTCODE, "IdentifierType": "4",
        "ResultURL": url("r"), "QueueTimeOutURL": url("t"), "Remarks": "r", "Occasion": "",
    });
    let refusals = [
        ("Initiator", json!("")),
        ("CommandID", json!("TransactionReversal")),
        ("TransactionID", json!(17)),
        ("PartyA", json!("600000")),
        ("IdentifierType", json!("1")),
        ("ResultURL", json!("http://gw.example/r")),
        ("Remarks", json!("x".repeat(101))),
    ];
    let path = "/mpesa/transactionstatus/v1/query";
    assert_each_refused(&fake, path, &token, &status_query, &refusals).await;
    let (status, _) = raw_post(&fake, path, Some(&token), status_query.to_string()).await;
    assert_eq!(status, 200, "the control query passes");
    receiver.wait_for(1).await;
    assert_eq!(
        fake.callbacks().len(),
        1,
        "only the control query was answered"
    );
}

/// `good` with each field changed in turn is refused as a bad field.
async fn assert_each_refused(
    fake: &FakeDaraja,
    path: &str,
    token: &str,
    good: &Value,
    refusals: &[(&str, Value)],
) {
    for (field, value) in refusals {
        let mut body = good.clone();
        body[*field] = value.clone();
        let (status, answer) = raw_post(fake, path, Some(token), body.to_string()).await;
        assert_eq!(
            (status, answer["errorCode"].as_str()),
            (400, Some("400.002.02")),
            "{field}={value}"
        );
    }
}

#[tokio::test]
async fn a_v1_registration_gets_the_payer_hashed() {
    let fake = fake_with(|_| {}).await;
    let receiver = Receiver::start().await;
    let token = raw_token(&fake).await;
    let register = json!({
        "ShortCode": SANDBOX_SHORTCODE, "ResponseType": "Completed",
        "ConfirmationURL": receiver.url.join("paybill/c").unwrap().to_string(),
        "ValidationURL": receiver.url.join("paybill/v").unwrap().to_string(),
    });
    let (status, answer) = raw_post(
        &fake,
        "/mpesa/c2b/v1/registerurl",
        Some(&token),
        register.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(answer["ResponseCode"], "0");
    assert!(
        answer["OriginatorCoversationID"].is_string(),
        "Safaricom's spelling"
    );
    fake.pay_bill(payment(10, "UMOJA")).await.unwrap();
    let received = receiver.wait_for(1).await;
    let hashed = hex::encode(Sha256::digest(b"254712345678"));
    assert_eq!(received[0].body["MSISDN"], hashed.as_str());
}

#[tokio::test]
async fn many_pushes_at_once_get_distinct_ids_and_receipts() {
    let (fake, receiver, client) = setup().await;
    let client = Arc::new(client);
    let pushes = (0..50).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.stk_push(push_to("0712345678", 10)).await })
    });
    let mut ids = HashSet::new();
    for push in pushes {
        ids.insert(push.await.unwrap().unwrap().checkout_request_id);
    }
    assert_eq!(ids.len(), 50);
    let receipts: HashSet<String> = fake
        .pushes()
        .into_iter()
        .filter_map(|p| p.receipt)
        .collect();
    assert_eq!(receipts.len(), 50);
    assert_eq!(receiver.wait_for(50).await.len(), 50);
    assert_eq!(
        fake.stats().token_requests,
        1,
        "one token for fifty first calls"
    );
}
