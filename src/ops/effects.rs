//! The `idempotency_keys` table: which effects happened, and their outcome.

use sqlx::PgConnection;

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

/// Deletes keys recorded before `cutoff`, at most `limit` of them; how many went.
/// A key only has to outlive every copy of its request (seconds for a USSD
/// hop, a day for an app retry), so old ones are purged.
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
