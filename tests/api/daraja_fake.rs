//! The fake Daraja over HTTP with the real client: tokens that expire and
//! are refreshed once however many calls wait, and every refusal Daraja
//! makes, including to hostile requests, leaving nothing recorded.

use std::sync::Arc;
use std::time::Duration;

use pesachama::mpesa::fake::CallbackPlan;
use pesachama::mpesa::{DarajaClient, FakePlan, MpesaError, StkQueryResult};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::daraja_support::{Receiver, client_of, fake_with, push_to, raw_post, raw_token, setup};

#[tokio::test]
async fn tokens_expire_and_the_client_fetches_a_new_one_before_they_do() {
    let fake = fake_with(|c| c.token_lifetime = Duration::from_secs(2)).await;
    let receiver = Receiver::start().await;
    let client = client_of(&fake, &receiver);
    client.stk_push(push_to("0712345678", 10)).await.unwrap();
    client.stk_push(push_to("0712345678", 10)).await.unwrap();
    assert_eq!(fake.stats().token_requests, 1);
    // Kept for half of a short life, then renewed before Daraja drops it.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.stk_push(push_to("0712345678", 10)).await.unwrap();
    assert_eq!(fake.stats().token_requests, 2);
}

#[tokio::test]
async fn a_token_daraja_dropped_is_replaced_once_and_the_call_succeeds() {
    let (fake, _receiver, client) = setup().await;
    client.stk_push(push_to("0712345678", 10)).await.unwrap();
    fake.expire_tokens();
    client.stk_push(push_to("0712345678", 10)).await.unwrap();
    let stats = fake.stats();
    assert_eq!(stats.token_requests, 2);
    assert_eq!(stats.pushes, 2);
    assert_eq!(stats.refused, 1, "only the stale token was refused");
}

#[tokio::test]
async fn many_calls_waiting_on_a_dead_token_share_one_refresh() {
    let (fake, _receiver, client) = setup().await;
    let accepted = client.stk_push(push_to("0712345678", 10)).await.unwrap();
    fake.expire_tokens();
    let client = Arc::new(client);
    let calls = (0..40).map(|_| {
        let client = client.clone();
        let id = accepted.checkout_request_id.clone();
        tokio::spawn(async move { client.stk_query(&id).await })
    });
    for call in calls {
        assert!(matches!(
            call.await.unwrap(),
            Ok(StkQueryResult::Completed { result_code: 0, .. })
        ));
    }
    // Each token request invalidates the one before: a second refresh would
    // have made the first callers fail again.
    assert_eq!(fake.stats().token_requests, 2);
}

#[tokio::test]
async fn wrong_consumer_credentials_or_passkey_are_auth_failures() {
    let fake = fake_with(|_| {}).await;
    let receiver = Receiver::start().await;
    let callback = || SecretString::from("cb-token-0123456789");
    let mut settings = fake.settings(receiver.url.clone(), callback()).unwrap();
    settings.consumer_secret = SecretString::from("guessed");
    let client = pesachama::mpesa::DarajaHttpClient::new(&settings, &callback()).unwrap();
    assert_eq!(
        client.stk_push(push_to("0712345678", 10)).await,
        Err(MpesaError::AuthFailed)
    );
    let mut settings = fake.settings(receiver.url.clone(), callback()).unwrap();
    settings.passkey = SecretString::from("not-the-passkey");
    let client = pesachama::mpesa::DarajaHttpClient::new(&settings, &callback()).unwrap();
    assert_eq!(
        client.stk_push(push_to("0712345678", 10)).await,
        Err(MpesaError::AuthFailed)
    );
    assert!(fake.pushes().is_empty());
}

#[tokio::test]
async fn the_oauth_endpoint_refuses_what_daraja_refuses() {
    let fake = fake_with(|_| {}).await;
    let http = reqwest::Client::new();
    let url = format!("{}/oauth/v1/generate", fake.url());
    let no_grant = http
        .get(&url)
        .basic_auth("fake-consumer-key", Some("fake-consumer-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(no_grant.status(), 400);
    assert_eq!(
        no_grant.json::<Value>().await.unwrap()["errorCode"],
        "400.008.02"
    );
    let bearer = http
        .get(format!("{url}?grant_type=client_credentials"))
        .bearer_auth("x")
        .send()
        .await
        .unwrap();
    assert_eq!(bearer.status(), 400);
    assert_eq!(
        bearer.json::<Value>().await.unwrap()["errorCode"],
        "400.008.01"
    );
    let good = http
        .get(format!("{url}?grant_type=client_credentials"))
        .basic_auth("fake-consumer-key", Some("fake-consumer-secret"))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    // A string, as Daraja really sends it.
    assert_eq!(good["expires_in"], "3599");
}

#[tokio::test]
async fn calls_without_a_live_token_are_refused_before_the_body_is_read() {
    let fake = fake_with(|_| {}).await;
    let path = "/mpesa/stkpush/v1/processrequest";
    let (status, body) = raw_post(&fake, path, None, "{}").await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("404.001.04"))
    );
    let (status, body) = raw_post(&fake, path, Some("made-up"), "{}").await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("404.001.03"))
    );
    let stale = raw_token(&fake).await;
    raw_token(&fake).await;
    let (status, body) = raw_post(&fake, path, Some(&stale), "{}").await;
    assert_eq!(
        (status, body["errorCode"].as_str()),
        (401, Some("404.001.03"))
    );
}

