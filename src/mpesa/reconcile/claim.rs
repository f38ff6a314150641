//! Claiming pending requests whose callback is overdue, and the bookkeeping
//! of a query that gave no final answer.

use std::time::Duration;

use sqlx::PgConnection;
use uuid::Uuid;

/// How long a claim keeps other nodes off a request: longer than one query
/// takes (the client's 30 s timeout), after which a dead node's claim
/// lapses by itself.
pub(super) const LEASE: Duration = Duration::from_secs(120);

/// A request to query.
#[derive(Debug, Clone)]
pub(super) struct Claimed {
    pub id: Uuid,
    pub checkout_request_id: String,
    /// Queries made before this one.
    pub query_attempts: i32,
}

/// Claims up to `limit` pending requests that have a CheckoutRequestID and
/// are due: `next_query_at` passed, or, never queried, `query_after` since
/// the push. The claim moves `next_query_at` a lease ahead in the same
/// statement, so another node's claim skips them now (skip locked) and
/// later (not due).
pub(super) async fn claim_due(
    conn: &mut PgConnection,
    query_after: Duration,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"with due as (
               select id from mpesa_stk_requests
                where status = 'pending' and checkout_request_id is not null
                  and coalesce(next_query_at,
                               coalesce(pushed_at, created_at) + make_interval(secs => $1))
                      <= now()
                order by coalesce(next_query_at, created_at)
                limit $2
                  for update skip locked)
           update mpesa_stk_requests r
              set next_query_at = now() + make_interval(secs => $3)
             from due
            where r.id = due.id
           returning r.id, r.checkout_request_id as "checkout_request_id!", r.query_attempts"#,
        query_after.as_secs_f64(),
        limit,
        LEASE.as_secs_f64()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Claimed {
            id: r.id,
            checkout_request_id: r.checkout_request_id,
            query_attempts: r.query_attempts,
        })
        .collect())
}

/// Counts a query and, with `wait`, sets when the next one may run. A
/// request a callback settled while the query was out keeps its state:
/// only these two columns change.
pub(super) async fn record_attempt(
    conn: &mut PgConnection,
    id: Uuid,
    wait: Option<Duration>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update mpesa_stk_requests
              set query_attempts = query_attempts + 1,
                  next_query_at = case when $2::float8 is null then next_query_at
                                       else now() + make_interval(secs => $2) end
            where id = $1"#,
        id,
        wait.map(|w| w.as_secs_f64())
    )
    .execute(conn)
    .await?;
    Ok(())
}
