//! The fake Daraja's paybill side with the real client: C2B registration,
//! payments with and without validation, Transaction Status; its `/fake`
//! routes over HTTP; and the gateway itself pushing through it.

use pesachama::mpesa::fake::{CallbackKind, Stats};
use pesachama::mpesa::{
    C2bUrls, DarajaClient, MpesaError, TransactionStatusQuery, UnansweredValidation,
};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::daraja_support::{Receiver, payment, posted_by, push_to, setup};
use crate::helpers::spawn_app;

fn urls(receiver: &Receiver, unanswered: UnansweredValidation) -> C2bUrls {
    C2bUrls {
        confirmation: receiver.url.join("paybill/c2b/confirmation/tok").unwrap(),
        validation: receiver.url.join("paybill/c2b/validation/tok").unwrap(),
        unanswered,
    }
}

#[tokio::test]
async fn registration_refuses_urls_safaricom_forbids_and_a_payment_needs_one() {
    let (fake, receiver, client) = setup().await;
    assert!(
        fake.pay_bill(payment(500, "UMOJA")).await.is_err(),
        "nothing registered"
    );
    let mut bad = urls(&receiver, UnansweredValidation::Complete);
    bad.confirmation = receiver.url.join("mpesa/confirmation").unwrap();
    assert!(matches!(
        client.register_urls(&bad).await,
        Err(MpesaError::InvalidRequest(_))
    ));
    let registered = client
        .register_urls(&urls(&receiver, UnansweredValidation::Complete))
        .await
        .unwrap();
    assert_eq!(registered.response_description, "Success");
    assert!(!registered.originator_conversation_id.is_empty());
}

#[tokio::test]
async fn without_validation_a_payment_is_confirmed_in_darajas_shape() {
    let (fake, receiver, client) = setup().await;
    client
        .register_urls(&urls(&receiver, UnansweredValidation::Complete))
        .await
        .unwrap();
    let result = fake.pay_bill(payment(500, "UMOJA-17")).await.unwrap();
    assert!(result.completed);
    assert_eq!(result.validation_result, None);
    assert_eq!(result.confirmation_status, Some(200));
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].path, "/paybill/c2b/confirmation/tok");
    let body = &received[0].body;
    assert_eq!(body["TransID"], result.trans_id.unwrap().as_str());
    assert_eq!(body["TransactionType"], "Pay Bill");
    assert_eq!(body["TransAmount"], "500.00");
    assert_eq!(body["BillRefNumber"], "UMOJA-17");
    assert_eq!(body["BusinessShortCode"], "174379");
    assert_eq!(body["OrgAccountBalance"], "500.00");
    // C2B v2 masks the payer's number.
    assert_eq!(body["MSISDN"], "2547 ***** 678");
    assert_eq!(body["TransTime"].as_str().unwrap().len(), 14);
}

#[tokio::test]
async fn validation_comes_first_and_a_rejection_stops_the_payment() {
    let (fake, receiver, client) = setup().await;
    fake.set_c2b_validation(true);
    client
        .register_urls(&urls(&receiver, UnansweredValidation::Complete))
        .await
        .unwrap();
    let accepted = fake.pay_bill(payment(500, "UMOJA")).await.unwrap();
    assert!(accepted.completed);
    assert_eq!(accepted.validation_result.as_deref(), Some("0"));
    let received = receiver.received();
    let paths: Vec<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/paybill/c2b/validation/tok",
            "/paybill/c2b/confirmation/tok"
        ]
    );
    assert_eq!(received[0].body["OrgAccountBalance"], "");

    receiver.answer_with(json!({"ResultCode": "C2B00012", "ResultDesc": "Rejected"}));
    let rejected = fake.pay_bill(payment(500, "NOSUCH")).await.unwrap();
    assert!(!rejected.completed);
    assert_eq!(rejected.trans_id, None);
    assert_eq!(rejected.validation_result.as_deref(), Some("C2B00012"));
    assert_eq!(
        receiver.received().len(),
        3,
        "no confirmation after a rejection"
    );
}

#[tokio::test]
async fn an_unanswered_validation_does_what_the_registration_said() {
    let (fake, receiver, client) = setup().await;
    fake.set_c2b_validation(true);
    let unreachable = |unanswered| C2bUrls {
        validation: "http://127.0.0.1:9/paybill/v".parse().unwrap(),
        ..urls(&receiver, unanswered)
    };
    client
        .register_urls(&unreachable(UnansweredValidation::Cancel))
        .await
        .unwrap();
    assert!(
        !fake
            .pay_bill(payment(500, "UMOJA"))
            .await
            .unwrap()
            .completed
    );
    client
        .register_urls(&unreachable(UnansweredValidation::Complete))
        .await
        .unwrap();
    let completed = fake.pay_bill(payment(500, "UMOJA")).await.unwrap();
    assert!(completed.completed);
    assert_eq!(completed.confirmation_status, Some(200));
}

