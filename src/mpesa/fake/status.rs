//! Transaction Status (protocols.md 3.7): accepts a query for a receipt and
//! posts the result to its `ResultURL` a moment later, as Daraja does.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{Value, json};

use super::check::{self, text};
use super::poster::CallbackKind;
use super::token::{Authorised, refuse};
use super::{FakeDaraja, Receipt};
use crate::mpesa::wire;

/// Longest `Remarks`/`Occasion` Daraja takes.
const MAX_REMARKS: usize = 100;

pub(super) fn routes() -> Router<Arc<FakeDaraja>> {
    Router::new().route("/mpesa/transactionstatus/v1/query", post(query))
}

async fn query(State(fake): State<Arc<FakeDaraja>>, Authorised(body): Authorised) -> Response {
    if let Err(refusal) = checked(&fake, &body) {
        return refuse(&fake, refusal);
    }
    let originator = uuid::Uuid::new_v4().to_string();
    let conversation = format!(
        "AG_{}_{}",
        Utc::now().with_timezone(&wire::EAT).format("%Y%m%d"),
        &uuid::Uuid::new_v4().simple().to_string()[..20]
    );
    let receipt_id = text(&body, "TransactionID");
    let receipt = fake.lock().receipts.get(&receipt_id).cloned();
    let result = result_json(&body, &originator, &conversation, &receipt_id, receipt);
    let result_url = text(&body, "ResultURL");
    let poster = fake.clone();
    let reference = conversation.clone();
    // Asynchronous, as Daraja: the answer first, the result after.
    tokio::spawn(async move {
        poster
            .post(
                CallbackKind::TransactionStatus,
                &reference,
                &result_url,
                result,
            )
            .await
    });
    Json(json!({
        "OriginatorConversationID": originator,
        "ConversationID": conversation,
        "ResponseCode": "0",
        "ResponseDescription": "Accept the service request successfully.",
    }))
    .into_response()
}

fn checked(fake: &FakeDaraja, body: &Value) -> Result<(), check::Refusal> {
    for field in ["Initiator", "SecurityCredential"] {
        if text(body, field).is_empty() {
            return Err(check::bad_request(&format!("Invalid {field}")));
        }
    }
    if text(body, "CommandID") != "TransactionStatusQuery" {
        return Err(check::bad_request("Invalid CommandID"));
    }
    // A receipt is letters and digits: a JSON number is the wrong type.
    if body["TransactionID"].as_str().is_none_or(str::is_empty) {
        return Err(check::bad_request("Invalid TransactionID"));
    }
    if text(body, "PartyA") != fake.config.shortcode {
        return Err(check::bad_request("Invalid PartyA"));
    }
    if text(body, "IdentifierType") != "4" {
        return Err(check::bad_request("Invalid IdentifierType"));
    }
    for field in ["ResultURL", "QueueTimeOutURL"] {
        if !check::callback_url_ok(&text(body, field)) {
            return Err(check::bad_request(&format!("Invalid {field}")));
        }
    }
    for field in ["Remarks", "Occasion"] {
        if text(body, field).chars().count() > MAX_REMARKS {
            return Err(check::bad_request(&format!("Invalid {field}")));
        }
    }
    Ok(())
}

/// The `Result` Daraja posts. For a receipt this fake never issued, the
/// code and text are an assumption: Safaricom documents none for it.
fn result_json(
    body: &Value,
    originator: &str,
    conversation: &str,
    receipt_id: &str,
    receipt: Option<Receipt>,
) -> Value {
    let reference = json!({"ReferenceItem": {"Key": "Occasion", "Value": text(body, "Occasion")}});
    let Some(receipt) = receipt else {
        return json!({"Result": {
            "ResultType": 0,
            "ResultCode": "R000001",
            "ResultDesc": "The transaction receipt number does not exist.",
            "OriginatorConversationID": originator,
            "ConversationID": conversation,
            "TransactionID": receipt_id,
            "ReferenceData": reference,
        }});
    };
    let at = wire::timestamp(receipt.at);
    let parameters = [
        ("ReceiptNo", json!(receipt_id)),
        ("ConversationID", json!(conversation)),
        (
            "FinalisedTime",
            json!(at.parse::<u64>().unwrap_or_default()),
        ),
        ("Amount", json!(receipt.amount)),
        ("TransactionStatus", json!("Completed")),
        ("ReasonType", json!("Pay Bill Online")),
        (
            "DebitPartyName",
            json!(format!("{} - JOHN DOE", receipt.phone)),
        ),
        (
            "InitiatedTime",
            json!(at.parse::<u64>().unwrap_or_default()),
        ),
    ]
    .map(|(key, value)| json!({"Key": key, "Value": value}));
    json!({"Result": {
        "ResultType": 0,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "OriginatorConversationID": originator,
        "ConversationID": conversation,
        "TransactionID": receipt_id,
        "ResultParameters": {"ResultParameter": parameters},
        "ReferenceData": reference,
    }})
}
