//! The daily reminder job: contribution reminders before each chama's due
//! date and meeting reminders the day before a meeting.
//!
//! - **When.** Once a day at `settings.sms.reminder_time`, Nairobi time
//!   (UTC+3 all year). Every node polls; the first to find today's run due
//!   and not done runs it. A node started after that hour runs it at once if
//!   no node did today (the catch-up), and since each run looks at every due
//!   date from today to `reminder_days_before` days ahead, a day missed
//!   entirely is made up the next day, as long as the due date is still ahead.
//! - **One node.** The run holds a transaction-scoped advisory lock; a node
//!   that cannot take it leaves the day to the node that has it. The outbox
//!   rows and the `sms_reminder_runs` row of the day commit together.
//! - **Once per member.** Each reminder's dedupe key names the member and the
//!   due date (or meeting), so even a second run, on any node, queues nothing.
//! - **Who.** Active members who have not opted out (`STOP`) and, for a
//!   contribution, have not paid the period's amount (see [`contribution`]).

mod contribution;
mod meeting;
pub mod schedule;

use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
use sqlx::{PgConnection, PgPool};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::i18n::{Lang, Vars};
use crate::phone::Msisdn;
use crate::sms::outbox::{self, Queued, QueuedSms};
use crate::sms::templates::Templates;
use crate::state::AppState;
use crate::telemetry;

/// East Africa Time, the clock of reminders: UTC+3, no daylight saving.
pub const NAIROBI: FixedOffset = match FixedOffset::east_opt(3 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+3 is a valid offset"),
};

/// Key of the advisory lock one run holds ("pesa_rmd" in ASCII).
const RUN_LOCK: i64 = 0x7065_7361_5f72_6d64;

/// How often each node looks whether today's run is due: the run starts
/// at most this long after the configured time.
const POLL_EVERY: Duration = Duration::from_secs(60);

/// What one member's reminder came to, per reminder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Reminders queued.
    pub queued: u64,
    /// Members who paid the period's contribution.
    pub paid: u64,
    /// Members who texted STOP.
    pub opted_out: u64,
    /// Reminders already in the outbox (an earlier run).
    pub duplicate: u64,
}

/// What a run did, per reminder.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tallies {
    pub contribution: Tally,
    pub meeting: Tally,
}

/// What [`run_once`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// This call ran the day's job.
    Ran(Tallies),
    /// The day's job had already run.
    AlreadyDone,
    /// Another node is running it now.
    Busy,
}

/// A member a reminder may go to.
#[derive(Debug, Clone)]
struct Recipient {
    user_id: Uuid,
    phone: Msisdn,
    lang: Lang,
    opted_out: bool,
}

impl Recipient {
    fn from_row(
        user_id: Uuid,
        phone: &str,
        language: &str,
        opted_out: Option<bool>,
    ) -> Result<Recipient, sqlx::Error> {
        Ok(Recipient {
            user_id,
            // The users table only holds E.164 numbers (users_phone_e164).
            phone: Msisdn::parse(phone).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            lang: Lang::parse(language).unwrap_or_default(),
            opted_out: opted_out.unwrap_or(false),
        })
    }
}

/// Runs the reminders of `today` (a Nairobi date) unless they ran already or
/// another node is running them.
pub async fn run_once(
    db: &PgPool,
    texts: &Templates,
    days_before: u32,
    today: NaiveDate,
) -> Result<RunOutcome, sqlx::Error> {
    let mut tx = db.begin().await?;
    if !try_run_lock(&mut tx).await? {
        return Ok(RunOutcome::Busy);
    }
    if run_done(&mut tx, today).await? {
        return Ok(RunOutcome::AlreadyDone);
    }
    let tallies = Tallies {
        contribution: contribution::queue_due(&mut tx, texts, today, days_before).await?,
        meeting: meeting::queue_tomorrow(&mut tx, texts, today).await?,
    };
    let queued = tallies.contribution.queued + tallies.meeting.queued;
    record_run(&mut tx, today, queued).await?;
    tx.commit().await?;
    // Counted once committed: a rolled-back run queued nothing.
    count("contribution", tallies.contribution);
    count("meeting", tallies.meeting);
    Ok(RunOutcome::Ran(tallies))
}

fn count(reminder: &'static str, tally: Tally) {
    metrics::counter!(telemetry::SMS_REMINDERS_QUEUED, "reminder" => reminder)
        .increment(tally.queued);
    for (reason, n) in [
        ("paid", tally.paid),
        ("opted_out", tally.opted_out),
        ("duplicate", tally.duplicate),
    ] {
        metrics::counter!(telemetry::SMS_REMINDERS_SKIPPED, "reminder" => reminder, "reason" => reason)
            .increment(n);
    }
}