#[tokio::test]
async fn transaction_status_posts_the_result_for_a_receipt_and_a_refusal_for_an_unknown_one() {
    let (fake, receiver, client) = setup().await;
    client.stk_push(push_to("0712345678", 300)).await.unwrap();
    let receipt = fake.pushes()[0].receipt.clone().unwrap();
    let query = |receipt: &str| TransactionStatusQuery {
        receipt: receipt.to_owned(),
        initiator: "testapi".into(),
        security_credential: SecretString::from("c2VjcmV0"),
        result_url: receiver.url.join("status/result").unwrap(),
        queue_timeout_url: receiver.url.join("status/timeout").unwrap(),
        remarks: "reconcile".into(),
        occasion: String::new(),
    };
    let accepted = client.transaction_status(&query(&receipt)).await.unwrap();
    assert!(accepted.conversation_id.starts_with("AG_"));
    client
        .transaction_status(&query("NOSUCH0000"))
        .await
        .unwrap();
    // One STK callback and two results.
    let received = receiver.wait_for(3).await;
    let results: Vec<&Value> = received
        .iter()
        .filter(|r| r.path == "/status/result")
        .map(|r| &r.body["Result"])
        .collect();
    let known = results
        .iter()
        .find(|r| r["TransactionID"] == receipt.as_str())
        .unwrap();
    assert_eq!(known["ResultCode"], 0);
    assert_eq!(known["ConversationID"], accepted.conversation_id.as_str());
    let parameters = known["ResultParameters"]["ResultParameter"]
        .as_array()
        .unwrap();
    let value = |key: &str| &parameters.iter().find(|p| p["Key"] == key).unwrap()["Value"];
    assert_eq!(value("ReceiptNo"), receipt.as_str());
    assert_eq!(value("Amount"), 300);
    assert_eq!(value("TransactionStatus"), "Completed");
    let unknown = results
        .iter()
        .find(|r| r["TransactionID"] == "NOSUCH0000")
        .unwrap();
    assert_ne!(unknown["ResultCode"], 0);
    assert!(unknown.get("ResultParameters").is_none());
    assert!(
        posted_by(fake.as_ref(), 3)
            .await
            .iter()
            .any(|c| c.kind == CallbackKind::TransactionStatus)
    );
}

#[tokio::test]
async fn the_fake_routes_steer_and_list_it_over_http_and_refuse_nonsense() {
    let (fake, receiver, client) = setup().await;
    let http = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        http.post(format!("{}{path}", fake.url()))
            .json(&body)
            .send()
    };
    let set = post(
        "/fake/outcome",
        json!({"phone": "0712345678", "result_code": 2001}),
    )
    .await
    .unwrap();
    assert_eq!(set.status(), 204);
    for nonsense in [
        json!({"result_code": 42}),
        json!({"result_code": "0"}),
        json!({"phone": "12", "result_code": 0}),
        json!({"result_code": 0, "copies": 100000}),
        json!({"result_code": 0, "colour": "red"}),
    ] {
        let refused = post("/fake/outcome", nonsense.clone()).await.unwrap();
        assert_eq!(refused.status(), 400, "{nonsense}");
    }
    client.stk_push(push_to("0712345678", 20)).await.unwrap();
    posted_by(&fake, 1).await;
    let get = |path: &str| {
        let url = format!("{}{path}", fake.url());
        let http = http.clone();
        async move {
            http.get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let pushes = get("/fake/pushes").await;
    assert_eq!(pushes["total"], 1);
    assert_eq!(pushes["pushes"][0]["result_code"], 2001);
    assert_eq!(pushes["pushes"][0]["phone"], "254712345678");
    let callbacks = get("/fake/callbacks?limit=5").await;
    assert_eq!(callbacks["callbacks"][0]["status"], 200);
    assert_eq!(callbacks["callbacks"][0]["kind"], "stk");
    let stats: Stats = serde_json::from_value(get("/fake/stats").await).unwrap();
    assert_eq!((stats.pushes, stats.callbacks_answered_ok), (1, 1));

    client
        .register_urls(&urls(&receiver, UnansweredValidation::Complete))
        .await
        .unwrap();
    let paid = post(
        "/fake/c2b",
        json!({"phone": "0712345678", "amount": 40, "bill_ref": "UMOJA"}),
    )
    .await
    .unwrap();
    assert_eq!(paid.status(), 200);
    assert_eq!(paid.json::<Value>().await.unwrap()["completed"], true);
    for nonsense in [
        json!({"phone": "0712345678", "amount": "40", "bill_ref": "UMOJA"}),
        json!({"phone": "0712345678", "amount": 0, "bill_ref": "UMOJA"}),
        json!({"phone": "+256772123456", "amount": 40, "bill_ref": "UMOJA"}),
        json!({"phone": "0712345678", "amount": 40, "bill_ref": "X".repeat(21)}),
        json!({"phone": "0712345678", "amount": 40, "bill_ref": "UMOJA", "copies": 11}),
        json!({"amount": 40}),
    ] {
        let refused = post("/fake/c2b", nonsense.clone()).await.unwrap();
        assert_eq!(refused.status(), 400, "{nonsense}");
    }
}

#[tokio::test]
async fn the_gateway_pushes_through_its_fake_daraja_over_http_and_is_called_back() {
    let app = spawn_app().await;
    let fake = app.fake_daraja();
    let accepted = app
        .state
        .daraja
        .stk_push(push_to("0712345678", 250))
        .await
        .unwrap();
    let pushes = fake.pushes();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0].checkout_request_id, accepted.checkout_request_id);
    let expected = format!("http://{}/mpesa/stk/callback/", app.addr);
    assert!(
        pushes[0].callback_url.starts_with(&expected),
        "{}",
        pushes[0].callback_url
    );
    let posted = posted_by(fake, 1).await;
    assert_eq!(posted.len(), 1);
    assert!(
        posted[0].status.is_some(),
        "the gateway answered the callback"
    );
}
