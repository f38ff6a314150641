//! The fake's checks and callback JSON, without HTTP (the HTTP behaviour is
//! tested in `tests/api/daraja_*.rs` with the real client).

use chrono::{Duration as Span, TimeZone, Utc};
use secrecy::SecretString;
use serde_json::{Value, json};

use super::check;
use super::outcome::{FakeOutcome, RecordedPush, callback_json};
use crate::mpesa::wire::{self, Merchant};
use crate::mpesa::{MpesaError, StkPushRequest};
use crate::phone::Msisdn;

const SHORTCODE: &str = "174379";
const PASSKEY: &str = "pk";

fn push_to(number: &str, amount: i64) -> StkPushRequest {
    StkPushRequest::new(
        Msisdn::parse(number).unwrap(),
        amount,
        "CHAMA42",
        "Contribution",
    )
    .unwrap()
}

fn merchant() -> Merchant {
    Merchant {
        shortcode: SHORTCODE.into(),
        passkey: SecretString::from(PASSKEY),
        callback_url: SecretString::from("https://pc.example/mpesa/stk/callback/t"),
    }
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 7, 10, 6, 15, 26).unwrap()
}

/// What the client would see for `body`, sent at `now()`.
fn verdict(body: &Value) -> Result<(), MpesaError> {
    check::password(SHORTCODE, PASSKEY, body, now())
        .and_then(|()| check::push_body(SHORTCODE, body))
        .map_err(|r| wire::error_from(r.status, &r.to_json()))
}

fn good() -> Value {
    wire::push_body(&merchant(), &push_to("0712345678", 10), now())
}

fn with(field: &str, value: Value) -> Value {
    let mut body = good();
    body[field] = value;
    body
}

fn invalid(result: Result<(), MpesaError>) -> bool {
    matches!(result, Err(MpesaError::InvalidRequest(_)))
}

#[test]
fn a_body_the_real_client_writes_passes() {
    assert_eq!(verdict(&good()), Ok(()));
}

#[test]
fn amounts_must_be_whole_shillings_from_1_to_250000() {
    for amount in [
        json!(0),
        json!(-1),
        json!(1.5),
        json!("10"),
        json!(250_001),
        Value::Null,
    ] {
        assert!(
            invalid(verdict(&with("Amount", amount.clone()))),
            "{amount}"
        );
    }
    for amount in [1, 250_000] {
        assert_eq!(verdict(&with("Amount", json!(amount))), Ok(()), "{amount}");
    }
}

#[test]
fn phones_must_be_safaricom_range_daraja_numbers() {
    for phone in [
        "256772123456",
        "0712345678",
        "+254712345678",
        "25471234567",
        "",
    ] {
        assert!(invalid(verdict(&with("PartyA", json!(phone)))), "{phone}");
        assert!(
            invalid(verdict(&with("PhoneNumber", json!(phone)))),
            "{phone}"
        );
    }
    assert_eq!(verdict(&with("PartyA", json!(254110123456u64))), Ok(()));
}

#[test]
fn references_descriptions_and_types_have_daraja_limits() {
    assert!(invalid(verdict(&with(
        "AccountReference",
        json!("ABCDEFGHIJKLM")
    ))));
    assert!(invalid(verdict(&with("AccountReference", json!("")))));
    assert_eq!(
        verdict(&with("AccountReference", json!("ABCDEFGHIJKL"))),
        Ok(())
    );
    assert!(invalid(verdict(&with(
        "TransactionDesc",
        json!("Contributions!")
    ))));
    assert_eq!(
        verdict(&with("TransactionDesc", json!("Mchango wa Ju"))),
        Ok(())
    );
    assert!(invalid(verdict(&with(
        "TransactionType",
        json!("CustomerBuyGoodsOnline")
    ))));
    assert!(invalid(verdict(&with("PartyB", json!("600000")))));
    assert!(invalid(verdict(&with(
        "BusinessShortCode",
        json!("600000")
    ))));
}

#[test]
fn callback_urls_must_be_https_or_loopback_http_without_spaces() {
    for url in [
        " https://pc.example/cb",
        "https://pc.example/c b",
        "http://pc.example/cb",
        "ftp://pc.example/cb",
        "pc.example/cb",
        "",
    ] {
        assert!(
            invalid(verdict(&with("CallBackURL", json!(url)))),
            "{url:?}"
        );
    }
    for url in [
        "https://pc.example/cb",
        "http://127.0.0.1:8080/cb",
        "http://localhost/cb",
    ] {
        assert_eq!(verdict(&with("CallBackURL", json!(url))), Ok(()), "{url}");
    }
}

