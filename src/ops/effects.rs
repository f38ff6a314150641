//! The `idempotency_keys` table: which effects happened, and their outcome.

use std::time::Duration;

use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;

use super::context::IdempotencyKey;

/// The stored outcome of the effect with this key, if it happened.
pub async fn find(
    conn: &mut PgConnection,
    key: &IdempotencyKey,
) -> Result<Option<serde_json::Value>, sqlx::Error> {
    sqlx::query_scalar!(
        "select outcome from idempotency_keys where key = $1",
        key.as_str()
    )
    .fetch_optional(conn)
    .await
}

/// Records the effect in the caller's transaction. `false` when a copy of
/// the request recorded it first (the insert waits for that copy to commit
/// or roll back, so the answer is final).
pub async fn record(
    conn: &mut PgConnection,
    key: &IdempotencyKey,
    operation: &str,
    outcome: &serde_json::Value,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query!(
        r#"insert into idempotency_keys (key, operation, outcome) values ($1, $2, $3)
           on conflict (key) do nothing"#,
        key.as_str(),
        operation,
        outcome
    )
    .execute(conn)
    .await?;
    Ok(inserted.rows_affected() == 1)
}

/// How long a key is kept: longer than any copy of a request can arrive
/// (seconds for a USSD hop; an app retries within a day).
const KEY_LIFETIME: Duration = Duration::from_secs(2 * 24 * 60 * 60);
/// How often old keys are purged, and how many per statement.
const PURGE_EVERY: Duration = Duration::from_secs(10 * 60);
const PURGE_BATCH: i64 = 5_000;

/// Deletes keys recorded before `cutoff`, at most `limit` of them; how many went.
pub async fn purge_before(
    conn: &mut PgConnection,
    cutoff: chrono::DateTime<chrono::Utc>,
    limit: i64,
) -> Result<u64, sqlx::Error> {
    let deleted = sqlx::query!(
        r#"delete from idempotency_keys
            where ctid = any(array(select ctid from idempotency_keys
                                    where created_at < $1 limit $2))"#,
        cutoff,
        limit
    )
    .execute(conn)
    .await?;
    Ok(deleted.rows_affected())
}

/// Purges keys older than [`KEY_LIFETIME`] until `shutdown`. Every node runs
/// it; two purges at once only share the work.
pub async fn purge_old_keys(db: PgPool, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(KEY_LIFETIME).unwrap_or(chrono::Duration::days(2));
        loop {
            let deleted = match db.acquire().await {
                Ok(mut conn) => purge_before(&mut conn, cutoff, PURGE_BATCH).await,
                Err(error) => Err(error),
            };
            match deleted {
                Ok(n) if n == PURGE_BATCH as u64 => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, "cannot purge old idempotency keys; trying again later");
                    break;
                }
            }
        }
    }
}
