//! `FakeSms`: an in-process Africa's Talking for `dev` and the tests.
//!
//! It refuses what AT refuses, answers what AT answers for an accepted
//! message (status 101 `Success`, an `ATXid_…` id, `KES 0.8000`), and keeps
//! every message so a test or a developer can read it. It never runs under
//! `serve`: [`super::client_for`] only builds it for `Providers::Fake`.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::{BoxFuture, SmsClient, SmsError, SmsRecipientResult, check_request};
use crate::phone::Msisdn;

/// What AT charges for one page to a Kenyan number, as it writes it.
const FAKE_COST: &str = "KES 0.8000";

/// One message the fake accepted for one number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// Recipient.
    pub to: Msisdn,
    /// The text as given.
    pub message: String,
    /// The id the fake answered with, as AT's `messageId`.
    pub message_id: String,
    /// When the fake accepted it.
    pub sent_at: DateTime<Utc>,
}

/// A failure the fake can be told to answer with, as the HTTP fake does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 500: nothing is sent.
    ServerError,
    /// HTTP 429: nothing is sent.
    Throttled,
    /// HTTP 401: nothing is sent.
    Unauthorized,
    /// Every recipient refused with 405 `InsufficientBalance`.
    InsufficientBalance,
    /// The message goes out but no answer comes back (`Unanswered`); a
    /// repeat under the same key gets the answer that was lost.
    Timeout,
}

/// The in-process SMS provider. Share it behind an `Arc`.
#[derive(Default)]
pub struct FakeSms {
    // A std mutex: held only to push or copy, never across an await.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sent: Vec<SentSms>,
    /// Failure to answer with, and how many more sends get it.
    failing: Option<(Failure, usize)>,
    /// Numbers refused for good: AT's status code and text.
    refused: HashMap<Msisdn, (u16, String)>,
    /// The answer given to each idempotency key, replayed on a repeat.
    answers: HashMap<String, Vec<SmsRecipientResult>>,
}

impl FakeSms {
    /// A fake with nothing sent and no failures planned.
    pub fn new() -> FakeSms {
        FakeSms::default()
    }

    /// Every message accepted so far, one entry per recipient, oldest first.
    pub fn sent(&self) -> Vec<SentSms> {
        self.lock().sent.clone()
    }

    /// Makes the next `times` sends fail with `failure`; later sends succeed
    /// again. A repeated key still gets its stored answer.
    pub fn fail_next(&self, times: usize, failure: Failure) {
        self.lock().failing = (times > 0).then_some((failure, times));
    }

