//! What the fake Daraja remembers of a push and reports about it: the
//! chosen outcome with Daraja's result code, and the STK callback JSON.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::StkPushRequest;
use super::wire::{self, EAT};

/// How a faked push ends, with Daraja's result code and text (protocols.md 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FakeOutcome {
    /// 0: paid; the callback carries a receipt number.
    #[default]
    Success,
    /// 1032: the payer dismissed the prompt.
    Cancelled,
    /// 1: not enough money in the payer's M-Pesa account.
    InsufficientFunds,
    /// 1037: the phone could not be reached or nobody answered in time.
    Timeout,
}

impl FakeOutcome {
    /// Daraja's `ResultCode`.
    pub fn result_code(self) -> i64 {
        match self {
            FakeOutcome::Success => 0,
            FakeOutcome::Cancelled => 1032,
            FakeOutcome::InsufficientFunds => 1,
            FakeOutcome::Timeout => 1037,
        }
    }

    /// Daraja's `ResultDesc`.
    pub fn result_desc(self) -> &'static str {
        match self {
            FakeOutcome::Success => "The service request is processed successfully.",
            FakeOutcome::Cancelled => "Request cancelled by user",
            FakeOutcome::InsufficientFunds => "The balance is insufficient for the transaction.",
            FakeOutcome::Timeout => "DS timeout user cannot be reached",
        }
    }
}

/// One push the fake accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedPush {
    /// What was asked for.
    pub request: StkPushRequest,
    /// Daraja's ids, as answered.
    pub merchant_request_id: String,
    pub checkout_request_id: String,
    /// How it ends (fixed when the push is accepted).
    pub outcome: FakeOutcome,
    /// `MpesaReceiptNumber` for a successful outcome: 10 upper-case letters
    /// and digits, unique within this fake.
    pub receipt: Option<String>,
    /// When Daraja "received" it; the callback's `TransactionDate`.
    pub pushed_at: DateTime<Utc>,
}

/// The JSON Daraja would post to the callback URL for `push` (protocols.md
/// 3.3). Metadata comes only on success; consumers must look items up by
/// name, never by position.
pub(super) fn callback_json(push: &RecordedPush) -> Option<Value> {
    let mut callback = json!({
        "MerchantRequestID": push.merchant_request_id,
        "CheckoutRequestID": push.checkout_request_id,
        "ResultCode": push.outcome.result_code(),
        "ResultDesc": push.outcome.result_desc(),
    });
    if let Some(receipt) = &push.receipt {
        let date = push
            .pushed_at
            .with_timezone(&EAT)
            .format(wire::TIMESTAMP_FORMAT);
        let date: u64 = date.to_string().parse().ok()?;
        let phone: u64 = push.request.phone().to_daraja().parse().ok()?;
        // As Daraja sends them: Amount a float, date and phone numbers,
        // and an older-style `Balance` item with no value.
        callback["CallbackMetadata"] = json!({"Item": [
            {"Name": "Amount", "Value": push.request.amount() as f64},
            {"Name": "MpesaReceiptNumber", "Value": receipt},
            {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": date},
            {"Name": "PhoneNumber", "Value": phone},
        ]});
    }
    Some(json!({"Body": {"stkCallback": callback}}))
}