/// The Nairobi date whose run is due at `now`, if it is past the hour.
pub fn due_run(now: DateTime<Utc>, at: NaiveTime) -> Option<NaiveDate> {
    let local: NaiveDateTime = now.with_timezone(&NAIROBI).naive_local();
    (local.time() >= at).then_some(local.date())
}

/// Start of Nairobi day `date`, as an instant.
fn nairobi_midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN).and_utc() - TimeDelta::seconds(NAIROBI.local_minus_utc().into())
}

/// One reminder for one member.
struct Reminder<'a> {
    chama_id: Uuid,
    to: &'a Recipient,
    template: &'static str,
    vars: &'a Vars,
    dedupe_key: &'a str,
}

/// Renders the reminder and queues it under its dedupe key, unless its
/// member opted out; counts what happened in `tally`.
async fn queue_one(
    conn: &mut PgConnection,
    texts: &Templates,
    reminder: Reminder<'_>,
    tally: &mut Tally,
) -> Result<(), sqlx::Error> {
    let Reminder {
        chama_id,
        to,
        template,
        vars,
        dedupe_key,
    } = reminder;
    if to.opted_out {
        tally.opted_out += 1;
        return Ok(());
    }
    // The tests render every reminder in both languages, so a failure is a
    // template changed without this caller: the run fails loudly and is
    // retried at the next poll rather than skip members silently.
    let rendered = texts
        .render(to.lang, template, vars)
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let queued = outbox::queue(
        conn,
        QueuedSms {
            chama_id: Some(chama_id),
            user_id: Some(to.user_id),
            phone: &to.phone,
            message: &rendered.text,
            template,
            kind: rendered.kind,
            dedupe_key,
        },
    )
    .await?;
    match queued {
        Queued::New => tally.queued += 1,
        Queued::Duplicate => tally.duplicate += 1,
    }
    Ok(())
}

/// Polls for the day's run until `shutdown`; spawned under the Supervisor.
/// A failed run is logged and tried again at the next poll.
pub async fn run(state: AppState, shutdown: CancellationToken) {
    let at = state.settings.sms.reminder_time;
    let days_before = state.settings.sms.reminder_days_before;
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut done_for = None;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let Some(today) = due_run(Utc::now(), at) else {
            continue;
        };
        if done_for == Some(today) {
            continue;
        }
        match run_once(&state.db, &state.sms_texts, days_before, today).await {
            Ok(RunOutcome::Ran(tallies)) => {
                tracing::info!(%today, ?tallies, "reminders queued");
                done_for = Some(today);
            }
            Ok(RunOutcome::AlreadyDone) => done_for = Some(today),
            Ok(RunOutcome::Busy) => {}
            Err(error) => tracing::warn!(%error, %today, "reminder run failed; trying again"),
        }
    }
}

async fn try_run_lock(conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
    let locked = sqlx::query_scalar!(
        r#"select pg_try_advisory_xact_lock($1) as "locked!""#,
        RUN_LOCK
    )
    .fetch_one(conn)
    .await?;
    Ok(locked)
}

async fn run_done(conn: &mut PgConnection, day: NaiveDate) -> Result<bool, sqlx::Error> {
    let done = sqlx::query_scalar!(
        r#"select exists (select 1 from sms_reminder_runs where run_on = $1) as "done!""#,
        day
    )
    .fetch_one(conn)
    .await?;
    Ok(done)
}

async fn record_run(
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn the_run_is_due_from_the_hour_in_nairobi() {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap();
        // 05:59 UTC is 08:59 in Nairobi.
        let early = Utc.with_ymd_and_hms(2026, 12, 1, 5, 59, 0).unwrap();
        assert_eq!(due_run(early, nine), None);
        let on_time = Utc.with_ymd_and_hms(2026, 12, 1, 6, 0, 0).unwrap();
        assert_eq!(due_run(on_time, nine), NaiveDate::from_ymd_opt(2026, 12, 1));
        // 22:30 UTC is 01:30 the next day in Nairobi.
        let late = Utc.with_ymd_and_hms(2026, 12, 1, 22, 30, 0).unwrap();
        assert_eq!(due_run(late, nine), None);
        let one = NaiveTime::from_hms_opt(1, 0, 0).unwrap();
        assert_eq!(due_run(late, one), NaiveDate::from_ymd_opt(2026, 12, 2));
    }

    #[test]
    fn a_nairobi_day_starts_at_21_utc() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        assert_eq!(
            nairobi_midnight(date),
            Utc.with_ymd_and_hms(2026, 12, 4, 21, 0, 0).unwrap()
        );
    }
}
