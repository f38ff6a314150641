//! `FakeDaraja`: Daraja's checks, its ids, chosen outcomes, the query delay
//! and the callback it would post.

use std::time::Duration;

use chrono::{TimeZone, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::fake_check;
use super::wire::{self, Merchant};
use super::*;
use crate::config::Providers;
use crate::phone::Msisdn;

fn fake() -> FakeDaraja {
    FakeDaraja::new(&SecretString::from("cb-token")).unwrap()
}

fn phone(s: &str) -> Msisdn {
    Msisdn::parse(s).unwrap()
}

fn push_to(number: &str, amount: i64) -> StkPushRequest {
    StkPushRequest::new(phone(number), amount, "CHAMA42", "Contribution").unwrap()
}

/// Items of a callback's metadata by name, as a consumer must read them.
fn item<'a>(payload: &'a Value, name: &str) -> Option<&'a Value> {
    payload["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
        .as_array()?
        .iter()
        .find(|i| i["Name"] == name)
        .map(|i| &i["Value"])
}

#[tokio::test]
async fn a_push_is_accepted_with_daraja_shaped_ids_and_recorded() {
    let fake = fake();
    let first = fake.stk_push(push_to("0712345678", 500)).await.unwrap();
    let second = fake.stk_push(push_to("0712345678", 500)).await.unwrap();

    let id = first.checkout_request_id.strip_prefix("ws_CO_").unwrap();
    assert!(
        id.len() > 14 && id.bytes().all(|b| b.is_ascii_digit()),
        "{id}"
    );
    assert_ne!(first.checkout_request_id, second.checkout_request_id);
    assert_ne!(first.merchant_request_id, second.merchant_request_id);
    assert_eq!(
        first.customer_message,
        "Success. Request accepted for processing"
    );
    let pushes = fake.pushes();
    assert_eq!(pushes.len(), 2);
    assert_eq!(pushes[0].checkout_request_id, first.checkout_request_id);
    assert_eq!(pushes[0].request.amount(), 500);
    assert_eq!(pushes[0].outcome, FakeOutcome::Success);
    assert_ne!(pushes[0].receipt, pushes[1].receipt);
}

#[tokio::test]
async fn a_successful_push_completes_at_once_and_its_callback_has_the_metadata() {
    let fake = fake();
    let accepted = fake.stk_push(push_to("0712345678", 250)).await.unwrap();

    let result = fake.stk_query(&accepted.checkout_request_id).await.unwrap();
    assert_eq!(
        result,
        StkQueryResult::Completed {
            result_code: 0,
            result_desc: "The service request is processed successfully.".into()
        }
    );

    let payload = fake
        .callback_payload(&accepted.checkout_request_id)
        .unwrap();
    let callback = &payload["Body"]["stkCallback"];
    assert_eq!(
        callback["MerchantRequestID"],
        accepted.merchant_request_id.as_str()
    );
    assert_eq!(
        callback["CheckoutRequestID"],
        accepted.checkout_request_id.as_str()
    );
    assert_eq!(callback["ResultCode"], 0);
    assert!(callback["ResultDesc"].is_string());
    assert_eq!(item(&payload, "Amount").unwrap().as_f64(), Some(250.0));
    assert_eq!(
        item(&payload, "PhoneNumber").unwrap().as_u64(),
        Some(254712345678)
    );
    let receipt = item(&payload, "MpesaReceiptNumber")
        .unwrap()
        .as_str()
        .unwrap();
    assert_eq!(receipt.len(), 10);
    assert!(
        receipt
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    );
    assert!(receipt.as_bytes()[0].is_ascii_uppercase());
    assert_eq!(Some(receipt), fake.pushes()[0].receipt.as_deref());
    // 14 digits, Nairobi time of the push.
    let date = item(&payload, "TransactionDate").unwrap().as_u64().unwrap();
    let pushed_at = fake.pushes()[0].pushed_at;
    assert_eq!(date.to_string(), wire::timestamp(pushed_at));
}

