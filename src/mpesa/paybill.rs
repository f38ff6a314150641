//! What goes into C2B URL registration and a Transaction Status query, and
//! what comes back, in our terms (Daraja's JSON lives in `wire_paybill.rs`).

use reqwest::Url;
use secrecy::SecretString;

use super::client::callback_url_at;
use super::{C2B_CONFIRMATION_PATH, C2B_VALIDATION_PATH};
use crate::config::MpesaSettings;

/// What M-Pesa does with a payment when our validation URL does not answer
/// in time (Daraja's `ResponseType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnansweredValidation {
    /// Complete the payment anyway (`Completed`).
    Complete,
    /// Cancel it (`Cancelled`).
    Cancel,
}

impl UnansweredValidation {
    /// Daraja's spelling, exact case.
    pub fn as_daraja(self) -> &'static str {
        match self {
            UnansweredValidation::Complete => "Completed",
            UnansweredValidation::Cancel => "Cancelled",
        }
    }
}

/// The C2B URLs of our paybill.
#[derive(Debug, Clone)]
pub struct C2bUrls {
    pub confirmation: Url,
    pub validation: Url,
    pub unanswered: UnansweredValidation,
}

impl C2bUrls {
    /// Our paybill's URLs under `MPESA_CALLBACK_URL`, each ending in the
    /// callback token.
    pub fn for_gateway(
        settings: &MpesaSettings,
        unanswered: UnansweredValidation,
    ) -> anyhow::Result<C2bUrls> {
        let base = &settings.callback_url;
        let token = &settings.callback_token;
        Ok(C2bUrls {
            confirmation: callback_url_at(base, C2B_CONFIRMATION_PATH, token)?,
            validation: callback_url_at(base, C2B_VALIDATION_PATH, token)?,
            unanswered,
        })
    }
}

/// Daraja's answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct C2bRegistered {
    /// Safaricom's `OriginatorCoversationID` (sic).
    pub originator_conversation_id: String,
    pub response_description: String,
}

/// A Transaction Status query for one receipt. The initiator's credentials
/// come with the query: they belong to an org-portal operator, not to the app.
#[derive(Debug, Clone)]
pub struct TransactionStatusQuery {
    /// The M-Pesa receipt (`NLJ7RT61SV`).
    pub receipt: String,
    /// Org-portal API operator name.
    pub initiator: String,
    /// The initiator's password encrypted with Safaricom's certificate, base64.
    pub security_credential: SecretString,
    /// Where Daraja posts the result, and its timeout notice.
    pub result_url: Url,
    pub queue_timeout_url: Url,
    /// Up to 100 characters each.
    pub remarks: String,
    pub occasion: String,
}

/// Daraja took the query; the result is posted to `result_url` later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionStatusAccepted {
    pub originator_conversation_id: String,
    pub conversation_id: String,
}
