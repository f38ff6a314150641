//! Daraja's STK callback (protocols.md 3.3), read strictly: what is needed
//! must be there with the right type, metadata items are found by name,
//! `Balance` and unknown fields are ignored. Anything else is malformed,
//! with a reason for the log.

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::mpesa::settle::{Payment, StkResult};
use crate::mpesa::wire::{EAT, TIMESTAMP_FORMAT};
use crate::phone::Msisdn;

/// The table's bound on a CheckoutRequestID.
const MAX_CHECKOUT_ID: usize = 100;
/// The table's bound on a result code.
const MAX_RESULT_CODE: usize = 20;
/// Far above M-Pesa's own per-transaction ceiling: a bigger number is not
/// a payment.
const MAX_AMOUNT: f64 = 1_000_000_000.0;

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Body")]
    body: Body,
}

#[derive(Deserialize)]
struct Body {
    #[serde(rename = "stkCallback")]
    stk_callback: RawCallback,
}

#[derive(Deserialize)]
struct RawCallback {
    #[serde(rename = "CheckoutRequestID")]
    checkout_request_id: String,
    /// A number normally, a string sometimes (`"SFC_IC0003"`).
    #[serde(rename = "ResultCode")]
    result_code: Value,
    #[serde(rename = "ResultDesc", default)]
    result_desc: String,
    #[serde(rename = "CallbackMetadata")]
    metadata: Option<Metadata>,
}

#[derive(Deserialize)]
struct Metadata {
    #[serde(rename = "Item")]
    items: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Value")]
    value: Option<Value>,
}

/// A callback read in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub checkout_request_id: String,
    /// As Daraja sent it, for the stored row.
    pub result_code: String,
    pub result: StkResult,
}

/// Why a body is not a callback we can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub reason: String,
    /// The CheckoutRequestID, when the body had a readable one.
    pub checkout_request_id: Option<String>,
}

fn malformed(reason: impl Into<String>, checkout: Option<&str>) -> Malformed {
    Malformed {
        reason: reason.into(),
        checkout_request_id: checkout.map(str::to_owned),
    }
}

/// Reads a callback body.
pub fn parse(body: &[u8]) -> Result<Callback, Malformed> {
    let envelope: Envelope =
        serde_json::from_slice(body).map_err(|e| malformed(json_error(&e), None))?;
    let raw = envelope.body.stk_callback;
    let id = raw.checkout_request_id.as_str();
    let id_ok =
        (1..=MAX_CHECKOUT_ID).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic());
    if !id_ok {
        return Err(malformed(
            "CheckoutRequestID is empty, long or not printable",
            None,
        ));
    }
    let code = result_code(&raw.result_code)
        .ok_or_else(|| malformed("ResultCode is not a short number or code", Some(id)))?;
    let result = if code == "0" {
        StkResult::Paid(payment(raw.metadata.as_ref()).map_err(|e| malformed(e, Some(id)))?)
    } else {
        StkResult::Failed {
            code: code.clone(),
            desc: raw.result_desc,
        }
    };
    Ok(Callback {
        checkout_request_id: id.to_owned(),
        result_code: code,
        result,
    })
}

/// What kind of JSON error and where, without serde's quote of the
/// offending value: that may be a phone number, and this reason is logged.
fn json_error(error: &serde_json::Error) -> String {
    format!(
        "{:?} JSON error at line {} column {}",
        error.classify(),
        error.line(),
        error.column()
    )
}

fn result_code(value: &Value) -> Option<String> {
    let code = match value {
        Value::Number(n) => n.as_i64()?.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    let ok = (1..=MAX_RESULT_CODE).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(code)
}

/// The success metadata: receipt and amount required, date and phone when
/// readable. A masked or hashed phone is no phone, not a malformed body.
fn payment(metadata: Option<&Metadata>) -> Result<Payment, String> {
    let items = metadata
        .map(|m| m.items.as_slice())
        .ok_or("a success without CallbackMetadata")?;
    let item = |name: &str| {
        items
            .iter()
            .find(|i| i.name == name)
            .and_then(|i| i.value.as_ref())
    };
    let receipt = match item("MpesaReceiptNumber") {
        Some(Value::String(r)) if is_receipt(r) => r.clone(),
        _ => return Err("MpesaReceiptNumber is missing or not a receipt".into()),
    };
    let amount = match item("Amount").and_then(Value::as_f64) {
        Some(a) if (1.0..=MAX_AMOUNT).contains(&a) && a.fract() == 0.0 => a as i64,
        _ => return Err("Amount is missing or not a whole number of shillings".into()),
    };
    let paid_at = item("TransactionDate").and_then(transaction_date);
    let phone = item("PhoneNumber").and_then(|v| match v {
        Value::Number(n) => Msisdn::parse(&format!("+{n}")).ok(),
        Value::String(s) => Msisdn::parse(s).ok(),
        _ => None,
    });
    Ok(Payment {
        receipt: Some(receipt),
        amount: Some(amount),
        phone,
        paid_at,
    })
}

/// As the table's `is_mpesa_receipt`.
fn is_receipt(r: &str) -> bool {
    (6..=20).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// `YYYYMMDDHHmmss` in Nairobi time, as a number or a string.
fn transaction_date(value: &Value) -> Option<DateTime<Utc>> {
    let text = match value {
        Value::Number(n) => n.as_u64()?.to_string(),
        Value::String(s) => s.trim().to_owned(),
        _ => return None,
    };
    let local = NaiveDateTime::parse_from_str(&text, TIMESTAMP_FORMAT).ok()?;
    Some(local.and_local_timezone(EAT).single()?.with_timezone(&Utc))
}
