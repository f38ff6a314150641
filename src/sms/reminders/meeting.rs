//! Meeting reminders: every active member of a chama with a meeting
//! scheduled tomorrow (Nairobi date) hears of it once.

use chrono::{DateTime, Days, NaiveDate, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::{NAIROBI, Recipient, Reminder, Tally, nairobi_midnight, queue_one};
use crate::i18n::Vars;
use crate::sms::templates::Templates;

/// The template of a meeting reminder.
pub const TEMPLATE: &str = "sms-reminder-meeting";

struct Meeting {
    id: Uuid,
    chama_id: Uuid,
    chama: String,
    scheduled_at: DateTime<Utc>,
    location: Option<String>,
}

/// Queues the reminders of the meetings of the day after `today`.
pub(super) async fn queue_tomorrow(
    conn: &mut PgConnection,
    texts: &Templates,
    today: NaiveDate,
) -> Result<Tally, sqlx::Error> {
    let mut tally = Tally::default();
    let from = nairobi_midnight(today + Days::new(1));
    let until = nairobi_midnight(today + Days::new(2));
    for meeting in meetings_between(conn, from, until).await? {
        let at = meeting.scheduled_at.with_timezone(&NAIROBI);
        let location = meeting.location.as_deref().map(str::trim).unwrap_or("");
        let place = if location.is_empty() {
            "unknown"
        } else {
            "known"
        };
        let vars = Vars::from([
            ("chama".to_owned(), meeting.chama.clone()),
            ("date".to_owned(), at.format("%d/%m/%Y").to_string()),
            ("time".to_owned(), at.format("%H:%M").to_string()),
            ("place".to_owned(), place.to_owned()),
            ("location".to_owned(), location.to_owned()),
        ]);
        for member in active_members(conn, meeting.chama_id).await? {
            let key = format!("reminder:meeting:{}:{}", meeting.id, member.user_id);
            let reminder = Reminder {
                chama_id: meeting.chama_id,
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

async fn meetings_between(
    conn: &mut PgConnection,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Meeting>, sqlx::Error> {
    sqlx::query_as!(
        Meeting,
        r#"select m.id, m.chama_id, c.name as chama, m.scheduled_at, m.location
           from meetings m
           join chamas c on c.id = m.chama_id
           where m.status = 'scheduled' and m.scheduled_at >= $1 and m.scheduled_at < $2
           order by m.scheduled_at, m.id"#,
        from,
        until
    )
    .fetch_all(conn)
    .await
}

async fn active_members(
    conn: &mut PgConnection,
    chama_id: Uuid,
) -> Result<Vec<Recipient>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select u.id, u.phone, u.language, u.sms_opt_out_at is not null as opted_out
           from chama_members m
           join users u on u.id = m.user_id
           where m.chama_id = $1 and m.status = 'active'
           order by m.member_no"#,
        chama_id
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter()
        .map(|r| Recipient::from_row(r.id, &r.phone, &r.language, r.opted_out))
        .collect()
}
