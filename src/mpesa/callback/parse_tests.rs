//! The strict reading of Daraja's STK callback (`parse.rs`).

use serde_json::{Value, json};

use super::parse::*;
use crate::mpesa::settle::StkResult;

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
    let body = json!({"Body": {"stkCallback": {"CheckoutRequestID": "ws_CO_1", "ResultCode": 0}}});
    let error = parse(body.to_string().as_bytes()).unwrap_err();
    assert_eq!(error.checkout_request_id.as_deref(), Some("ws_CO_1"));
}

#[test]
fn the_reason_never_quotes_the_body() {
    let body = json!({"Body": {"stkCallback": {"CheckoutRequestID": 254711000004u64}}});
    let error = parse(body.to_string().as_bytes()).unwrap_err();
    assert!(!error.reason.contains("711000004"), "{}", error.reason);
    assert!(
        error.reason.starts_with("Data JSON error"),
        "{}",
        error.reason
    );
}
