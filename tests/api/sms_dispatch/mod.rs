//! The SMS dispatcher against real PostgreSQL and the fake Africa's Talking:
//! each message leaves once, through failures, refusals, unanswered sends,
//! dead nodes and competing dispatchers.

mod crash;
mod gateway;
mod outcomes;

use std::sync::Arc;
use std::time::Duration;

use pesachama::config::{Settings, SmsSettings};
use pesachama::phone::Msisdn;
use pesachama::sms::dispatch::Dispatcher;
use pesachama::sms::outbox::{self, QueuedSms};
use pesachama::sms::{FakeAtConfig, FakeSms, SmsClient, SmsKind};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestDb, test_settings};

/// The fake AT the dispatchers send to, over HTTP on loopback, and the
/// real client pointed at it (waiting 2 s, so a planned timeout is quick).
pub async fn fake_at() -> (Arc<dyn SmsClient>, Arc<FakeSms>) {
    let fake = FakeSms::start(FakeAtConfig {
        quiet: true,
        hold: Duration::from_secs(5),
        ..FakeAtConfig::default()
    })
    .await
    .unwrap();
    (Arc::new(fake.client().unwrap()), fake)
}

/// SMS settings for tests: no pacing to speak of, three attempts.
pub fn sms_settings(db: &TestDb) -> SmsSettings {
    let mut raw = test_settings(db, "sms-dispatch:");
    raw.insert("PESACHAMA_SMS_RATE_PER_SEC".into(), "100000".into());
    raw.insert("PESACHAMA_SMS_MAX_ATTEMPTS".into(), "3".into());
    raw.insert("PESACHAMA_SMS_SENDING_TIMEOUT_SECS".into(), "60".into());
    Settings::parse_for_fakes(&raw).unwrap().sms
}

pub async fn dispatcher(db: &TestDb, client: Arc<dyn SmsClient>) -> Dispatcher {
    Dispatcher::new(db.pool().await, client, sms_settings(db))
}

pub fn phone(n: u32) -> Msisdn {
    Msisdn::parse(&format!("07{:08}", 10_000_000 + n)).unwrap()
}

/// Queues one message in its own transaction; returns its row id.
pub async fn queue(pool: &PgPool, to: &Msisdn, message: &str, kind: SmsKind) -> Uuid {
    let key = format!("test:{}", Uuid::new_v4());
    let mut tx = pool.begin().await.unwrap();
    outbox::queue(
        &mut tx,
        QueuedSms {
            chama_id: None,
            user_id: None,
            phone: to,
            message,
            template: "sms-test",
            kind,
            dedupe_key: &key,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    sqlx::query_scalar("select id from sms_outbox where dedupe_key = $1")
        .bind(&key)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[derive(Debug, sqlx::FromRow)]
pub struct Row {
    pub status: String,
    pub attempts: i32,
    pub batch_key: Option<String>,
    pub provider_message_id: Option<String>,
    pub cost: Option<String>,
    pub failure_reason: Option<String>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `updated_at` moved past `created_at`: the statements that change a
    /// row keep it themselves (there is no trigger).
    pub touched: bool,
}

pub async fn row(pool: &PgPool, id: Uuid) -> Row {
    sqlx::query_as(
        "select status, attempts, batch_key, provider_message_id, cost, failure_reason, sent_at,
                updated_at > created_at as touched
           from sms_outbox where id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Makes every queued row due now: the clock moving past the back-off.
pub async fn make_due(pool: &PgPool) {
    sqlx::query("update sms_outbox set next_attempt_at = now() where status = 'queued'")
        .execute(pool)
        .await
        .unwrap();
}
