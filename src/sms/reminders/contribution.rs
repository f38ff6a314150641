//! Contribution reminders: for each chama whose next due date is within
//! `reminder_days_before` days, every active member who has not yet paid the
//! period's amount.
//!
//! **Paid** means the member's net credits to their savings (2000) and share
//! (3000) accounts, in entries that occurred since the period began (the day
//! after the previous due date, Nairobi time), reach the chama's
//! `contribution_amount`. A reversal debits the same accounts and so undoes
//! the payment. A member who paid part is reminded of the rest. A chama
//! whose amount is 0 has not set its contribution yet and is not reminded.

use chrono::{DateTime, Days, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::schedule::Schedule;
use super::{NAIROBI, Recipient, Reminder, Tally, nairobi_midnight, queue_one};
use crate::i18n::{Vars, format_kes};
use crate::ledger::accounts;
use crate::sms::templates::Templates;

/// The template of a contribution reminder.
pub const TEMPLATE: &str = "sms-reminder-contribution";

struct Chama {
    id: Uuid,
    name: String,
    amount: i64,
    schedule: String,
    settings: serde_json::Value,
    created_at: DateTime<Utc>,
}

/// Queues the reminders of the due dates from `today` to `days_before` days
/// ahead.
pub(super) async fn queue_due(
    conn: &mut PgConnection,
    texts: &Templates,
    today: NaiveDate,
    days_before: u32,
) -> Result<Tally, sqlx::Error> {
    let mut tally = Tally::default();
    let horizon = today + Days::new(days_before.into());
    for chama in chamas_that_collect(conn, None).await? {
        let Some((due, since)) = chama.period(today) else {
            continue;
        };
        if due > horizon {
            continue;
        }
        for (member, paid) in members_and_paid(conn, chama.id, since, None).await? {
            if paid >= chama.amount {
                tally.paid += 1;
                continue;
            }
            let vars = Vars::from([
                ("chama".to_owned(), chama.name.clone()),
                ("amount".to_owned(), format_kes(chama.amount - paid)),
                ("date".to_owned(), due.format("%d/%m/%Y").to_string()),
            ]);
            let key = format!(
                "reminder:contribution:{}:{}:{due}",
                chama.id, member.user_id
            );
            let reminder = Reminder {
                chama_id: chama.id,
                to: &member,
                template: TEMPLATE,
                vars: &vars,
                dedupe_key: &key,
            };
            queue_one(conn, texts, reminder, &mut tally).await?;
        }
    }
    Ok(tally)
}

impl Chama {
    /// The next due date from `today` and when its period began; `None`
    /// (logged) when the chama's schedule cannot be read.
    fn period(&self, today: NaiveDate) -> Option<(NaiveDate, DateTime<Utc>)> {
        let created_on = self.created_at.with_timezone(&NAIROBI).date_naive();
        match Schedule::read(&self.schedule, &self.settings, created_on) {
            Ok(schedule) => {
                let due = schedule.next_due(today);
                Some((due, nairobi_midnight(schedule.period_start(due))))
            }
            Err(why) => {
                tracing::warn!(chama.id = %self.id, %why, "the chama's contribution schedule cannot be read");
                None
            }
        }
    }
}

/// What the member still owes of the chama's contribution for the period
/// that ends on the next due date from `today` (Nairobi), by the rule of
/// the reminders; `None` when the chama has set no contribution or its
/// schedule cannot be read.
pub async fn owed_this_period(
    conn: &mut PgConnection,
    chama_id: Uuid,
    user_id: Uuid,
    today: NaiveDate,
) -> Result<Option<i64>, sqlx::Error> {
    let Some(chama) = chamas_that_collect(conn, Some(chama_id)).await?.pop() else {
        return Ok(None);
    };
    let Some((_, since)) = chama.period(today) else {
        return Ok(None);
    };
    let paid = members_and_paid(conn, chama_id, since, Some(user_id))
        .await?
        .pop()
        .map_or(0, |(_, paid)| paid);
    Ok(Some((chama.amount - paid).max(0)))
}

/// Chamas with a contribution set; `only` narrows to one.
async fn chamas_that_collect(
    conn: &mut PgConnection,
    only: Option<Uuid>,
) -> Result<Vec<Chama>, sqlx::Error> {
    sqlx::query_as!(
        Chama,
        r#"select id, name, contribution_amount as amount,
                  contribution_schedule as schedule, settings, created_at
           from chamas
           where contribution_amount > 0 and ($1::uuid is null or id = $1)
           order by id"#,
        only
    )
    .fetch_all(conn)
    .await
}

/// Every active member of the chama (or only `only`) with what they paid
/// since `since`.
async fn members_and_paid(
    conn: &mut PgConnection,
    chama_id: Uuid,
    since: DateTime<Utc>,
    only: Option<Uuid>,
) -> Result<Vec<(Recipient, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select u.id, u.phone, u.language,
                  u.sms_opt_out_at is not null as opted_out,
                  coalesce(p.paid, 0)::bigint as "paid!"
           from chama_members m
           join users u on u.id = m.user_id
           left join lateral (
               select -sum(l.amount) as paid
               from journal_lines l
               join journal_entries e on e.chama_id = l.chama_id and e.id = l.entry_id
               join ledger_accounts a on a.chama_id = l.chama_id and a.id = l.account_id
               where l.chama_id = m.chama_id
                 and l.member_user_id = m.user_id
                 and a.code = any($2)
                 and e.occurred_at >= $3
           ) p on true
           where m.chama_id = $1 and m.status = 'active'
             and ($4::uuid is null or m.user_id = $4)
           order by m.member_no"#,
        chama_id,
        &[accounts::SAVINGS, accounts::SHARES][..],
        since,
        only
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                Recipient::from_row(r.id, &r.phone, &r.language, r.opted_out)?,
                r.paid,
            ))
        })
        .collect()
}
