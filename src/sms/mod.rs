//! Outbound SMS through Africa's Talking (AT), behind the [`SmsClient`] trait.
//!
//! - [`AtSmsClient`] speaks AT's classic form endpoint (`/version1/messaging`).
//! - [`FakeSms`] is the fake AT that `dev`, the tests and the benchmarks
//!   use: a real HTTP server (in-process, or `pesachama fake-at`) that
//!   answers like AT, remembers every message, can be told to fail and posts
//!   delivery reports. The gateway reaches it through [`AtSmsClient`].
//!
//! [`client_for`] picks one from the configured [`Providers`]. [`outbox`]
//! queues messages as rows in the transaction of the event they report, as
//! [`templates`] rendered them (checked by `pesachama sms check`);
//! [`dispatch`] sends them, [`admin`] holds the operator's commands and
//! [`reminders`] is the daily job that queues contribution and meeting
//! reminders.

pub mod admin;
pub mod callbacks;
mod client;
#[cfg(test)]
mod client_tests;
pub mod dispatch;
pub mod fake;
mod kind;
pub mod outbox;
pub mod reminders;
pub mod segments;
pub mod templates;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::config::Providers;
use crate::phone::Msisdn;

pub use client::AtSmsClient;
pub use fake::{Failure, FakeAtConfig, FakeSms, SentSms};
pub use kind::{SmsKind, WhenUnsure};

/// A boxed future, so that [`SmsClient`] stays usable as `dyn SmsClient`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sends SMS. One call is one request to the provider, however many numbers.
pub trait SmsClient: Send + Sync {
    /// Sends `message` to every number in `to` and returns AT's verdict per
    /// number. `Ok` means AT answered; each recipient may still be refused
    /// (see [`SmsRecipientResult::is_accepted`]).
    ///
    /// `idempotency_key` names this request: a repeat of an unanswered send
    /// carries the same key, as the `Idempotency-Key` header, so a provider
    /// that honours it answers the repeat without sending twice.
    fn send<'a>(
        &'a self,
        to: &'a [Msisdn],
        message: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SmsRecipientResult>, SmsError>>;
}

/// AT's answer for one number of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsRecipientResult {
    /// The number this result is about.
    pub number: Msisdn,
    /// AT's per-recipient code: 100 Processed, 101 Sent, 102 Queued are
    /// accepted; 401–409 and 500–502 are refusals (protocols.md 2.2).
    pub status_code: u16,
    /// AT's status text (`Success`, `InvalidPhoneNumber`, …).
    pub status: String,
    /// Key of later delivery reports; `None` when AT refused the number (it
    /// sends the literal string `"None"`).
    pub message_id: Option<String>,
    /// What AT charged, as it writes it: `"KES 0.8000"`.
    pub cost: String,
}

impl SmsRecipientResult {
    /// Whether AT took the message for this number (codes 100–102).
    pub fn is_accepted(&self) -> bool {
        (100..=102).contains(&self.status_code)
    }
}

/// Why a send failed as a whole, by what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmsError {
    /// HTTP 401: wrong username or API key (or an unregistered sender id).
    /// A configuration error: alert an operator, retrying will not help.
    #[error("Africa's Talking refused our credentials")]
    Unauthorized,
    /// HTTP 429: AT asks us to slow down; retry with back-off.
    #[error("Africa's Talking is throttling us")]
    Throttled,
    /// 5xx or no connection: AT did not take the message; retry with
    /// back-off.
    #[error("Africa's Talking unreachable or failing: {0}")]
    Transient(String),
    /// The request went out but no answer came back (a timeout, a
    /// connection cut mid-answer): AT may have taken the message. What to do
    /// depends on the message's kind (`SmsKind::when_unsure`).
    #[error("no answer from Africa's Talking: {0}")]
    Unanswered(String),
    /// Any other refusal of the request as a whole; final for this message.
    #[error("Africa's Talking rejected the request: {0}")]
    Rejected(String),
    /// AT answered success but the body was not what we expect. The message
    /// may have gone out: do not retry blindly, flag it for a person.
    #[error("unexpected answer from Africa's Talking: {0}")]
    BadResponse(String),
}