#[tokio::test]
async fn outcomes_can_be_chosen_per_phone_or_by_default() {
    let fake = fake();
    fake.set_default_outcome(FakeOutcome::Timeout);
    fake.set_outcome_for(&phone("0712345678"), FakeOutcome::Cancelled);
    fake.set_outcome_for(&phone("0722000111"), FakeOutcome::InsufficientFunds);

    for (number, code) in [
        ("0712345678", 1032),
        ("0722000111", 1),
        ("0733123456", 1037),
    ] {
        let accepted = fake.stk_push(push_to(number, 10)).await.unwrap();
        let result = fake.stk_query(&accepted.checkout_request_id).await.unwrap();
        assert!(
            matches!(result, StkQueryResult::Completed { result_code, .. } if result_code == code),
            "{number}: {result:?}"
        );
        let payload = fake
            .callback_payload(&accepted.checkout_request_id)
            .unwrap();
        let callback = &payload["Body"]["stkCallback"];
        assert_eq!(callback["ResultCode"], code);
        // Failures carry no metadata at all.
        assert!(callback.get("CallbackMetadata").is_none());
    }
    assert!(fake.pushes().iter().all(|p| p.receipt.is_none()));
}

#[tokio::test]
async fn a_query_delay_keeps_the_push_pending_until_it_passes() {
    let fake = fake();
    fake.set_query_delay(Duration::from_millis(300));
    let accepted = fake.stk_push(push_to("0712345678", 10)).await.unwrap();
    let id = &accepted.checkout_request_id;

    assert_eq!(fake.stk_query(id).await, Ok(StkQueryResult::Pending));
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(matches!(
        fake.stk_query(id).await,
        Ok(StkQueryResult::Completed { result_code: 0, .. })
    ));
}

#[tokio::test]
async fn an_unknown_checkout_id_is_refused() {
    let fake = fake();
    assert!(matches!(
        fake.stk_query("ws_CO_0").await,
        Err(MpesaError::InvalidRequest(_))
    ));
    assert_eq!(fake.callback_payload("ws_CO_0"), None);
}

#[test]
fn the_callback_path_carries_the_token() {
    assert_eq!(fake().callback_path(), "/mpesa/stk/callback/cb-token");
}

#[test]
fn fake_providers_give_a_reachable_fake() {
    let provider = client_for(&Providers::Fake, &SecretString::from("t")).unwrap();
    assert_eq!(
        provider.fake.unwrap().callback_path(),
        "/mpesa/stk/callback/t"
    );
}

#[test]
fn bodies_daraja_would_refuse_are_refused_with_darajas_errors() {
    let merchant = Merchant {
        shortcode: "174379".into(),
        passkey: SecretString::from("pk"),
        callback_url: SecretString::from("https://pc.example/mpesa/stk/callback/t"),
    };
    let now = Utc.with_ymd_and_hms(2024, 7, 10, 6, 15, 26).unwrap();
    let good = wire::push_body(&merchant, &push_to("0712345678", 10), now);
    assert!(fake_check::push_body(&merchant, &good).is_ok());

    let refused = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        let refusal = fake_check::push_body(&merchant, &body).unwrap_err();
        wire::error_from(refusal.status, &refusal.to_json())
    };
    let invalid = |e| matches!(e, MpesaError::InvalidRequest(_));
    assert!(invalid(refused("Amount", json!(0))));
    assert!(invalid(refused("Amount", json!(1.5))));
    assert!(invalid(refused("PartyA", json!("256772123456"))));
    assert!(invalid(refused("PhoneNumber", json!("0712345678"))));
    assert!(invalid(refused("PartyB", json!("600000"))));
    assert!(invalid(refused(
        "TransactionType",
        json!("CustomerBuyGoodsOnline")
    )));
    assert!(invalid(refused(
        "CallBackURL",
        json!(" https://pc.example/cb")
    )));
    assert!(invalid(refused("AccountReference", json!("ABCDEFGHIJKLM"))));
    assert!(invalid(refused("TransactionDesc", json!("Contributions!"))));
    assert!(invalid(refused("Timestamp", json!("2024"))));
    assert_eq!(
        refused("Password", json!("d3Jvbmc=")),
        MpesaError::AuthFailed
    );
}
