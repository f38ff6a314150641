//! Writing outcomes back: one statement for every row of the requests that
//! finished together, so a bulk request of a thousand recipients, or a
//! hundred personal requests answered in the same moment, cost one round
//! trip and one commit.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::backoff;
use super::claim::Recipient;
use super::outcome::Verdict;

/// The state a row ends the request in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// The claim that holds the row (see [`write`]).
    pub claimed_at: DateTime<Utc>,
    pub settled: Settled,
    pub message_id: Option<String>,
    pub cost: Option<String>,
    /// The reason of a failed, dead or parked row, or of a retry.
    pub reason: Option<String>,
    pub next_at: Option<DateTime<Utc>>,
    pub keep_key: bool,
    /// The whole request's error, when it failed as a whole.
    pub error: Option<String>,
}

/// Turns a verdict into the row's new state: a retry past the attempt limit
/// is dead, an earlier one waits its back-off.
pub fn settle(
    recipient: &Recipient,
    claimed_at: DateTime<Utc>,
    verdict: Verdict,
    policy: RetryPolicy,
) -> RowUpdate {
    let mut update = RowUpdate {
        id: recipient.id,
        claimed_at,
        settled: Settled::Sent,
        message_id: None,
        cost: None,
        reason: None,
        next_at: None,
        keep_key: true,
        error: None,
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

/// Writes `updates`, each only if its row is still held by its claim: a
/// row taken back in the meantime (this node was too slow) is left alone.
/// Returns the rows written.
pub async fn write(conn: &mut PgConnection, updates: &[RowUpdate]) -> Result<u64, sqlx::Error> {
    let ids: Vec<Uuid> = updates.iter().map(|u| u.id).collect();
    let claims: Vec<DateTime<Utc>> = updates.iter().map(|u| u.claimed_at).collect();
    let statuses: Vec<String> = updates.iter().map(|u| u.settled.as_str().into()).collect();
    let message_ids: Vec<Option<String>> = updates.iter().map(|u| u.message_id.clone()).collect();
    let costs: Vec<Option<String>> = updates.iter().map(|u| u.cost.clone()).collect();
    let reasons: Vec<Option<String>> = updates.iter().map(|u| u.reason.clone()).collect();
    let next_at: Vec<Option<DateTime<Utc>>> = updates.iter().map(|u| u.next_at).collect();
    let keep_key: Vec<bool> = updates.iter().map(|u| u.keep_key).collect();
    let errors: Vec<Option<String>> = updates.iter().map(|u| u.error.clone()).collect();
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
                                    else coalesce(u.error, u.reason) end,
                  next_attempt_at = coalesce(u.next_at, o.next_attempt_at),
                  batch_key = case when u.keep_key then o.batch_key end,
                  updated_at = now()
             from unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[],
                         $6::text[], $7::timestamptz[], $8::bool[], $9::text[])
                  as u(id, claimed_at, status, message_id, cost, reason, next_at, keep_key, error)
            where o.id = u.id and o.status = 'sending' and o.claimed_at = u.claimed_at"#,
        &ids,
        &claims,
        &statuses,
        &message_ids as &[Option<String>],
        &costs as &[Option<String>],
        &reasons as &[Option<String>],
        &next_at as &[Option<DateTime<Utc>>],
        &keep_key,
        &errors as &[Option<String>]
    )
    .execute(conn)
    .await?;
    Ok(written.rows_affected())
}
