//! `pesachama sms retry --dead | --parked`: puts dead or parked letters back
//! in the queue after the cause is fixed, with a fresh attempt budget. Each
//! keeps its batch key: a letter whose last send went unanswered is sent
//! again under the same idempotency key.

use secrecy::SecretString;
use sqlx::PgConnection;

use crate::chama::{Actor, record_audit};
use crate::db;

/// Which letters to requeue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requeue {
    Dead,
    Parked,
}

impl Requeue {
    fn status(self) -> &'static str {
        match self {
            Requeue::Dead => "dead",
            Requeue::Parked => "parked",
        }
    }
}

async fn requeue(conn: &mut PgConnection, status: &str) -> Result<u64, sqlx::Error> {
    let done = sqlx::query!(
        r#"update sms_outbox
              set status = 'queued', attempts = 0, next_attempt_at = now(),
                  failure_reason = null, updated_at = now()
            where status = $1"#,
        status
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Requeues every letter of `which`, with an audit row; returns how many.
pub async fn retry(url: &SecretString, which: Requeue) -> anyhow::Result<u64> {
    let pool = db::connect(url).await?;
    let mut tx = pool.begin().await?;
    let rows = requeue(&mut tx, which.status()).await?;
    if rows > 0 {
        record_audit(
            &mut tx,
            Actor::Cli,
            "sms.requeue",
            None,
            Some(which.status()),
            serde_json::json!({ "rows": rows }),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(rows)
}
