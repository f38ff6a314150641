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
mod poll;
mod runs;
pub mod schedule;

pub use contribution::owed_this_period;
pub use poll::{due_run, run};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::i18n::{Lang, Vars};
use crate::phone::Msisdn;
use crate::sms::outbox::{self, Queued, QueuedSms};
use crate::sms::templates::Templates;
use crate::telemetry;

/// East Africa Time, the clock of reminders: UTC+3, no daylight saving.
pub const NAIROBI: FixedOffset = match FixedOffset::east_opt(3 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+3 is a valid offset"),
};

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
    if !runs::try_lock(&mut tx).await? {
        return Ok(RunOutcome::Busy);
    }
    if runs::done(&mut tx, today).await? {
        return Ok(RunOutcome::AlreadyDone);
    }
    let tallies = Tallies {
        contribution: contribution::queue_due(&mut tx, texts, today, days_before).await?,
        meeting: meeting::queue_tomorrow(&mut tx, texts, today).await?,
    };
    let queued = tallies.contribution.queued + tallies.meeting.queued;
    runs::record(&mut tx, today, queued).await?;
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
        // The member texted STOP after the run read them.
        Queued::OptedOut => tally.opted_out += 1,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_nairobi_day_starts_at_21_utc() {
        let date = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        assert_eq!(
            nairobi_midnight(date),
            Utc.with_ymd_and_hms(2026, 12, 4, 21, 0, 0).unwrap()
        );
    }
}
