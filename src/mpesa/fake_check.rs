//! What Daraja checks in an STK body before accepting it, so the fake refuses
//! what Daraja refuses (protocols.md 3.2, error codes in 3).

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::types::{MAX_ACCOUNT_REFERENCE, MAX_DESCRIPTION, is_mpesa_number};
use super::wire::{self, Merchant};

/// A Daraja error answer: HTTP status plus its `errorCode` and `errorMessage`.
pub(super) struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    /// `500.001.1001` with one of that code's "busy" messages.
    pub fn busy(message: &str) -> Refusal {
        Refusal {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "500.001.1001",
            message: message.to_owned(),
        }
    }

    /// The body Daraja would send.
    pub fn to_json(&self) -> Vec<u8> {
        json!({
            "requestId": uuid::Uuid::new_v4().to_string(),
            "errorCode": self.code,
            "errorMessage": self.message,
        })
        .to_string()
        .into_bytes()
    }
}

/// `400.002.02`, Daraja's answer to a bad field.
pub(super) fn bad_request(what: &str) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "400.002.02",
        message: format!("Bad Request - {what}"),
    }
}

/// Shortcode, timestamp and password, common to push and query bodies.
pub(super) fn password(merchant: &Merchant, body: &Value) -> Result<(), Refusal> {
    let timestamp = text(body, "Timestamp");
    if timestamp.len() != 14 || !timestamp.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_request("Invalid Timestamp"));
    }
    if text(body, "BusinessShortCode") != merchant.shortcode {
        return Err(bad_request("Invalid BusinessShortCode"));
    }
    let expected = wire::password(
        &merchant.shortcode,
        merchant.passkey.expose_secret(),
        &timestamp,
    );
    if text(body, "Password") != expected {
        // Daraja's answer to a password built from the wrong passkey or a
        // timestamp other than the one sent.
        return Err(Refusal {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "500.001.1001",
            message: "Wrong credentials".into(),
        });
    }
    Ok(())
}

/// Every field of a `processrequest` body.
pub(super) fn push_body(merchant: &Merchant, body: &Value) -> Result<(), Refusal> {
    password(merchant, body)?;
    if text(body, "TransactionType") != "CustomerPayBillOnline" {
        return Err(bad_request("Invalid TransactionType"));
    }
    // Daraja wants whole shillings: 1.5 or "10" are refused like 0.
    if body["Amount"].as_i64().is_none_or(|a| a < 1) {
        return Err(bad_request("Invalid Amount"));
    }
    for field in ["PartyA", "PhoneNumber"] {
        if !is_mpesa_number(&text(body, field)) {
            return Err(bad_request(&format!("Invalid {field}")));
        }
    }
    if text(body, "PartyB") != merchant.shortcode {
        return Err(bad_request("Invalid PartyB"));
    }
    let callback = text(body, "CallBackURL");
    let web = callback.starts_with("https://") || callback.starts_with("http://");
    if !web || callback.chars().any(char::is_whitespace) {
        return Err(bad_request("Invalid CallBackURL"));
    }
    let reference = text(body, "AccountReference");
    if !(1..=MAX_ACCOUNT_REFERENCE).contains(&reference.chars().count()) {
        return Err(bad_request("Invalid AccountReference"));
    }
    if text(body, "TransactionDesc").chars().count() > MAX_DESCRIPTION {
        return Err(bad_request("Invalid TransactionDesc"));
    }
    Ok(())
}

/// A field as text; Daraja takes shortcodes and numbers as JSON strings or numbers.
fn text(body: &Value, name: &str) -> String {
    match &body[name] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}
