//! The pending gauges: how many requests wait for a result, and since when.

use sqlx::PgPool;

use crate::telemetry::{MPESA_STK_OLDEST_PENDING, MPESA_STK_PENDING};

/// Reads and publishes both gauges.
pub(super) async fn publish(db: &PgPool) -> Result<(), sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) as "pending!",
                  coalesce(extract(epoch from now() - min(coalesce(pushed_at, created_at))), 0)::float8
                      as "oldest!"
             from mpesa_stk_requests
            where status = 'pending'"#
    )
    .fetch_one(db)
    .await?;
    metrics::gauge!(MPESA_STK_PENDING).set(row.pending as f64);
    metrics::gauge!(MPESA_STK_OLDEST_PENDING).set(row.oldest);
    Ok(())
}
