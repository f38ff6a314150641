//! Accepting a send: each recipient refused or recorded, the answer in AT's
//! JSON shape, and the answer kept under the request's `Idempotency-Key` so
//! a replay gets it again and sends nothing new.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use quick_cache::Weighter;
use serde::Serialize;

use super::check::SendRequest;
use super::reports::Due;
use std::hash::BuildHasher;

use super::{DeliveryPlan, FakeSms, Record, State};
use crate::sms::segments;

/// Recipients whose answers the idempotency store keeps at most. A replay
/// comes within the dispatcher's sending timeout (minutes); at a benchmark's
/// 20,000 recipients a second this still covers about half a minute, and
/// bounds the store to some tens of megabytes.
const STORED_RECIPIENTS: u64 = 500_000;

/// What AT charges per page to a Kenyan number, in ten-thousandths of a shilling.
const PAGE_PRICE: usize = 8_000;

/// The fake's answer to one send, as kept for replays.
#[derive(Debug)]
pub(super) struct Answer {
    summary: String,
    recipients: Vec<Recipient>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    status_code: u16,
    number: String,
    status: String,
    cost: String,
    message_id: String,
}

#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "SMSMessageData")]
    data: Data<'a>,
}

#[derive(Serialize)]
struct Data<'a> {
    #[serde(rename = "Message")]
    message: &'a str,
    #[serde(rename = "Recipients")]
    recipients: &'a [Recipient],
}

impl Answer {
    /// The body AT sends with its 201.
    pub(super) fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(&Envelope {
            data: Data {
                message: &self.summary,
                recipients: &self.recipients,
            },
        })
        .expect("an answer of strings and numbers serialises")
    }
}

/// Stored answers weigh what they hold: one per recipient.
#[derive(Clone)]
pub(super) struct ByRecipients;

impl Weighter<String, Arc<Answer>> for ByRecipients {
    fn weight(&self, _key: &String, answer: &Arc<Answer>) -> u64 {
        answer.recipients.len().max(1) as u64
    }
}

pub(super) type AnswerCache = quick_cache::unsync::Cache<String, Arc<Answer>, ByRecipients>;

pub(super) fn answer_cache() -> AnswerCache {
    AnswerCache::with_weighter(100_000, STORED_RECIPIENTS, ByRecipients)
}

/// `KES 0.8000`-style money from ten-thousandths of a shilling.
fn kes(ten_thousandths: usize) -> String {
    format!(
        "KES {}.{:04}",
        ten_thousandths / 10_000,
        ten_thousandths % 10_000
    )
}

impl FakeSms {
    /// Answers a checked send: the stored answer when `key` was seen, else
    /// each recipient refused (a bad number, a refused one, or all of them
    /// when `broke`) or recorded as sent. The lock is held for the lookup and
    /// the bookkeeping only; reports and watchers are told after.
    pub(super) fn accept(
        &self,
        request: &SendRequest,
        key: Option<&str>,
        broke: bool,
    ) -> Arc<Answer> {
        let sent_at = Utc::now();
        let price = segments::count(&request.message).parts * PAGE_PRICE;
        let mut accepted = Vec::new();
        let mut recipients = Vec::with_capacity(request.to.len());
        let mut state = self.lock();
        if let Some(stored) = key.and_then(|key| state.answers.get(key)).cloned() {
            state.replays += 1;
            return stored;
        }
        for number in &request.to {
            let refusal = if !number.valid {
                Some((403, "InvalidPhoneNumber"))
            } else if broke {
                Some((405, "InsufficientBalance"))
            } else {
                state
                    .refused
                    .get(&number.e164)
                    .map(|r| (r.status_code, r.status.as_str()))
            };
            let recipient = match refusal {
                Some((status_code, status)) => Recipient {
                    status_code,
                    number: number.e164.clone(),
                    status: status.to_owned(),
                    cost: "0".into(),
                    message_id: "None".into(),
                },
                None => {
                    let message_id = self.next_message_id();
                    state.record(&number.e164, &request.message, &message_id, sent_at);
                    accepted.push((number.e164.clone(), message_id.clone()));
                    Recipient {
                        status_code: 101,
                        number: number.e164.clone(),
                        status: "Success".into(),
                        cost: kes(price),
                        message_id,
                    }
                }
            };
            recipients.push(recipient);
        }
        let answer = Arc::new(Answer {
            summary: format!(
                "Sent to {}/{} Total Cost: {}",
                accepted.len(),
                recipients.len(),
                kes(price * accepted.len())
            ),
            recipients,
        });
        if let Some(key) = key {
            state.answers.insert(key.to_owned(), answer.clone());
        }
        let reports = state.reports_for(&accepted);
        drop(state);

        if let Some((url, reports)) = reports {
            self.reports.post(url, reports);
        }
        self.tell_watchers(&accepted, &request.message, sent_at);
        if !self.quiet {
            tracing::info!(
                recipients = answer.recipients.len(),
                accepted = accepted.len(),
                "fake Africa's Talking took a send"
            );
        }
        answer
    }

    fn tell_watchers(&self, accepted: &[(String, String)], message: &Arc<str>, at: DateTime<Utc>) {
        if self.watchers.receiver_count() == 0 {
            return;
        }
        for (to, message_id) in accepted {
            let record = Record {
                to: to.clone(),
                message: message.clone(),
                message_id: message_id.clone(),
                sent_at: at,
            };
            if let Some(sent) = record.to_sent() {
                // No watcher left is no error: nobody is looking.
                let _: Result<_, _> = self.watchers.send(sent);
            }
        }
    }
}

impl State {
    fn record(&mut self, to: &str, message: &Arc<str>, message_id: &str, sent_at: DateTime<Utc>) {
        if !self.seen.insert(self.hasher.hash_one((to, &**message))) {
            self.duplicates += 1;
        }
        self.sent.push(Record {
            to: to.to_owned(),
            message: message.clone(),
            message_id: message_id.to_owned(),
            sent_at,
        });
    }

    /// The delivery reports owed for `accepted` (number, message id), when a
    /// gateway is to receive them.
    fn reports_for(&self, accepted: &[(String, String)]) -> Option<(reqwest::Url, Vec<Due>)> {
        let url = self.report_to.clone()?;
        if accepted.is_empty() {
            return None;
        }
        let dues = accepted
            .iter()
            .map(|(number, message_id)| Due {
                message_id: message_id.clone(),
                number: number.clone(),
                steps: self
                    .delivery
                    .get(number)
                    .unwrap_or(&DeliveryPlan::Success)
                    .steps(),
            })
            .filter(|due| !due.steps.is_empty())
            .collect();
        Some((url, dues))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_are_written_as_at_writes_them() {
        assert_eq!(kes(8_000), "KES 0.8000");
        assert_eq!(kes(3 * 8_000), "KES 2.4000");
        assert_eq!(kes(0), "KES 0.0000");
    }
}
