//! Posting to the gateway as Safaricom does: the STK callback after the
//! payer's decision (copies, none, late or with another amount, as planned),
//! and the C2B and Transaction Status posts. Every post is recorded with
//! what the receiver answered.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::super::wire;
use super::FakeDaraja;
use super::outcome::{FakePlan, RecordedPush, callback_json};

/// How long the fake waits for the gateway to answer a post. Safaricom
/// gives C2B validation about 8 s (protocols.md 3.5); the same for the rest.
pub(super) const POST_TIMEOUT: Duration = Duration::from_secs(8);

/// Which kind of post it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackKind {
    Stk,
    C2bValidation,
    C2bConfirmation,
    TransactionStatus,
}

/// One post the fake made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostedCallback {
    pub kind: CallbackKind,
    /// `CheckoutRequestID`, `TransID` or `ConversationID`.
    pub reference: String,
    pub url: String,
    pub body: Value,
    /// The receiver's HTTP status; `None` when it could not be reached in time.
    pub status: Option<u16>,
    /// Why it could not be reached.
    pub error: Option<String>,
    pub posted_at: DateTime<Utc>,
}

/// The receiver's answer to a post, when there was one.
pub(super) struct Answer {
    pub status: u16,
    pub body: Value,
}

impl FakeDaraja {
    /// Posts `body` to `url`, records it, and returns the receiver's answer.
    pub(super) async fn post(
        &self,
        kind: CallbackKind,
        reference: &str,
        url: &str,
        body: Value,
    ) -> Option<Answer> {
        let posted_at = Utc::now();
        let result = async {
            let response = self.http.post(url).json(&body).send().await?;
            let status = response.status().as_u16();
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>(Answer {
                status,
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            })
        }
        .await;
        let (status, error) = match &result {
            Ok(answer) => (Some(answer.status), None),
            // Only the kind: the URL carries the gateway's secret token.
            Err(e) => (None, Some(wire::failure_kind(e).to_owned())),
        };
        if self.chatty() {
            tracing::info!(?kind, reference, status, "fake Daraja posted a callback");
        }
        self.lock().callbacks.push(PostedCallback {
            kind,
            reference: reference.to_owned(),
            url: url.to_owned(),
            body,
            status,
            error,
            posted_at,
        });
        result.ok()
    }

    /// Posts the push's callback as `plan` says, in a task of its own.
    pub(super) fn schedule_stk_callback(
        self: &Arc<Self>,
        push: RecordedPush,
        plan: FakePlan,
        queried: Arc<Notify>,
    ) {
        let copies = plan.callback.copies;
        if copies == 0 {
            return;
        }
        let fake = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(plan.decide_after).await;
            if plan.callback.after_query {
                queried.notified().await;
            }
            let body = callback_json(&push, plan.callback.amount_delta);
            let id = push.checkout_request_id.clone();
            let url = push.callback_url.clone();
            if !plan.callback.concurrent {
                for _ in 0..copies {
                    fake.post(CallbackKind::Stk, &id, &url, body.clone()).await;
                }
                return;
            }
            let mut posts = JoinSet::new();
            for _ in 0..copies {
                let (fake, id, url, body) = (fake.clone(), id.clone(), url.clone(), body.clone());
                posts.spawn(async move { fake.post(CallbackKind::Stk, &id, &url, body).await });
            }
            posts.join_all().await;
        });
    }
}
