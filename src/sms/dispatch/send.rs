//! Sending one request and settling its rows.

use std::time::Instant;

use sqlx::PgPool;

use super::claim::{Claimed, Request};
use super::outcome;
use super::writeback::{self, RetryPolicy, RowUpdate, Settled};
use crate::labels::BoundedLabels;
use crate::sms::SmsClient;
use crate::telemetry::{
    SMS_CONFIG_ERRORS, SMS_MESSAGES, SMS_RETRIES, SMS_SEGMENTS_SENT, SMS_SEND_DURATION,
};

/// What a request needs from its dispatcher.
pub struct Sender<'a> {
    pub db: &'a PgPool,
    pub client: &'a dyn SmsClient,
    pub policy: RetryPolicy,
    pub templates: &'a BoundedLabels,
}

impl Sender<'_> {
    /// Sends `request` and writes what became of each row. A database error
    /// leaves the rows in `sending`: they are taken back after the sending
    /// timeout and sent again under the same key.
    pub async fn send(&self, request: Request) -> Result<(), sqlx::Error> {
        let to: Vec<_> = request.recipients.iter().map(|r| r.phone.clone()).collect();
        let started = Instant::now();
        let answer = self.client.send(&to, &request.message, &request.key).await;
        metrics::histogram!(SMS_SEND_DURATION).record(started.elapsed().as_secs_f64());
        let error = answer.as_ref().err();
        if let Some(error) = error {
            let reason = outcome::error_reason(error);
            if outcome::is_configuration(error) {
                // Retrying will not fix it: a person must.
                tracing::error!(%error, recipients = to.len(), "Africa's Talking refuses our configuration; messages will be retried");
                metrics::counter!(SMS_CONFIG_ERRORS, "reason" => reason).increment(1);
            } else {
                tracing::warn!(%error, recipients = to.len(), "SMS request failed");
            }
        }
        let verdicts = outcome::verdicts(&request.recipients, &answer);
        let updates: Vec<RowUpdate> = request
            .recipients
            .iter()
            .zip(verdicts)
            .map(|(r, v)| writeback::settle(r, v, self.policy))
            .collect();
        let error_text = error.map(|e| outcome::trimmed(&e.to_string()));
        let mut conn = self.db.acquire().await?;
        let written = writeback::write(
            &mut conn,
            request.claimed_at,
            &updates,
            error_text.as_deref(),
        )
        .await?;
        if written < updates.len() as u64 {
            tracing::warn!(
                lost = updates.len() as u64 - written,
                "rows were taken back before their answer was written"
            );
        }
        for (recipient, update) in request.recipients.iter().zip(&updates) {
            self.count(&recipient.template, recipient.segments, update);
        }
        Ok(())
    }

    /// Fails rows that cannot be sent at all (a bug: the table's checks
    /// should have stopped them).
    pub async fn fail_unreadable(&self, rows: &[Claimed]) -> Result<(), sqlx::Error> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        tracing::error!(
            rows = rows.len(),
            "outbox rows with an unreadable phone or kind"
        );
        let updates: Vec<RowUpdate> = rows
            .iter()
            .map(|row| RowUpdate {
                id: row.id,
                settled: Settled::Failed,
                message_id: None,
                cost: None,
                reason: Some("unreadable".into()),
                next_at: None,
                keep_key: false,
            })
            .collect();
        let mut conn = self.db.acquire().await?;
        writeback::write(&mut conn, first.claimed_at, &updates, None).await?;
        Ok(())
    }

    fn count(&self, template: &str, segments: i32, update: &RowUpdate) {
        let template = self.templates.label(template);
        let reason = outcome::reason_label(update.reason.as_deref().unwrap_or(""));
        match update.settled {
            Settled::Sent => {
                metrics::counter!(SMS_MESSAGES, "outcome" => "sent", "template" => template.clone(), "reason" => "none")
                    .increment(1);
                metrics::counter!(SMS_SEGMENTS_SENT, "template" => template)
                    .increment(u64::try_from(segments).unwrap_or(1));
            }
            Settled::Queued => {
                metrics::counter!(SMS_RETRIES, "reason" => reason).increment(1);
            }
            settled => {
                metrics::counter!(SMS_MESSAGES, "outcome" => settled.as_str(), "template" => template, "reason" => reason)
                    .increment(1);
            }
        }
    }
}