/// Longest slice of a provider's error body kept in an error message.
const MAX_ERROR_BODY: usize = 200;

/// Refuses what AT itself would refuse (as the fake does, `fake/check.rs`)
/// before any network work.
fn check_request(to: &[Msisdn], message: &str) -> Result<(), SmsError> {
    if to.is_empty() {
        return Err(SmsError::Rejected("no recipients".into()));
    }
    if message.trim().is_empty() {
        return Err(SmsError::Rejected("empty message".into()));
    }
    // Msisdn is E.164 by construction; this is AT SDKs' own check, kept so
    // this client refuses exactly what AT's clients refuse.
    if let Some(bad) = to.iter().find(|n| !looks_like_e164(n.as_e164())) {
        return Err(SmsError::Rejected(format!("not an E.164 number: {bad}")));
    }
    Ok(())
}

/// `^\+\d{1,3}\d{3,}$`, the shape AT's SDKs accept.
fn looks_like_e164(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|digits| digits.len() >= 4 && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// Cuts a provider body down to something safe to put in an error.
fn excerpt(body: &str) -> String {
    body.trim().chars().take(MAX_ERROR_BODY).collect()
}

/// The SMS client chosen for a deployment, plus the fake itself when it is one.
pub struct SmsProvider {
    /// What the daemon sends through.
    pub client: Arc<dyn SmsClient>,
    /// The fake AT `client` sends to, when it is one, so `dev` and the tests
    /// can read what was "sent", plan failures and turn on delivery reports.
    pub fake: Option<Arc<FakeSms>>,
}

/// The SMS client for these providers: AT for `Live`; for `Fake`, a fresh
/// [`FakeSms`] on a free loopback port and the real client pointed at it,
/// so every message crosses HTTP. The fake posts no delivery reports until
/// told where ([`FakeSms::report_to`]).
pub async fn client_for(providers: &Providers) -> anyhow::Result<SmsProvider> {
    Ok(match providers {
        Providers::Live(live) => SmsProvider {
            client: Arc::new(AtSmsClient::new(&live.at)?),
            fake: None,
        },
        Providers::Fake => {
            fake_provider(FakeAtConfig {
                quiet: true,
                ..FakeAtConfig::default()
            })
            .await?
        }
    })
}

/// A fresh [`FakeSms`] started with `config`, and the real client pointed at it.
pub async fn fake_provider(config: FakeAtConfig) -> anyhow::Result<SmsProvider> {
    let fake = FakeSms::start(config)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the fake Africa's Talking: {e}"))?;
    Ok(SmsProvider {
        client: Arc::new(fake.client()?),
        fake: Some(fake),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msisdn(s: &str) -> Msisdn {
        Msisdn::parse(s).unwrap()
    }

    #[test]
    fn only_codes_100_to_102_are_accepted() {
        let result = |status_code| SmsRecipientResult {
            number: msisdn("0712345678"),
            status_code,
            status: String::new(),
            message_id: None,
            cost: String::new(),
        };
        for code in [100, 101, 102] {
            assert!(result(code).is_accepted(), "{code}");
        }
        for code in [401, 403, 405, 406, 500, 502] {
            assert!(!result(code).is_accepted(), "{code}");
        }
    }

    #[test]
    fn requests_without_recipients_or_text_are_refused() {
        let to = [msisdn("0712345678")];
        assert!(check_request(&to, "Habari").is_ok());
        assert!(matches!(
            check_request(&[], "Habari"),
            Err(SmsError::Rejected(_))
        ));
        assert!(matches!(
            check_request(&to, "  "),
            Err(SmsError::Rejected(_))
        ));
    }

    #[tokio::test]
    async fn fake_providers_give_a_reachable_fake() {
        let SmsProvider { client, fake } = client_for(&Providers::Fake).await.unwrap();
        let fake = fake.expect("the fake is handed back");
        client
            .send(&[msisdn("0712345678")], "Karibu", "k-1")
            .await
            .unwrap();
        assert_eq!(fake.sent().len(), 1);
    }
}
