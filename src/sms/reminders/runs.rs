//! The day's run as the database sees it: the advisory lock one node holds
//! while running, and the `sms_reminder_runs` row that says it is done.

use chrono::NaiveDate;
use sqlx::PgConnection;

/// Key of the advisory lock one run holds ("pesa_rmd" in ASCII).
const RUN_LOCK: i64 = 0x7065_7361_5f72_6d64;

/// Takes the run's lock for the caller's transaction, if no one holds it.
pub(super) async fn try_lock(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let locked = sqlx::query_scalar!(
        r#"select pg_try_advisory_xact_lock($1) as "locked!""#,
        RUN_LOCK
    )
    .fetch_one(conn)
    .await?;
    Ok(locked)
}

/// Whether the run of `day` committed.
pub(super) async fn done(conn: &mut PgConnection, day: NaiveDate) -> Result<bool, sqlx::Error> {
    let done = sqlx::query_scalar!(
        r#"select exists (select 1 from sms_reminder_runs where run_on = $1) as "done!""#,
        day
    )
    .fetch_one(conn)
    .await?;
    Ok(done)
}

/// Records the run of `day`, in the transaction that queued its reminders.
pub(super) async fn record(
    conn: &mut PgConnection,
    day: NaiveDate,
    queued: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into sms_reminder_runs (run_on, queued) values ($1, $2)",
        day,
        i32::try_from(queued).unwrap_or(i32::MAX)
    )
    .execute(conn)
    .await?;
    Ok(())
}
