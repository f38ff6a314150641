//! Daraja's JSON: request bodies, the STK password, answers and error codes
//! (protocols.md 3 and 3.2–3.4). Shared by the real client and the fake, so
//! both read and write the same bytes.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, FixedOffset, Utc};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{MpesaError, StkPushAccepted, StkPushRequest, StkQueryResult};

/// East Africa Time, UTC+3 all year (Kenya has no daylight saving): Daraja
/// reads timestamps in it.
pub(super) const EAT: FixedOffset = match FixedOffset::east_opt(3 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+3 is a valid offset"),
};

/// Daraja's `Timestamp` format, `YYYYMMDDHHmmss`.
pub(super) const TIMESTAMP_FORMAT: &str = "%Y%m%d%H%M%S";

/// Daraja accepts STK pushes into a paybill with this transaction type.
const PAYBILL_ONLINE: &str = "CustomerPayBillOnline";

/// Longest slice of a Daraja body kept in an error message.
const MAX_ERROR_BODY: usize = 200;

/// The paybill side of every STK request.
pub(super) struct Merchant {
    /// Paybill (or store) number, 5–7 digits; also `PartyB`.
    pub shortcode: String,
    /// Lipa Na M-Pesa Online passkey; only ever hashed into the password.
    pub passkey: SecretString,
    /// Full callback URL including our secret path token.
    pub callback_url: SecretString,
}

/// `now` as Daraja's `Timestamp`, in Nairobi time.
pub(super) fn timestamp(now: DateTime<Utc>) -> String {
    now.with_timezone(&EAT).format(TIMESTAMP_FORMAT).to_string()
}

/// `base64(shortcode ‖ passkey ‖ timestamp)`, with the timestamp sent beside it.
pub(super) fn password(shortcode: &str, passkey: &str, timestamp: &str) -> String {
    STANDARD.encode(format!("{shortcode}{passkey}{timestamp}"))
}

/// The `processrequest` body for `req`, stamped `now`.
pub(super) fn push_body(merchant: &Merchant, req: &StkPushRequest, now: DateTime<Utc>) -> Value {
    let timestamp = timestamp(now);
    let phone = req.phone().to_daraja();
    json!({
        "BusinessShortCode": merchant.shortcode,
        "Password": password(&merchant.shortcode, merchant.passkey.expose_secret(), &timestamp),
        "Timestamp": timestamp,
        "TransactionType": PAYBILL_ONLINE,
        "Amount": req.amount(),
        "PartyA": phone,
        "PartyB": merchant.shortcode,
        "PhoneNumber": phone,
        "CallBackURL": merchant.callback_url.expose_secret(),
        "AccountReference": req.account_reference(),
        "TransactionDesc": req.description(),
    })
}

/// The `stkpushquery` body, with a fresh timestamp and password.
pub(super) fn query_body(
    merchant: &Merchant,
    checkout_request_id: &str,
    now: DateTime<Utc>,
) -> Value {
    let timestamp = timestamp(now);
    json!({
        "BusinessShortCode": merchant.shortcode,
        "Password": password(&merchant.shortcode, merchant.passkey.expose_secret(), &timestamp),
        "Timestamp": timestamp,
        "CheckoutRequestID": checkout_request_id,
    })
}

/// Daraja's error body: `{"requestId", "errorCode", "errorMessage"}`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(super) struct ErrorBody {
    #[serde(default)]
    pub error_code: String,
    #[serde(default)]
    pub error_message: String,
}

fn error_body(body: &[u8]) -> ErrorBody {
    serde_json::from_slice(body).unwrap_or_default()
}

/// Whether Daraja refused the bearer token as invalid or expired, which a
/// fresh token fixes.
pub(super) fn is_expired_token(status: StatusCode, body: &[u8]) -> bool {
    status == StatusCode::UNAUTHORIZED
        || matches!(
            error_body(body).error_code.as_str(),
            "404.001.03" | "400.003.01"
        )
}

