//! `FakeSms`: an in-process Africa's Talking for `dev` and the tests.
//!
//! It refuses what AT refuses, answers what AT answers for an accepted
//! message (status 101 `Success`, an `ATXid_…` id, `KES 0.8000`), and keeps
//! every message so a test or a developer can read it. It never runs under
//! `serve`: [`super::client_for`] only builds it for `Providers::Fake`.

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

/// The in-process SMS provider. Share it behind an `Arc`.
#[derive(Default)]
pub struct FakeSms {
    // A std mutex: held only to push or copy, never across an await.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    sent: Vec<SentSms>,
    /// Error to return, and how many more sends get it.
    failing: Option<(SmsError, usize)>,
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

    /// Makes the next `times` sends fail with `error` before anything is
    /// recorded, as a failing AT would; later sends succeed again.
    pub fn fail_next(&self, times: usize, error: SmsError) {
        self.lock().failing = (times > 0).then_some((error, times));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind;
        // keep serving it rather than poisoning every later test step.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn accept(&self, to: &[Msisdn], message: &str) -> Result<Vec<SmsRecipientResult>, SmsError> {
        let mut state = self.lock();
        if let Some((error, left)) = state.failing.take() {
            if left > 1 {
                state.failing = Some((error.clone(), left - 1));
            }
            return Err(error);
        }
        check_request(to, message)?;
        let sent_at = Utc::now();
        let mut results = Vec::with_capacity(to.len());
        for number in to {
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
        Ok(results)
    }
}

impl SmsClient for FakeSms {
    fn send<'a>(
        &'a self,
        to: &'a [Msisdn],
        message: &'a str,
        _idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SmsRecipientResult>, SmsError>> {
        Box::pin(async move { self.accept(to, message) })
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
        fake.fail_next(2, SmsError::Throttled);

        assert_eq!(fake.send(&to, "1", "k").await, Err(SmsError::Throttled));
        assert_eq!(fake.send(&to, "2", "k").await, Err(SmsError::Throttled));
        assert!(fake.send(&to, "3", "k").await.is_ok());

        let sent = fake.sent();
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].message, "3");
    }

    #[tokio::test]
    async fn failing_zero_times_changes_nothing() {
        let fake = FakeSms::new();
        fake.fail_next(0, SmsError::Unauthorized);
        assert!(
            fake.send(&[msisdn("0712345678")], "Habari", "k")
                .await
                .is_ok()
        );
    }
}
