//! What Daraja checks in a request before accepting it, so the fake refuses
//! what Daraja refuses (protocols.md 3.2, 3.5, 3.7; error codes in 3).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde_json::{Value, json};

use super::super::types::{
    MAX_ACCOUNT_REFERENCE, MAX_DESCRIPTION, MAX_STK_AMOUNT, is_mpesa_number,
};
use super::super::wire::{self, EAT, TIMESTAMP_FORMAT};

/// How far a `Timestamp` may be from Nairobi's clock. Daraja's window is not
/// published (protocols.md 3.2: UNCONFIRMED); an hour either way tolerates
/// clock drift while still refusing a timestamp written in UTC, three hours
/// behind, which is the mistake worth catching.
const TIMESTAMP_WINDOW_SECONDS: i64 = 3600;

/// Words Safaricom forbids in C2B URLs (protocols.md 3.5), any case.
const FORBIDDEN_URL_WORDS: &[&str] = &[
    "mpesa",
    "m-pesa",
    "safaricom",
    "exe",
    "exec",
    "cmd",
    "sql",
    "query",
];

/// A Daraja error answer: HTTP status plus its `errorCode` and `errorMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    /// `500.001.1001` with one of that code's messages ("being processed",
    /// "Wrong credentials", …).
    pub fn code_1001(message: &str) -> Refusal {
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

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = self.to_json();
        (
            self.status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
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

/// `400.002.05`, Daraja's answer to a body that is not a JSON object.
pub(super) fn invalid_payload() -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        code: "400.002.05",
        message: "Invalid Request Payload".into(),
    }
}

/// Shortcode, timestamp and password, common to push and query bodies.
pub(super) fn password(
    shortcode: &str,
    passkey: &str,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    let timestamp = text(body, "Timestamp");
    let stamped = NaiveDateTime::parse_from_str(&timestamp, TIMESTAMP_FORMAT)
        .ok()
        .filter(|_| timestamp.len() == 14);
    let Some(stamped) = stamped else {
        return Err(bad_request("Invalid Timestamp"));
    };
    let nairobi_now = now.with_timezone(&EAT).naive_local();
    if (nairobi_now - stamped).num_seconds().abs() > TIMESTAMP_WINDOW_SECONDS {
        return Err(bad_request("Invalid Timestamp"));
    }
    if text(body, "BusinessShortCode") != shortcode {
        return Err(bad_request("Invalid BusinessShortCode"));
    }
    if text(body, "Password") != wire::password(shortcode, passkey, &timestamp) {
        // Daraja's answer to a password built from the wrong passkey or a
        // timestamp other than the one sent.
        return Err(Refusal::code_1001("Wrong credentials"));
    }
    Ok(())
}

/// The fields of a `processrequest` body after the password.
pub(super) fn push_body(shortcode: &str, body: &Value) -> Result<(), Refusal> {
    if text(body, "TransactionType") != "CustomerPayBillOnline" {
        return Err(bad_request("Invalid TransactionType"));
    }
    // Daraja wants whole shillings: 1.5 or "10" are refused like 0.
    if body["Amount"]
        .as_i64()
        .is_none_or(|a| !(1..=MAX_STK_AMOUNT).contains(&a))
    {
        return Err(bad_request("Invalid Amount"));
    }
    for field in ["PartyA", "PhoneNumber"] {
        if !is_mpesa_number(&text(body, field)) {
            return Err(bad_request(&format!("Invalid {field}")));
        }
    }
    if text(body, "PartyB") != shortcode {
        return Err(bad_request("Invalid PartyB"));
    }
    if !callback_url_ok(&text(body, "CallBackURL")) {
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

/// A URL Daraja would post to: HTTPS, or plain HTTP to loopback (the
/// sandbox takes HTTP; a fake only ever reaches this machine's gateway).
/// Stray spaces are refused as Daraja refuses them.
pub(super) fn callback_url_ok(url: &str) -> bool {
    if url.is_empty() || url.chars().any(char::is_whitespace) {
        return false;
    }
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    match parsed.scheme() {
        "https" => parsed.host().is_some(),
        "http" => crate::config::is_loopback(&parsed),
        _ => false,
    }
}

/// A C2B URL: a callback URL without the words Safaricom forbids in them.
pub(super) fn c2b_url_ok(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    callback_url_ok(url) && !FORBIDDEN_URL_WORDS.iter().any(|w| lower.contains(w))
}

/// A field as text; Daraja takes shortcodes and numbers as JSON strings or numbers.
pub(super) fn text(body: &Value, name: &str) -> String {
    match &body[name] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}