/// Maps a non-success answer to what the caller should do (protocols.md 3).
pub(super) fn error_from(status: StatusCode, body: &[u8]) -> MpesaError {
    let ErrorBody {
        error_code: code,
        error_message: message,
    } = error_body(body);
    let detail = || format!("{code} {message}");
    match code.as_str() {
        // Bad or expired token (after our one retry), bad auth header, bad
        // grant or auth type on the OAuth call.
        "404.001.03" | "400.003.01" | "404.001.04" => MpesaError::AuthFailed,
        c if c.starts_with("400.008.") => MpesaError::AuthFailed,
        // One code, several meanings: tell them apart by the message.
        "500.001.1001" => {
            let lower = message.to_ascii_lowercase();
            if lower.contains("lock subscriber")
                || lower.contains("being processed")
                || lower.contains("already in process")
            {
                MpesaError::Busy(message)
            } else if lower.contains("credential") {
                // A wrong passkey shows up here as "wrong credentials".
                MpesaError::AuthFailed
            } else {
                MpesaError::InvalidRequest(detail())
            }
        }
        // System busy, spike arrest, quota: nothing was sent, try later.
        "500.003.02" | "500.003.03" => MpesaError::Busy(detail()),
        c if c.starts_with("400.") || c.starts_with("404.") || c.starts_with("405.") => {
            MpesaError::InvalidRequest(detail())
        }
        _ => match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => MpesaError::AuthFailed,
            StatusCode::TOO_MANY_REQUESTS => MpesaError::Busy(format!("HTTP {status}")),
            s if s.is_server_error() => {
                MpesaError::Transient(format!("HTTP {s} {}", excerpt(body)))
            }
            s if s.is_client_error() => {
                MpesaError::InvalidRequest(format!("HTTP {s} {}", excerpt(body)))
            }
            s => MpesaError::BadResponse(format!("HTTP {s} {}", excerpt(body))),
        },
    }
}

/// A network failure or timeout, described without the URL: a habit of
/// printing request details is how secrets end up in logs.
pub(super) fn transport_error(error: reqwest::Error) -> MpesaError {
    let kind = failure_kind(&error);
    MpesaError::Transient(format!("{kind}: {}", error_chain(error.without_url())))
}

/// What kind of network failure it was, in one word.
pub(super) fn failure_kind(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else {
        "transport"
    }
}

/// An error and its causes on one line ("error sending request: connection refused").
fn error_chain(error: impl std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

pub(super) fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .trim()
        .chars()
        .take(MAX_ERROR_BODY)
        .collect()
}

#[derive(Deserialize)]
struct PushResponse {
    #[serde(rename = "MerchantRequestID")]
    merchant_request_id: String,
    #[serde(rename = "CheckoutRequestID")]
    checkout_request_id: String,
    #[serde(rename = "ResponseCode")]
    response_code: Value,
    #[serde(rename = "ResponseDescription", default)]
    response_description: String,
    #[serde(rename = "CustomerMessage", default)]
    customer_message: String,
}

/// Reads the answer to an STK push.
pub(super) fn push_accepted(
    status: StatusCode,
    body: &[u8],
) -> Result<StkPushAccepted, MpesaError> {
    if !status.is_success() {
        return Err(error_from(status, body));
    }
    let response: PushResponse = serde_json::from_slice(body)
        .map_err(|e| MpesaError::BadResponse(format!("{e}: {}", excerpt(body))))?;
    accepted_code(&response.response_code, &response.response_description)?;
    Ok(StkPushAccepted {
        merchant_request_id: response.merchant_request_id,
        checkout_request_id: response.checkout_request_id,
        customer_message: response.customer_message,
    })
}

#[derive(Deserialize)]
struct QueryResponse {
    #[serde(rename = "ResultCode")]
    result_code: Option<Value>,
    #[serde(rename = "ResultDesc", default)]
    result_desc: String,
}

/// Reads the answer to an STK query. "Being processed" arrives as an HTTP 500
/// error body and means the payer has not answered yet.
pub(super) fn query_result(status: StatusCode, body: &[u8]) -> Result<StkQueryResult, MpesaError> {
    if !status.is_success() {
        let error = error_body(body);
        if error.error_code == "500.001.1001"
            && error
                .error_message
                .to_ascii_lowercase()
                .contains("being processed")
        {
            return Ok(StkQueryResult::Pending);
        }
        return Err(error_from(status, body));
    }
    let response: QueryResponse = serde_json::from_slice(body)
        .map_err(|e| MpesaError::BadResponse(format!("{e}: {}", excerpt(body))))?;
    let code = response
        .result_code
        .ok_or_else(|| MpesaError::BadResponse(format!("no ResultCode: {}", excerpt(body))))?;
    // Codes come as strings here ("0", "1032"); a non-numeric one such as
    // "SFC_IC0003" is a configuration bug we cannot express as a number.
    let result_code = number_or_string(&code).ok_or_else(|| {
        MpesaError::BadResponse(format!("ResultCode {code}: {}", response.result_desc))
    })?;
    Ok(StkQueryResult::Completed {
        result_code,
        result_desc: response.result_desc,
    })
}

/// `ResponseCode` "0" means accepted; anything else is a refusal Daraja
/// chose to send as a 200.
pub(super) fn accepted_code(code: &Value, description: &str) -> Result<(), MpesaError> {
    if number_or_string(code) == Some(0) {
        return Ok(());
    }
    Err(MpesaError::InvalidRequest(format!("{code} {description}")))
}

/// A Daraja number sent as a JSON number or as a string of digits.
pub(super) fn number_or_string(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}
