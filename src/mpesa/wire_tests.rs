//! Daraja's JSON as `wire.rs` writes and reads it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeZone, Utc};
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::json;

use super::wire::{self, Merchant};
use super::*;
use crate::phone::Msisdn;

fn merchant() -> Merchant {
    Merchant {
        shortcode: "174379".into(),
        passkey: SecretString::from("passkey"),
        callback_url: SecretString::from("https://pc.example/mpesa/stk/callback/tok"),
    }
}

fn error(status: u16, code: &str, message: &str) -> MpesaError {
    let body = json!({"requestId": "r-1", "errorCode": code, "errorMessage": message});
    wire::error_from(
        StatusCode::from_u16(status).unwrap(),
        body.to_string().as_bytes(),
    )
}

#[test]
fn password_matches_darajas_published_example() {
    let passkey = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";
    assert_eq!(
        wire::password("174379", passkey, "20160216165627"),
        "MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGExZWQyYzkxOTIwMTYwMjE2MTY1NjI3"
    );
}

#[test]
fn timestamps_are_nairobi_time_even_across_midnight() {
    let morning = Utc.with_ymd_and_hms(2024, 7, 10, 6, 15, 26).unwrap();
    assert_eq!(wire::timestamp(morning), "20240710091526");
    let new_year = Utc.with_ymd_and_hms(2024, 12, 31, 22, 30, 0).unwrap();
    assert_eq!(wire::timestamp(new_year), "20250101013000");
}

#[test]
fn a_push_body_has_every_field_and_a_password_of_its_own_timestamp() {
    let phone = Msisdn::parse("0712345678").unwrap();
    let req = StkPushRequest::new(phone, 250, "CHAMA42", "Contribution").unwrap();
    let now = Utc.with_ymd_and_hms(2024, 7, 10, 6, 15, 26).unwrap();

    let body = wire::push_body(&merchant(), &req, now);

    assert_eq!(body["BusinessShortCode"], "174379");
    assert_eq!(body["Timestamp"], "20240710091526");
    let password = STANDARD.decode(body["Password"].as_str().unwrap()).unwrap();
    assert_eq!(password, b"174379passkey20240710091526");
    assert_eq!(body["TransactionType"], "CustomerPayBillOnline");
    assert_eq!(body["Amount"], 250);
    assert_eq!(body["PartyA"], "254712345678");
    assert_eq!(body["PartyB"], "174379");
    assert_eq!(body["PhoneNumber"], "254712345678");
    assert_eq!(
        body["CallBackURL"],
        "https://pc.example/mpesa/stk/callback/tok"
    );
    assert_eq!(body["AccountReference"], "CHAMA42");
    assert_eq!(body["TransactionDesc"], "Contribution");

    let query = wire::query_body(&merchant(), "ws_CO_1", now);
    assert_eq!(query["Password"], body["Password"]);
    assert_eq!(query["CheckoutRequestID"], "ws_CO_1");
}

#[test]
fn error_codes_map_to_what_the_caller_should_do() {
    let invalid = |e| matches!(e, MpesaError::InvalidRequest(_));
    let busy = |e| matches!(e, MpesaError::Busy(_));
    let transient = |e| matches!(e, MpesaError::Transient(_));

    assert!(invalid(error(
        400,
        "400.002.02",
        "Bad Request - Invalid PhoneNumber"
    )));
    assert!(invalid(error(400, "400.002.05", "Invalid Request Payload")));
    assert!(invalid(error(
        500,
        "500.001.1001",
        "Merchant does not exist"
    )));
    assert_eq!(
        error(404, "404.001.03", "Invalid Access Token"),
        MpesaError::AuthFailed
    );
    assert_eq!(
        error(400, "400.003.01", "Invalid Access Token"),
        MpesaError::AuthFailed
    );
    assert_eq!(
        error(500, "500.001.1001", "Wrong credentials"),
        MpesaError::AuthFailed
    );
    assert!(busy(error(
        500,
        "500.001.1001",
        "Unable to lock subscriber, a transaction is already in process for the current subscriber"
    )));
    assert!(busy(error(
        500,
        "500.001.1001",
        "The transaction is being processed"
    )));
    assert!(busy(error(500, "500.003.02", "Spike Arrest Violation")));
    assert!(busy(error(500, "500.003.03", "Quota Violation")));
    assert!(transient(error(
        500,
        "500.003.1001",
        "Internal Server Error"
    )));
    assert!(transient(wire::error_from(
        StatusCode::BAD_GATEWAY,
        b"<html>"
    )));
    assert_eq!(
        wire::error_from(StatusCode::UNAUTHORIZED, b""),
        MpesaError::AuthFailed
    );
}

