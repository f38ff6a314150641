//! `pesachama sms status`: queue depth by state, the oldest pending age, and
//! the dead and parked letters by reason.

use std::fmt;

use secrecy::SecretString;
use sqlx::PgConnection;

use crate::db;
use crate::sms::dispatch::depth;

/// What the outbox holds.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Rows per state, every state listed.
    pub by_state: Vec<(String, i64)>,
    /// Seconds the most overdue queued message has been due.
    pub oldest_pending_secs: f64,
    /// Dead and parked rows by state and reason.
    pub attention: Vec<(String, String, i64)>,
}

const STATES: [&str; 7] = [
    "queued",
    "sending",
    "sent",
    "delivered",
    "failed",
    "dead",
    "parked",
];

async fn counts(conn: &mut PgConnection) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows =
        sqlx::query!(r#"select status, count(*) as "count!" from sms_outbox group by status"#)
            .fetch_all(conn)
            .await?;
    Ok(STATES
        .iter()
        .map(|state| {
            let count = rows
                .iter()
                .find(|r| r.status == *state)
                .map_or(0, |r| r.count);
            ((*state).to_owned(), count)
        })
        .collect())
}

async fn attention(conn: &mut PgConnection) -> Result<Vec<(String, String, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select status, coalesce(failure_reason, 'unknown') as "reason!", count(*) as "count!"
             from sms_outbox
            where status in ('dead', 'parked')
            group by 1, 2
            order by 1, 3 desc"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.status, r.reason, r.count))
        .collect())
}

/// Reads the status of the outbox at `url`.
pub async fn status(url: &SecretString) -> anyhow::Result<Status> {
    let pool = db::connect(url).await?;
    let mut conn = pool.acquire().await?;
    Ok(Status {
        by_state: counts(&mut conn).await?,
        oldest_pending_secs: depth::read(&mut conn).await?.oldest_pending_secs,
        attention: attention(&mut conn).await?,
    })
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "outbox by state:")?;
        for (state, count) in &self.by_state {
            writeln!(f, "  {state:<10} {count:>10}")?;
        }
        writeln!(
            f,
            "oldest pending: {:.0} s overdue",
            self.oldest_pending_secs
        )?;
        if self.attention.is_empty() {
            return writeln!(f, "no dead or parked letters");
        }
        writeln!(f, "dead and parked letters by reason:")?;
        for (state, reason, count) in &self.attention {
            writeln!(f, "  {state:<10} {reason:<24} {count:>10}")?;
        }
        Ok(())
    }
}
