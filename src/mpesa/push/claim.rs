//! Claiming due intents, and taking over the ones a dead node left claimed.

use std::time::Duration;

use sqlx::PgConnection;
use uuid::Uuid;

/// An intent claimed for one push.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub chama_id: Uuid,
    pub user_id: Uuid,
    pub purpose: String,
    pub amount: i64,
    /// The payer's phone, E.164.
    pub phone: String,
    pub account_reference: String,
    /// Pushes tried, this one included.
    pub push_attempts: i32,
}

/// Claims up to `limit` queued intents that are due: one statement, rows
/// other workers hold are skipped, and a claimed row is not due again until
/// its push is written back.
pub async fn claim_due(conn: &mut PgConnection, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
    sqlx::query_as!(
        Claimed,
        r#"update mpesa_stk_requests r
              set claimed_at = now(), push_attempts = r.push_attempts + 1
            where r.id in (select id from mpesa_stk_requests
                            where status = 'queued' and claimed_at is null
                              and next_push_at <= now()
                            order by next_push_at
                            limit $1
                            for update skip locked)
        returning r.id, r.chama_id, r.user_id, r.purpose, r.amount, r.phone,
                  r.account_reference, r.push_attempts"#,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Intents claimed longer than `timeout` ago and never written back: their
/// node died mid-push, and the push may have gone out. They become
/// `pending` without a CheckoutRequestID, to be settled by a query or a
/// deadline, never pushed again. Returns how many.
pub async fn take_over_stuck(
    conn: &mut PgConnection,
    timeout: Duration,
    query_after: Duration,
) -> Result<u64, sqlx::Error> {
    let taken = sqlx::query!(
        r#"update mpesa_stk_requests
              set status = 'pending', pushed_at = coalesce(pushed_at, claimed_at),
                  next_query_at = now() + make_interval(secs => $2)
            where status = 'queued' and claimed_at < now() - make_interval(secs => $1)"#,
        timeout.as_secs_f64(),
        query_after.as_secs_f64()
    )
    .execute(conn)
    .await?;
    Ok(taken.rows_affected())
}