#[test]
fn only_token_errors_call_for_a_new_token() {
    let body = |code: &str| json!({"errorCode": code}).to_string().into_bytes();
    assert!(wire::is_expired_token(
        StatusCode::NOT_FOUND,
        &body("404.001.03")
    ));
    assert!(wire::is_expired_token(
        StatusCode::BAD_REQUEST,
        &body("400.003.01")
    ));
    assert!(wire::is_expired_token(StatusCode::UNAUTHORIZED, b""));
    assert!(!wire::is_expired_token(
        StatusCode::BAD_REQUEST,
        &body("400.002.02")
    ));
    assert!(!wire::is_expired_token(StatusCode::OK, b"{}"));
}

#[test]
fn a_push_answer_other_than_code_0_is_a_refusal() {
    let answer = |code: &str| {
        json!({"MerchantRequestID": "m", "CheckoutRequestID": "c", "ResponseCode": code,
               "ResponseDescription": "x", "CustomerMessage": "y"})
        .to_string()
    };
    let accepted = wire::push_accepted(StatusCode::OK, answer("0").as_bytes()).unwrap();
    assert_eq!(accepted.checkout_request_id, "c");
    assert_eq!(accepted.customer_message, "y");
    assert!(matches!(
        wire::push_accepted(StatusCode::OK, answer("1").as_bytes()),
        Err(MpesaError::InvalidRequest(_))
    ));
    assert!(matches!(
        wire::push_accepted(StatusCode::OK, b"not json"),
        Err(MpesaError::BadResponse(_))
    ));
}

#[test]
fn query_answers_read_as_pending_or_completed() {
    let query = |status: StatusCode, body: serde_json::Value| {
        wire::query_result(status, body.to_string().as_bytes())
    };
    let processing = json!({"errorCode": "500.001.1001",
                            "errorMessage": "The transaction is being processed"});
    assert_eq!(
        query(StatusCode::INTERNAL_SERVER_ERROR, processing),
        Ok(StkQueryResult::Pending)
    );
    let cancelled = json!({"ResponseCode": "0", "ResultCode": "1032",
                           "ResultDesc": "Request cancelled by user"});
    assert_eq!(
        query(StatusCode::OK, cancelled),
        Ok(StkQueryResult::Completed {
            result_code: 1032,
            result_desc: "Request cancelled by user".into()
        })
    );
    let numeric = json!({"ResultCode": 0, "ResultDesc": "ok"});
    assert!(matches!(
        query(StatusCode::OK, numeric),
        Ok(StkQueryResult::Completed { result_code: 0, .. })
    ));
    let odd = json!({"ResultCode": "SFC_IC0003", "ResultDesc": "The operator does not exist"});
    assert!(matches!(
        query(StatusCode::OK, odd),
        Err(MpesaError::BadResponse(_))
    ));
    let missing = json!({"ResponseCode": "0"});
    assert!(matches!(
        query(StatusCode::OK, missing),
        Err(MpesaError::BadResponse(_))
    ));
    let spike = json!({"errorCode": "500.003.02", "errorMessage": "Spike Arrest Violation"});
    assert!(matches!(
        query(StatusCode::INTERNAL_SERVER_ERROR, spike),
        Err(MpesaError::Busy(_))
    ));
}
