//! How the fake Daraja ends a push: the payer's outcome with Daraja's result
//! code, and how its callback is delivered (when, how many copies, whether
//! at all), plus the STK callback JSON itself.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::super::StkPushRequest;
use super::super::wire::{self, EAT};

/// How a faked push ends, with Daraja's result code and text (protocols.md 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FakeOutcome {
    /// 0: paid; the callback carries a receipt number.
    #[default]
    Success,
    /// 1: not enough money in the payer's M-Pesa account.
    InsufficientFunds,
    /// 1019: the prompt expired before it was processed.
    Expired,
    /// 1025: Daraja could not send the prompt.
    PushError,
    /// 1032: the payer dismissed the prompt.
    Cancelled,
    /// 1037: the phone could not be reached or nobody answered in time.
    Timeout,
    /// 2001: the payer entered a wrong M-Pesa PIN.
    WrongPin,
}

impl FakeOutcome {
    /// Every outcome, for tests that walk them all.
    pub const ALL: [FakeOutcome; 7] = [
        FakeOutcome::Success,
        FakeOutcome::InsufficientFunds,
        FakeOutcome::Expired,
        FakeOutcome::PushError,
        FakeOutcome::Cancelled,
        FakeOutcome::Timeout,
        FakeOutcome::WrongPin,
    ];

    /// Daraja's `ResultCode`.
    pub fn result_code(self) -> i64 {
        match self {
            FakeOutcome::Success => 0,
            FakeOutcome::InsufficientFunds => 1,
            FakeOutcome::Expired => 1019,
            FakeOutcome::PushError => 1025,
            FakeOutcome::Cancelled => 1032,
            FakeOutcome::Timeout => 1037,
            FakeOutcome::WrongPin => 2001,
        }
    }

    /// The outcome with this `ResultCode`, if the fake knows it.
    pub fn from_result_code(code: i64) -> Option<FakeOutcome> {
        FakeOutcome::ALL
            .into_iter()
            .find(|o| o.result_code() == code)
    }

    /// Daraja's `ResultDesc`.
    pub fn result_desc(self) -> &'static str {
        match self {
            FakeOutcome::Success => "The service request is processed successfully.",
            FakeOutcome::InsufficientFunds => "The balance is insufficient for the transaction.",
            FakeOutcome::Expired => "Transaction has expired",
            FakeOutcome::PushError => "An error occurred while sending a push request",
            FakeOutcome::Cancelled => "Request cancelled by user",
            FakeOutcome::Timeout => "DS timeout user cannot be reached",
            FakeOutcome::WrongPin => "The initiator information is invalid.",
        }
    }
}

/// When and how the callback of a push is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallbackPlan {
    /// Copies posted; 0 is a callback that never comes (the query still
    /// reports the outcome).
    pub copies: u32,
    /// Post the copies all at once rather than one after another.
    pub concurrent: bool,
    /// Hold the callback until an STK query has reported the outcome: the
    /// late callback after reconciliation already settled the push.
    pub after_query: bool,
    /// Added to the amount in the callback's metadata (a callback that
    /// disagrees with the push); 0 reports the amount pushed.
    pub amount_delta: i64,
}

impl Default for CallbackPlan {
    fn default() -> CallbackPlan {
        CallbackPlan {
            copies: 1,
            concurrent: false,
            after_query: false,
            amount_delta: 0,
        }
    }
}

/// Everything the fake decides about a push when it accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FakePlan {
    pub outcome: FakeOutcome,
    /// How long the payer takes: until then the query answers "being
    /// processed"; then the callback is posted.
    pub decide_after: Duration,
    pub callback: CallbackPlan,
    /// How long Daraja takes to answer the push itself. The push is taken
    /// (and its callback planned) at once; a gateway that dies meanwhile
    /// never learns its CheckoutRequestID.
    pub answer_after: Duration,
}

impl FakePlan {
    /// `outcome`, decided at once, with one callback.
    pub fn of(outcome: FakeOutcome) -> FakePlan {
        FakePlan {
            outcome,
            ..FakePlan::default()
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
    /// The `CallBackURL` it carried.
    pub callback_url: String,
}

/// The JSON Daraja would post to the callback URL for `push` (protocols.md
/// 3.3), its amount changed by `amount_delta`. Metadata comes only on
/// success; consumers must look items up by name, never by position.
pub(super) fn callback_json(push: &RecordedPush, amount_delta: i64) -> Value {
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
            .format(wire::TIMESTAMP_FORMAT)
            .to_string();
        let amount = push.request.amount().saturating_add(amount_delta);
        // As Daraja sends them: Amount a float, date and phone numbers,
        // and an older-style `Balance` item with no value.
        callback["CallbackMetadata"] = json!({"Item": [
            {"Name": "Amount", "Value": amount as f64},
            {"Name": "MpesaReceiptNumber", "Value": receipt},
            {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": number(&date)},
            {"Name": "PhoneNumber", "Value": number(push.request.phone().to_daraja())},
        ]});
    }
    json!({"Body": {"stkCallback": callback}})
}

/// Digits as a JSON number, as Daraja writes dates and phones.
fn number(digits: &str) -> Value {
    digits.parse::<u64>().map_or(Value::Null, Value::from)
}
