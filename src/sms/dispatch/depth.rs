//! How full the outbox is: rows waiting, in flight and needing an operator,
//! and how late the most overdue message is. Each count reads a partial
//! index, so the query stays cheap however much history `sent` holds.

use sqlx::PgConnection;

use crate::telemetry::{SMS_OUTBOX_DEPTH, SMS_OUTBOX_OLDEST_PENDING};

/// The outbox's pending and attention states.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Depth {
    pub queued: i64,
    pub sending: i64,
    pub dead: i64,
    pub parked: i64,
    /// Seconds the most overdue queued message has been due; 0 if none is.
    pub oldest_pending_secs: f64,
}

/// Reads the depth.
pub async fn read(conn: &mut PgConnection) -> Result<Depth, sqlx::Error> {
    let row = sqlx::query!(
        r#"select
             (select count(*) from sms_outbox where status = 'queued') as "queued!",
             (select count(*) from sms_outbox where status = 'sending') as "sending!",
             (select count(*) from sms_outbox where status = 'dead') as "dead!",
             (select count(*) from sms_outbox where status = 'parked') as "parked!",
             coalesce(extract(epoch from now() - (
                 select min(next_attempt_at) from sms_outbox
                  where status = 'queued' and next_attempt_at <= now()
             ))::float8, 0) as "oldest!""#
    )
    .fetch_one(conn)
    .await?;
    Ok(Depth {
        queued: row.queued,
        sending: row.sending,
        dead: row.dead,
        parked: row.parked,
        oldest_pending_secs: row.oldest,
    })
}

/// Sets the depth gauges.
pub fn publish(depth: &Depth) {
    for (state, count) in [
        ("queued", depth.queued),
        ("sending", depth.sending),
        ("dead", depth.dead),
        ("parked", depth.parked),
    ] {
        metrics::gauge!(SMS_OUTBOX_DEPTH, "state" => state).set(count as f64);
    }
    metrics::gauge!(SMS_OUTBOX_OLDEST_PENDING).set(depth.oldest_pending_secs);
}
