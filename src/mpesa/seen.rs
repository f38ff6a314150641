//! The member saw how a payment ended (the main menu shows it once).

use sqlx::PgConnection;
use uuid::Uuid;

/// Marks the outcome of `user`'s settled request `id` seen; `false` when it
/// was seen already or is not settled.
pub async fn mark_outcome_seen(
    conn: &mut PgConnection,
    id: Uuid,
    user: Uuid,
) -> Result<bool, sqlx::Error> {
    let marked = sqlx::query!(
        r#"update mpesa_stk_requests set outcome_seen_at = now()
            where id = $1 and user_id = $2 and outcome_seen_at is null
              and status not in ('queued', 'pending')"#,
        id,
        user
    )
    .execute(conn)
    .await?;
    Ok(marked.rows_affected() == 1)
}
