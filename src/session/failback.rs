//! The failback window as every node sees it, kept in PostgreSQL's
//! `ussd_failback` row (rule 5 of the [module documentation](super)).
//!
//! A node learns from the row whether Redis may hold stale copies: until
//! `failback_until` it compares both stores. It writes the row when it writes
//! a session to PostgreSQL but not to Redis ([`record_until`]) and when it
//! sees a Redis `run_id` ([`adopt_run_id`]); a different `run_id` than the
//! one recorded means Redis restarted, so the window opens for every node.

use std::time::Duration;

use sqlx::PgPool;

/// Slack added to what a node records, so an outage that writes many
/// sessions to PostgreSQL updates the row once per slack, not once per hop.
pub(super) const RECORD_SLACK: Duration = Duration::from_secs(5);

/// Records `run_id` as the Redis every node talks to and returns how long
/// the window lasts from now. When the row names another server, Redis
/// restarted since a node last looked: the window is pushed `restart_window`
/// ahead first. A row that names none (a database no node served sessions
/// on) opens nothing.
pub(super) async fn adopt_run_id(
    pool: &PgPool,
    run_id: &str,
    restart_window: Duration,
) -> Result<Duration, sqlx::Error> {
    let remaining_ms = sqlx::query_scalar!(
        r#"update ussd_failback
              set failback_until = case
                      when redis_run_id is not null and redis_run_id <> $1
                      then greatest(failback_until, now() + make_interval(secs => $2))
                      else failback_until end,
                  redis_run_id = $1
            returning (extract(epoch from greatest(failback_until, now()) - now()) * 1000)::bigint
                      as "remaining_ms!""#,
        run_id,
        restart_window.as_secs_f64()
    )
    .fetch_one(pool)
    .await?;
    Ok(Duration::from_millis(
        u64::try_from(remaining_ms).unwrap_or(0),
    ))
}

/// Makes the shared window last at least `for_at_least` from now.
pub(super) async fn record_until(pool: &PgPool, for_at_least: Duration) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update ussd_failback
              set failback_until = greatest(failback_until, now() + make_interval(secs => $1))"#,
        for_at_least.as_secs_f64()
    )
    .execute(pool)
    .await?;
    Ok(())
}
