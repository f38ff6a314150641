//! What Africa's Talking's answer means for each row of a request.
//!
//! Per recipient: accepted (100-102) is sent; a permanent refusal fails the
//! row with AT's status and is never retried; 407, 500 and 501 are retried.
//! A request that failed as a whole is retried with back-off, except a send
//! that may have gone out (`Unanswered`, `BadResponse`, or a recipient
//! missing from the answer): its kind decides, a receipt is retried under
//! the same key, a one-time code is parked. Credentials refused
//! (`Unauthorized`) or a request refused whole (`Rejected`) are
//! configuration, not the message's fault: retried like an outage, so the
//! queue recovers by itself once the setting is fixed, and alerted.

use std::collections::HashMap;

use crate::phone::Msisdn;
use crate::sms::{SmsError, SmsRecipientResult, WhenUnsure};

use super::claim::Recipient;

/// AT's per-recipient codes that refuse a number for good (protocols.md 2.2).
const PERMANENT: [u16; 8] = [401, 402, 403, 404, 405, 406, 409, 502];
/// AT's per-recipient codes worth another try.
const RETRYABLE: [u16; 3] = [407, 500, 501];

/// AT's status texts; any other reason is labelled `other` in metrics.
const AT_STATUSES: [&str; 12] = [
    "RiskHold",
    "InvalidSenderId",
    "InvalidPhoneNumber",
    "UnsupportedNumberType",
    "InsufficientBalance",
    "UserInBlacklist",
    "CouldNotRoute",
    "DoNotDisturbRejection",
    "InternalServerError",
    "GatewayError",
    "RejectedByGateway",
    "Unknown",
];

/// Longest reason or error kept on a row.
const MAX_REASON: usize = 100;

/// What happens to one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// AT took it.
    Sent {
        message_id: Option<String>,
        cost: String,
    },
    /// Refused for good, with AT's status.
    Failed { reason: String },
    /// Try again later. `keep_key`: the send may have gone out, so the
    /// repeat must carry the same idempotency key.
    Retry { reason: String, keep_key: bool },
    /// The send may have gone out and this kind must not risk a stale copy.
    Park { reason: String },
}

/// Why a whole request failed, as a bounded reason.
pub fn error_reason(error: &SmsError) -> &'static str {
    match error {
        SmsError::Unauthorized => "unauthorized",
        SmsError::Throttled => "throttled",
        SmsError::Transient(_) => "transient",
        SmsError::Unanswered(_) => "unanswered",
        SmsError::Rejected(_) => "rejected",
        SmsError::BadResponse(_) => "bad_response",
    }
}

/// Whether `error` means our configuration is wrong.
pub fn is_configuration(error: &SmsError) -> bool {
    matches!(error, SmsError::Unauthorized | SmsError::Rejected(_))
}

/// The metric label of a reason: AT's own status texts and ours, anything
/// else `other`.
pub fn reason_label(reason: &str) -> &'static str {
    const OURS: [&str; 9] = [
        "unauthorized",
        "throttled",
        "transient",
        "unanswered",
        "rejected",
        "bad_response",
        "no_result",
        "unreadable",
        "sending_timeout",
    ];
    AT_STATUSES
        .into_iter()
        .chain(OURS)
        .find(|known| *known == reason)
        .unwrap_or("other")
}

/// A reason cut to what a row keeps.
pub fn trimmed(reason: &str) -> String {
    reason.chars().take(MAX_REASON).collect()
}

fn unsure(recipient: &Recipient, reason: &str) -> Verdict {
    match recipient.kind.when_unsure() {
        WhenUnsure::Retry => Verdict::Retry {
            reason: reason.into(),
            keep_key: true,
        },
        WhenUnsure::Park => Verdict::Park {
            reason: reason.into(),
        },
    }
}

/// The verdict for one recipient's result.
pub fn for_result(recipient: &Recipient, result: &SmsRecipientResult) -> Verdict {
    let status = trimmed(&result.status);
    if result.is_accepted() {
        Verdict::Sent {
            message_id: result.message_id.clone(),
            cost: trimmed(&result.cost),
        }
    } else if PERMANENT.contains(&result.status_code) {
        Verdict::Failed { reason: status }
    } else if RETRYABLE.contains(&result.status_code) {
        // AT answered: this request is settled, a new one needs a new key.
        Verdict::Retry {
            reason: status,
            keep_key: false,
        }
    } else {
        unsure(recipient, &status)
    }
}

/// The verdict of every recipient of a request, in order.
pub fn verdicts(
    recipients: &[Recipient],
    answer: &Result<Vec<SmsRecipientResult>, SmsError>,
) -> Vec<Verdict> {
    match answer {
        Ok(results) => {
            // The same number may be in a request twice (two events, one
            // text): hand its results out in order.
            let mut by_number: HashMap<&Msisdn, Vec<&SmsRecipientResult>> = HashMap::new();
            for result in results.iter().rev() {
                by_number.entry(&result.number).or_default().push(result);
            }
            recipients
                .iter()
                .map(|r| match by_number.get_mut(&r.phone).and_then(Vec::pop) {
                    Some(result) => for_result(r, result),
                    None => unsure(r, "no_result"),
                })
                .collect()
        }
        Err(error @ (SmsError::Unanswered(_) | SmsError::BadResponse(_))) => {
            let reason = error_reason(error);
            recipients.iter().map(|r| unsure(r, reason)).collect()
        }
        Err(error) => {
            let reason = error_reason(error);
            recipients
                .iter()
                .map(|_| Verdict::Retry {
                    reason: reason.into(),
                    keep_key: false,
                })
                .collect()
        }
    }
}

#[cfg(test)]
#[path = "outcome_tests.rs"]
mod tests;