    /// Refuses `number` in every later send with AT's `status_code` and
    /// `status` (e.g. 406 `UserInBlacklist`).
    pub fn refuse_number(&self, number: &Msisdn, status_code: u16, status: &str) {
        self.lock()
            .refused
            .insert(number.clone(), (status_code, status.to_owned()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind;
        // keep serving it rather than poisoning every later test step.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn accept(
        &self,
        to: &[Msisdn],
        message: &str,
        key: &str,
    ) -> Result<Vec<SmsRecipientResult>, SmsError> {
        let mut state = self.lock();
        if let Some(answer) = state.answers.get(key) {
            return Ok(answer.clone());
        }
        let failure = state.failing.take().map(|(failure, left)| {
            if left > 1 {
                state.failing = Some((failure, left - 1));
            }
            failure
        });
        match failure {
            Some(Failure::ServerError) => {
                return Err(SmsError::Transient("HTTP 500 (fake)".into()));
            }
            Some(Failure::Throttled) => return Err(SmsError::Throttled),
            Some(Failure::Unauthorized) => return Err(SmsError::Unauthorized),
            Some(Failure::InsufficientBalance) => {
                check_request(to, message)?;
                return Ok(to
                    .iter()
                    .map(|number| refusal(number, 405, "InsufficientBalance"))
                    .collect());
            }
            Some(Failure::Timeout) | None => {}
        }
        check_request(to, message)?;
        let sent_at = Utc::now();
        let mut results = Vec::with_capacity(to.len());
        for number in to {
            if let Some((code, status)) = state.refused.get(number) {
                results.push(refusal(number, *code, status));
                continue;
            }
            let message_id = format!("ATXid_{}", uuid::Uuid::new_v4().simple());
            // Dev only: this is how a developer "receives" the SMS.
            tracing::info!(to = %number, message_id, text = message, "fake SMS sent");
            state.sent.push(SentSms {
                to: number.clone(),
                message: message.to_owned(),
                message_id: message_id.clone(),
                sent_at,
            });
            results.push(SmsRecipientResult {
                number: number.clone(),
                status_code: 101,
                status: "Success".into(),
                message_id: Some(message_id),
                cost: FAKE_COST.into(),
            });
        }
        state.answers.insert(key.to_owned(), results.clone());
        if failure == Some(Failure::Timeout) {
            return Err(SmsError::Unanswered("timeout (fake)".into()));
        }
        Ok(results)
    }
}

/// AT's answer for a number it refused.
fn refusal(number: &Msisdn, status_code: u16, status: &str) -> SmsRecipientResult {
    SmsRecipientResult {
        number: number.clone(),
        status_code,
        status: status.to_owned(),
        message_id: None,
        cost: "0".into(),
    }
}

impl SmsClient for FakeSms {
    fn send<'a>(
        &'a self,
        to: &'a [Msisdn],
        message: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SmsRecipientResult>, SmsError>> {
        Box::pin(async move { self.accept(to, message, idempotency_key) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msisdn(s: &str) -> Msisdn {
        Msisdn::parse(s).unwrap()
    }

    #[tokio::test]
    async fn accepts_like_at_and_remembers_each_recipient() {
        let fake = FakeSms::new();
        let to = [msisdn("0712345678"), msisdn("0110123456")];

        let results = fake.send(&to, "Mchango umepokelewa", "k").await.unwrap();

        assert_eq!(results.len(), 2);
        for (result, number) in results.iter().zip(&to) {
            assert_eq!(&result.number, number);
            assert_eq!(result.status_code, 101);
            assert_eq!(result.status, "Success");
            assert_eq!(result.cost, "KES 0.8000");
            assert!(result.message_id.as_ref().unwrap().starts_with("ATXid_"));
        }
        let sent = fake.sent();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[1].to, to[1]);
        assert_eq!(sent[1].message, "Mchango umepokelewa");
        assert_eq!(Some(&sent[1].message_id), results[1].message_id.as_ref());
        assert_ne!(sent[0].message_id, sent[1].message_id);
    }

    #[tokio::test]
    async fn refuses_an_empty_message_and_records_nothing() {
        let fake = FakeSms::new();
        let error = fake
            .send(&[msisdn("0712345678")], "", "k")
            .await
            .unwrap_err();
        assert!(matches!(error, SmsError::Rejected(_)));
        assert!(fake.send(&[], "Habari", "k").await.is_err());
        assert!(fake.sent().is_empty());
    }

    #[tokio::test]
    async fn fails_the_next_n_sends_then_recovers() {
        let fake = FakeSms::new();
        let to = [msisdn("0712345678")];
        fake.fail_next(2, Failure::Throttled);

        assert_eq!(fake.send(&to, "1", "k1").await, Err(SmsError::Throttled));
        assert_eq!(fake.send(&to, "2", "k2").await, Err(SmsError::Throttled));
        assert!(fake.send(&to, "3", "k3").await.is_ok());

        let sent = fake.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].message, "3");
    }

    #[tokio::test]
    async fn failing_zero_times_changes_nothing() {
        let fake = FakeSms::new();
        fake.fail_next(0, Failure::Unauthorized);
        assert!(
            fake.send(&[msisdn("0712345678")], "Habari", "k")
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_repeated_key_gets_the_stored_answer_and_sends_nothing() {
        let fake = FakeSms::new();
        let to = [msisdn("0712345678")];
        fake.fail_next(1, Failure::Timeout);

        assert!(matches!(
            fake.send(&to, "Habari", "k").await,
            Err(SmsError::Unanswered(_))
        ));
        let repeat = fake.send(&to, "Habari", "k").await.unwrap();

        assert_eq!(fake.sent().len(), 1, "the timed-out send went out once");
        assert_eq!(
            repeat[0].message_id.as_ref(),
            Some(&fake.sent()[0].message_id)
        );
    }

    #[tokio::test]
    async fn a_refused_number_is_refused_and_the_others_go_out() {
        let fake = FakeSms::new();
        let bad = msisdn("0712345678");
        fake.refuse_number(&bad, 406, "UserInBlacklist");

        let results = fake
            .send(&[bad.clone(), msisdn("0110123456")], "Habari", "k")
            .await
            .unwrap();

        assert_eq!(
            (results[0].status_code, results[0].status.as_str()),
            (406, "UserInBlacklist")
        );
        assert_eq!(results[0].message_id, None);
        assert!(results[1].is_accepted());
        assert_eq!(fake.sent().len(), 1);
    }

    #[tokio::test]
    async fn insufficient_balance_refuses_every_recipient() {
        let fake = FakeSms::new();
        fake.fail_next(1, Failure::InsufficientBalance);
        let results = fake
            .send(&[msisdn("0712345678")], "Habari", "k")
            .await
            .unwrap();
        assert_eq!(results[0].status_code, 405);
        assert!(fake.sent().is_empty());
    }
}
