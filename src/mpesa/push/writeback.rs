//! What a push's answer does to its intent, one statement each, guarded so
//! that only the claim that pushed writes.

use std::time::Duration;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::mpesa::StkPushAccepted;

/// Daraja took the push: `pending`, with its ids, queried after
/// `query_after` unless the callback comes first. A row taken over as stuck
/// meanwhile (pending without ids) still gets its ids.
pub async fn accepted(
    conn: &mut PgConnection,
    id: Uuid,
    ids: &StkPushAccepted,
    query_after: Duration,
) -> Result<bool, sqlx::Error> {
    let written = sqlx::query!(
        r#"update mpesa_stk_requests
              set status = 'pending', checkout_request_id = $2, merchant_request_id = $3,
                  pushed_at = now(), next_query_at = now() + make_interval(secs => $4)
            where id = $1 and status in ('queued', 'pending') and checkout_request_id is null"#,
        id,
        ids.checkout_request_id,
        ids.merchant_request_id,
        query_after.as_secs_f64()
    )
    .execute(conn)
    .await?;
    Ok(written.rows_affected() == 1)
}

/// The push was refused before any prompt: `failed`, settled by the push.
pub async fn failed(conn: &mut PgConnection, id: Uuid, reason: &str) -> Result<bool, sqlx::Error> {
    let written = sqlx::query!(
        r#"update mpesa_stk_requests
              set status = 'failed', result_desc = $2, settled_at = now(), settled_by = 'push'
            where id = $1 and status = 'queued'"#,
        id,
        reason
    )
    .execute(conn)
    .await?;
    Ok(written.rows_affected() == 1)
}

/// Nothing was started (Daraja busy): queued again, due after `wait`.
pub async fn retry_later(
    conn: &mut PgConnection,
    id: Uuid,
    wait: Duration,
) -> Result<bool, sqlx::Error> {
    let written = sqlx::query!(
        r#"update mpesa_stk_requests
              set claimed_at = null, next_push_at = now() + make_interval(secs => $2)
            where id = $1 and status = 'queued'"#,
        id,
        wait.as_secs_f64()
    )
    .execute(conn)
    .await?;
    Ok(written.rows_affected() == 1)
}

/// No usable answer: the push may have gone out. `pending` without ids, to
/// be settled by a query or a deadline, never pushed again.
pub async fn unsure(
    conn: &mut PgConnection,
    id: Uuid,
    query_after: Duration,
) -> Result<bool, sqlx::Error> {
    let written = sqlx::query!(
        r#"update mpesa_stk_requests
              set status = 'pending', pushed_at = now(),
                  next_query_at = now() + make_interval(secs => $2)
            where id = $1 and status = 'queued'"#,
        id,
        query_after.as_secs_f64()
    )
    .execute(conn)
    .await?;
    Ok(written.rows_affected() == 1)
}
