//! Sending one request, and writing what became of the rows of the requests
//! that finished.

use std::collections::HashMap;
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

/// A row's new state with what its metrics need.
pub struct Settlement {
    pub update: RowUpdate,
    pub template: String,
    pub segments: i32,
}

/// What a request needs from its dispatcher.
pub struct Sender<'a> {
    pub db: &'a PgPool,
    pub client: &'a dyn SmsClient,
    pub policy: RetryPolicy,
    pub templates: &'a BoundedLabels,
}

impl Sender<'_> {
    /// Sends `request` and decides each row's new state; nothing is written
    /// yet (see [`Sender::write`]).
    pub async fn send(&self, request: Request) -> Vec<Settlement> {
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
        let error_text = error.map(|e| outcome::trimmed(&e.to_string()));
        let verdicts = outcome::verdicts(&request.recipients, &answer);
        request
            .recipients
            .into_iter()
            .zip(verdicts)
            .map(|(recipient, verdict)| {
                let mut update =
                    writeback::settle(&recipient, request.claimed_at, verdict, self.policy);
                update.error = error_text.clone();
                Settlement {
                    update,
                    template: recipient.template,
                    segments: recipient.segments,
                }
            })
            .collect()
    }

    /// Writes `settled` in one statement and counts it. A database error
    /// leaves the rows in `sending`: they are taken back after the sending
    /// timeout and sent again under the same key.
    pub async fn write(&self, settled: &[Settlement]) -> Result<(), sqlx::Error> {
        let updates: Vec<RowUpdate> = settled.iter().map(|s| s.update.clone()).collect();
        let mut conn = self.db.acquire().await?;
        let written = writeback::write(&mut conn, &updates).await?;
        if written < updates.len() as u64 {
            tracing::warn!(
                lost = updates.len() as u64 - written,
                "rows were taken back before their answer was written"
            );
        }
        self.count(settled);
        Ok(())
    }

    /// Fails rows that cannot be sent at all (a bug: the table's checks
    /// should have stopped them).
    pub async fn fail_unreadable(&self, rows: &[Claimed]) -> Result<(), sqlx::Error> {
        if rows.is_empty() {
            return Ok(());
        }
        tracing::error!(
            rows = rows.len(),
            "outbox rows with an unreadable phone or kind"
        );
        let settled: Vec<Settlement> = rows
            .iter()
            .map(|row| Settlement {
                update: RowUpdate {
                    id: row.id,
                    claimed_at: row.claimed_at,
                    settled: Settled::Failed,
                    message_id: None,
                    cost: None,
                    reason: Some("unreadable".into()),
                    next_at: None,
                    keep_key: false,
                    error: None,
                },
                template: row.template.clone(),
                segments: row.segments,
            })
            .collect();
        self.write(&settled).await
    }

    /// Counts settled rows, tallied first: a bulk request's thousand rows
    /// share a few label sets, and each counter call looks its series up.
    fn count(&self, settled: &[Settlement]) {
        let mut tally: HashMap<(&str, Settled, &'static str), (u64, u64)> = HashMap::new();
        for s in settled {
            let reason = outcome::reason_label(s.update.reason.as_deref().unwrap_or(""));
            let entry = tally
                .entry((s.template.as_str(), s.update.settled, reason))
                .or_default();
            entry.0 += 1;
            entry.1 += u64::try_from(s.segments).unwrap_or(1);
        }
        for ((template, settled, reason), (rows, segments)) in tally {
            let template = self.templates.label(template);
            match settled {
                Settled::Sent => {
                    metrics::counter!(SMS_MESSAGES, "outcome" => "sent", "template" => template.clone(), "reason" => "none")
                        .increment(rows);
                    metrics::counter!(SMS_SEGMENTS_SENT, "template" => template)
                        .increment(segments);
                }
                Settled::Queued => {
                    metrics::counter!(SMS_RETRIES, "reason" => reason).increment(rows);
                }
                settled => {
                    metrics::counter!(SMS_MESSAGES, "outcome" => settled.as_str(), "template" => template, "reason" => reason)
                        .increment(rows);
                }
            }
        }
    }
}
