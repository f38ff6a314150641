//! Daraja's JSON for C2B URL registration and Transaction Status
//! (protocols.md 3.5, 3.7).

use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::MpesaError;
use super::paybill::{C2bRegistered, C2bUrls, TransactionStatusAccepted, TransactionStatusQuery};
use super::wire::{accepted_code, error_from, excerpt};

/// The `registerurl` body for our shortcode.
pub(super) fn register_body(shortcode: &str, urls: &C2bUrls) -> Value {
    json!({
        "ShortCode": shortcode,
        "ResponseType": urls.unanswered.as_daraja(),
        "ConfirmationURL": urls.confirmation.as_str(),
        "ValidationURL": urls.validation.as_str(),
    })
}

#[derive(Deserialize)]
struct RegisterResponse {
    // Safaricom's spelling; the correct one is accepted too in case they fix it.
    #[serde(
        rename = "OriginatorCoversationID",
        alias = "OriginatorConversationID",
        default
    )]
    originator_conversation_id: String,
    #[serde(rename = "ResponseCode")]
    response_code: Value,
    #[serde(rename = "ResponseDescription", default)]
    response_description: String,
}

/// Reads the answer to a registration.
pub(super) fn registered(status: StatusCode, body: &[u8]) -> Result<C2bRegistered, MpesaError> {
    if !status.is_success() {
        return Err(error_from(status, body));
    }
    let response: RegisterResponse = serde_json::from_slice(body)
        .map_err(|e| MpesaError::BadResponse(format!("{e}: {}", excerpt(body))))?;
    accepted_code(&response.response_code, &response.response_description)?;
    Ok(C2bRegistered {
        originator_conversation_id: response.originator_conversation_id,
        response_description: response.response_description,
    })
}

/// The Transaction Status body for a receipt into `shortcode`.
pub(super) fn status_body(shortcode: &str, query: &TransactionStatusQuery) -> Value {
    json!({
        "Initiator": query.initiator,
        "SecurityCredential": query.security_credential.expose_secret(),
        "CommandID": "TransactionStatusQuery",
        "TransactionID": query.receipt,
        "PartyA": shortcode,
        // 4: the party is an organisation shortcode.
        "IdentifierType": "4",
        "ResultURL": query.result_url.as_str(),
        "QueueTimeOutURL": query.queue_timeout_url.as_str(),
        "Remarks": query.remarks,
        "Occasion": query.occasion,
    })
}

#[derive(Deserialize)]
struct StatusResponse {
    #[serde(rename = "OriginatorConversationID", default)]
    originator_conversation_id: String,
    #[serde(rename = "ConversationID", default)]
    conversation_id: String,
    #[serde(rename = "ResponseCode")]
    response_code: Value,
    #[serde(rename = "ResponseDescription", default)]
    response_description: String,
}

/// Reads the answer to a Transaction Status query.
pub(super) fn status_accepted(
    status: StatusCode,
    body: &[u8],
) -> Result<TransactionStatusAccepted, MpesaError> {
    if !status.is_success() {
        return Err(error_from(status, body));
    }
    let response: StatusResponse = serde_json::from_slice(body)
        .map_err(|e| MpesaError::BadResponse(format!("{e}: {}", excerpt(body))))?;
    accepted_code(&response.response_code, &response.response_description)?;
    Ok(TransactionStatusAccepted {
        originator_conversation_id: response.originator_conversation_id,
        conversation_id: response.conversation_id,
    })
}