#[test]
fn c2b_urls_may_not_name_mpesa_or_look_like_commands() {
    assert!(check::c2b_url_ok(
        "https://pc.example/paybill/c2b/confirmation/t"
    ));
    for url in [
        "https://pc.example/mpesa/c2b/confirmation/t",
        "https://pc.example/M-PESA/x",
        "https://safaricom.pc.example/x",
        "https://pc.example/query",
        "http://pc.example/x",
    ] {
        assert!(!check::c2b_url_ok(url), "{url}");
    }
}

#[test]
fn the_timestamp_is_nairobi_time_and_fresh() {
    // A body stamped in UTC is three hours behind Nairobi: refused.
    let utc_stamp = now().format(wire::TIMESTAMP_FORMAT).to_string();
    let mut body = good();
    body["Timestamp"] = json!(utc_stamp);
    body["Password"] = json!(wire::password(SHORTCODE, PASSKEY, &utc_stamp));
    assert!(invalid(verdict(&body)));
    // Stale by more than the window: refused; within it: accepted.
    let old = wire::push_body(
        &merchant(),
        &push_to("0712345678", 10),
        now() - Span::hours(2),
    );
    assert!(invalid(verdict(&old)));
    let drifted = wire::push_body(
        &merchant(),
        &push_to("0712345678", 10),
        now() - Span::minutes(5),
    );
    assert_eq!(verdict(&drifted), Ok(()));
    assert!(invalid(verdict(&with("Timestamp", json!("2024")))));
    assert!(invalid(verdict(&with(
        "Timestamp",
        json!("20241310061526")
    ))));
}

#[test]
fn a_password_of_another_passkey_or_timestamp_is_wrong_credentials() {
    assert_eq!(
        verdict(&with("Password", json!("d3Jvbmc="))),
        Err(MpesaError::AuthFailed)
    );
    let stamp = wire::timestamp(now() - Span::seconds(1));
    let other = wire::password(SHORTCODE, PASSKEY, &stamp);
    assert_eq!(
        verdict(&with("Password", json!(other))),
        Err(MpesaError::AuthFailed)
    );
}

#[test]
fn outcomes_round_trip_through_their_result_codes() {
    for outcome in FakeOutcome::ALL {
        assert_eq!(
            FakeOutcome::from_result_code(outcome.result_code()),
            Some(outcome)
        );
        assert!(!outcome.result_desc().is_empty());
    }
    assert_eq!(FakeOutcome::from_result_code(42), None);
}

fn recorded(outcome: FakeOutcome, receipt: Option<&str>) -> RecordedPush {
    RecordedPush {
        request: push_to("0712345678", 250),
        merchant_request_id: "29115-34620561-1".into(),
        checkout_request_id: "ws_CO_191220191020363925".into(),
        outcome,
        receipt: receipt.map(str::to_owned),
        pushed_at: now(),
        callback_url: "https://pc.example/cb".into(),
    }
}

fn item<'a>(payload: &'a Value, name: &str) -> Option<&'a Value> {
    payload["Body"]["stkCallback"]["CallbackMetadata"]["Item"]
        .as_array()?
        .iter()
        .find(|i| i["Name"] == name)
        .map(|i| &i["Value"])
}

#[test]
fn a_success_callback_carries_darajas_metadata() {
    let payload = callback_json(&recorded(FakeOutcome::Success, Some("NLJ7RT61SV")), 0);
    let callback = &payload["Body"]["stkCallback"];
    assert_eq!(callback["ResultCode"], 0);
    assert_eq!(callback["CheckoutRequestID"], "ws_CO_191220191020363925");
    assert_eq!(item(&payload, "Amount").unwrap().as_f64(), Some(250.0));
    assert_eq!(item(&payload, "MpesaReceiptNumber").unwrap(), "NLJ7RT61SV");
    assert_eq!(
        item(&payload, "PhoneNumber").unwrap().as_u64(),
        Some(254712345678)
    );
    // 14 digits, Nairobi time of the push.
    assert_eq!(
        item(&payload, "TransactionDate").unwrap().as_u64(),
        Some(20240710091526)
    );
}

#[test]
fn a_mismatched_callback_reports_another_amount_and_failures_carry_no_metadata() {
    let payload = callback_json(&recorded(FakeOutcome::Success, Some("NLJ7RT61SV")), -50);
    assert_eq!(item(&payload, "Amount").unwrap().as_f64(), Some(200.0));
    let failed = callback_json(&recorded(FakeOutcome::WrongPin, None), 0);
    assert_eq!(failed["Body"]["stkCallback"]["ResultCode"], 2001);
    assert!(
        failed["Body"]["stkCallback"]
            .get("CallbackMetadata")
            .is_none()
    );
}
