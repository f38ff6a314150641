//! Writing a request's outcome back: one statement for all its rows, so a
//! bulk request of a thousand recipients costs one round trip.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::backoff;
use super::claim::Recipient;
use super::outcome::Verdict;

/// The state a row ends the request in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    Sent,
    Failed,
    Queued,
    Dead,
    Parked,
}

impl Settled {
    pub fn as_str(self) -> &'static str {
        match self {
            Settled::Sent => "sent",
            Settled::Failed => "failed",
            Settled::Queued => "queued",
            Settled::Dead => "dead",
            Settled::Parked => "parked",
        }
    }
}

/// How retries are paced and bounded.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

/// One row's new state.
#[derive(Debug, Clone)]
pub struct RowUpdate {
    pub id: Uuid,
    pub settled: Settled,
    pub message_id: Option<String>,
    pub cost: Option<String>,
    /// The reason of a failed, dead or parked row, or of a retry.
    pub reason: Option<String>,
    pub next_at: Option<DateTime<Utc>>,
    pub keep_key: bool,
}

/// Turns a verdict into the row's new state: a retry past the attempt limit
/// is dead, an earlier one waits its back-off.
pub fn settle(recipient: &Recipient, verdict: Verdict, policy: RetryPolicy) -> RowUpdate {
    let mut update = RowUpdate {
        id: recipient.id,
        settled: Settled::Sent,
        message_id: None,
        cost: None,
        reason: None,
        next_at: None,
        keep_key: true,
    };
    match verdict {
        Verdict::Sent { message_id, cost } => {
            update.message_id = message_id;
            update.cost = Some(cost);
        }
        Verdict::Failed { reason } => {
            update.settled = Settled::Failed;
            update.reason = Some(reason);
        }
        Verdict::Park { reason } => {
            update.settled = Settled::Parked;
            update.reason = Some(reason);
        }
        Verdict::Retry { reason, keep_key } => {
            let attempts = u32::try_from(recipient.attempts).unwrap_or(u32::MAX);
            update.keep_key = keep_key;
            update.reason = Some(reason);
            if attempts >= policy.max_attempts {
                update.settled = Settled::Dead;
            } else {
                update.settled = Settled::Queued;
                let wait = backoff::delay(attempts, policy.base, policy.max);
                update.next_at =
                    Some(Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default());
            }
        }
    }
    update
}

/// Writes `updates` for rows still held by the claim of `claimed_at`; a row
/// taken back in the meantime (this node was too slow) is left alone.
/// Returns the rows written.
pub async fn write(
    conn: &mut PgConnection,
    claimed_at: DateTime<Utc>,
    updates: &[RowUpdate],
    error: Option<&str>,
) -> Result<u64, sqlx::Error> {
    let ids: Vec<Uuid> = updates.iter().map(|u| u.id).collect();
    let statuses: Vec<String> = updates.iter().map(|u| u.settled.as_str().into()).collect();
    let message_ids: Vec<Option<String>> = updates.iter().map(|u| u.message_id.clone()).collect();
    let costs: Vec<Option<String>> = updates.iter().map(|u| u.cost.clone()).collect();
    let reasons: Vec<Option<String>> = updates.iter().map(|u| u.reason.clone()).collect();
    let next_at: Vec<Option<DateTime<Utc>>> = updates.iter().map(|u| u.next_at).collect();
    let keep_key: Vec<bool> = updates.iter().map(|u| u.keep_key).collect();
    let written = sqlx::query!(
        r#"update sms_outbox o
              set status = u.status,
                  provider_message_id = coalesce(u.message_id, o.provider_message_id),
                  cost = coalesce(u.cost, o.cost),
                  sent_at = case when u.status = 'sent' then now() else o.sent_at end,
                  -- a retry's reason is its last error; a final state's is
                  -- the reason operators read.
                  failure_reason = case when u.status = 'queued' then null else u.reason end,
                  last_error = case when u.status = 'sent' then o.last_error
                                    else coalesce($8, u.reason) end,
                  next_attempt_at = coalesce(u.next_at, o.next_attempt_at),
                  batch_key = case when u.keep_key then o.batch_key end
             from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],
                         $6::timestamptz[], $7::bool[])
                  as u(id, status, message_id, cost, reason, next_at, keep_key)
            where o.id = u.id and o.status = 'sending' and o.claimed_at = $9"#,
        &ids,
        &statuses,
        &message_ids as &[Option<String>],
        &costs as &[Option<String>],
        &reasons as &[Option<String>],
        &next_at as &[Option<DateTime<Utc>>],
        &keep_key,
        error,
        claimed_at
    )
    .execute(conn)
    .await?;
    Ok(written.rows_affected())
}