/// A push body as the real client would write it, stamped now.
fn good_push() -> Value {
    let now = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(3 * 3600).unwrap());
    let timestamp = now.format("%Y%m%d%H%M%S").to_string();
    let password = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!(
            "{}{}{timestamp}",
            pesachama::mpesa::fake::SANDBOX_SHORTCODE,
            pesachama::mpesa::fake::SANDBOX_PASSKEY
        ))
    };
    json!({
        "BusinessShortCode": "174379", "Password": password, "Timestamp": timestamp,
        "TransactionType": "CustomerPayBillOnline", "Amount": 10,
        "PartyA": "254712345678", "PartyB": "174379", "PhoneNumber": "254712345678",
        "CallBackURL": "https://gw.example/cb", "AccountReference": "UMOJA",
        "TransactionDesc": "Contribution",
    })
}

#[tokio::test]
async fn every_bad_field_missing_field_wrong_type_and_bad_body_is_refused_and_nothing_recorded() {
    let fake = fake_with(|_| {}).await;
    // No callback for the control push: its URL leads nowhere.
    fake.set_default_plan(FakePlan {
        callback: CallbackPlan {
            copies: 0,
            ..CallbackPlan::default()
        },
        ..FakePlan::default()
    });
    let token = raw_token(&fake).await;
    let path = "/mpesa/stkpush/v1/processrequest";
    let good = good_push();
    let (status, _) = raw_post(&fake, path, Some(&token), good.to_string()).await;
    assert_eq!(status, 200, "the control body passes");

    let cases: Vec<(&str, Value)> = vec![
        ("Amount", json!(0)),
        ("Amount", json!(250_001)),
        ("Amount", json!("10")),
        ("Amount", json!(10.5)),
        ("PartyA", json!("256772123456")),
        ("PhoneNumber", json!("0712345678")),
        ("PhoneNumber", json!(["254712345678"])),
        ("PartyB", json!("600000")),
        ("BusinessShortCode", json!("600000")),
        ("TransactionType", json!("CustomerBuyGoodsOnline")),
        ("CallBackURL", json!("http://gw.example/cb")),
        ("CallBackURL", json!("https://gw.example/c b")),
        ("AccountReference", json!("ABCDEFGHIJKLM")),
        ("TransactionDesc", json!("Contributions!")),
        ("Timestamp", json!("20200101000000")),
        ("Timestamp", json!(true)),
    ];
    for (field, value) in cases {
        let mut body = good.clone();
        body[field] = value.clone();
        let (status, answer) = raw_post(&fake, path, Some(&token), body.to_string()).await;
        assert_eq!(status, 400, "{field}={value}: {answer}");
        assert_eq!(answer["errorCode"], "400.002.02", "{field}={value}");
    }
    for field in [
        "Amount",
        "PhoneNumber",
        "CallBackURL",
        "AccountReference",
        "Timestamp",
    ] {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        let (status, answer) = raw_post(&fake, path, Some(&token), body.to_string()).await;
        assert_eq!(status, 400, "without {field}: {answer}");
    }
    let mut wrong_password = good.clone();
    wrong_password["Password"] = json!("d3Jvbmc=");
    let (status, answer) = raw_post(&fake, path, Some(&token), wrong_password.to_string()).await;
    assert_eq!(
        (status, answer["errorCode"].as_str()),
        (500, Some("500.001.1001"))
    );
    for body in ["not json", "[1,2]", "\"text\"", ""] {
        let (status, answer) = raw_post(&fake, path, Some(&token), body).await;
        assert_eq!(
            (status, answer["errorCode"].as_str()),
            (400, Some("400.002.05")),
            "{body:?}"
        );
    }
    let oversized = format!("{{\"pad\": \"{}\"}}", "x".repeat(64 * 1024));
    let (status, _) = raw_post(&fake, path, Some(&token), oversized).await;
    assert_eq!(status, 413);

    assert_eq!(fake.pushes().len(), 1, "only the control push was recorded");
    assert!(fake.callbacks().is_empty());
}

#[tokio::test]
async fn queries_for_unknown_ids_or_with_bad_passwords_are_refused() {
    let (fake, _receiver, client) = setup().await;
    assert!(matches!(
        client.stk_query("ws_CO_000").await,
        Err(MpesaError::InvalidRequest(_))
    ));
    let token = raw_token(&fake).await;
    let mut body = good_push();
    body["CheckoutRequestID"] = json!("ws_CO_000");
    body["Password"] = json!("d3Jvbmc=");
    let (status, answer) = raw_post(
        &fake,
        "/mpesa/stkpushquery/v1/query",
        Some(&token),
        body.to_string(),
    )
    .await;
    assert_eq!(
        (status, answer["errorCode"].as_str()),
        (500, Some("500.001.1001"))
    );
}
