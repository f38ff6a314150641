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
        serde_json::from_slice(body).map_err(|e| malformed(e.to_string(), None))?;
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn success(items: Value) -> Vec<u8> {
        json!({"Body": {"stkCallback": {
            "MerchantRequestID": "29115-34620561-1",
            "CheckoutRequestID": "ws_CO_191220191020363925",
            "ResultCode": 0,
            "ResultDesc": "The service request is processed successfully.",
            "CallbackMetadata": {"Item": items}}}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn the_documented_success_reads_in_full() {
        let body = success(json!([
            {"Name": "Amount", "Value": 1.00},
            {"Name": "MpesaReceiptNumber", "Value": "NLJ7RT61SV"},
            {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": 20191219102115u64},
            {"Name": "PhoneNumber", "Value": 254708374149u64}
        ]));
        let callback = parse(&body).unwrap();
        let StkResult::Paid(payment) = callback.result else {
            panic!("not paid")
        };
        assert_eq!(payment.receipt.as_deref(), Some("NLJ7RT61SV"));
        assert_eq!(payment.amount, Some(1));
        assert_eq!(payment.phone.unwrap().as_e164(), "+254708374149");
        assert_eq!(
            payment.paid_at.unwrap().to_rfc3339(),
            "2019-12-19T07:21:15+00:00"
        );
    }

    #[test]
    fn items_are_found_by_name_in_any_order_and_a_masked_phone_is_no_phone() {
        let body = success(json!([
            {"Name": "PhoneNumber", "Value": "2547 ***** 149"},
            {"Name": "MpesaReceiptNumber", "Value": "NLJ7RT61SV"},
            {"Name": "Amount", "Value": 250}
        ]));
        let StkResult::Paid(payment) = parse(&body).unwrap().result else {
            panic!("not paid")
        };
        assert_eq!((payment.amount, payment.phone), (Some(250), None));
    }

    #[test]
    fn a_string_result_code_is_a_failure_with_that_code() {
        let body = json!({"Body": {"stkCallback": {
            "CheckoutRequestID": "ws_CO_1", "ResultCode": "SFC_IC0003",
            "ResultDesc": "operator does not exist"}}});
        let callback = parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(callback.result_code, "SFC_IC0003");
        assert!(matches!(callback.result, StkResult::Failed { .. }));
    }

    #[test]
    fn bodies_we_cannot_act_on_are_malformed() {
        let receipt = json!({"Name": "MpesaReceiptNumber", "Value": "NLJ7RT61SV"});
        for body in [
            b"not json".to_vec(),
            json!({"Body": {}}).to_string().into_bytes(),
            json!({"Body": {"stkCallback": {"ResultCode": 0}}})
                .to_string()
                .into_bytes(),
            json!({"Body": {"stkCallback": {"CheckoutRequestID": 7, "ResultCode": 0}}})
                .to_string()
                .into_bytes(),
            json!({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": [0]}}})
                .to_string()
                .into_bytes(),
            json!({"Body": {"stkCallback": {"CheckoutRequestID": "", "ResultCode": 1}}})
                .to_string()
                .into_bytes(),
            json!({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": 0}}})
                .to_string()
                .into_bytes(),
            success(json!([receipt])),
            success(json!([receipt, {"Name": "Amount", "Value": 10.5}])),
            success(json!([receipt, {"Name": "Amount", "Value": -3}])),
            success(json!([receipt, {"Name": "Amount", "Value": "100"}])),
            success(json!([{"Name": "Amount", "Value": 100},
                           {"Name": "MpesaReceiptNumber", "Value": "bad receipt"}])),
        ] {
            assert!(parse(&body).is_err(), "{}", String::from_utf8_lossy(&body));
        }
    }

    #[test]
    fn a_malformed_success_keeps_its_checkout_id_for_the_record() {
        let body =
            json!({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": 0}}});
        let error = parse(body.to_string().as_bytes()).unwrap_err();
        assert_eq!(error.checkout_request_id.as_deref(), Some("ws_CO_1"));
    }
}
