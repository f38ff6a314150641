//! Taking back rows whose node died between claim and answer.
//!
//! A row in `sending` longer than the sending timeout belongs to no live
//! node (a live one has answered or given up on every row by then). Whether
//! it went out is unknown, so its kind decides, as for an unanswered send: a
//! kind that retries goes back to the queue keeping its batch key (its
//! repeat carries the same idempotency key, and the rows that shared the key
//! are claimed and sent together again); a kind that parks is parked.

use std::time::Duration;

use sqlx::PgConnection;

use crate::sms::{SmsKind, WhenUnsure};

/// The kinds an unsure send parks.
fn parking_kinds() -> Vec<String> {
    SmsKind::ALL
        .into_iter()
        .filter(|k| k.when_unsure() == WhenUnsure::Park)
        .map(|k| k.as_str().to_owned())
        .collect()
}

/// Rows taken back, by where they went.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Reclaimed {
    pub requeued: u64,
    pub parked: u64,
}

/// Takes back every row in `sending` for longer than `timeout`. Another
/// node reclaiming at the same time skips the rows this one locked.
pub async fn reclaim(conn: &mut PgConnection, timeout: Duration) -> Result<Reclaimed, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        r#"with stuck as (
               select id from sms_outbox
                where status = 'sending'
                  and claimed_at < now() - make_interval(secs => $1)
                  for update skip locked
           )
           update sms_outbox o
              set status = case when o.kind = any($2) then 'parked' else 'queued' end,
                  failure_reason = case when o.kind = any($2) then 'sending_timeout' end,
                  last_error = 'sending_timeout',
                  next_attempt_at = now(),
                  updated_at = now()
             from stuck
            where o.id = stuck.id
        returning o.status"#,
        timeout.as_secs_f64(),
        &parking_kinds()
    )
    .fetch_all(conn)
    .await?;
    let parked = rows.iter().filter(|s| *s == "parked").count() as u64;
    Ok(Reclaimed {
        requeued: rows.len() as u64 - parked,
        parked,
    })
}
