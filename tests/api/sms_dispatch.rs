//! The SMS dispatcher against real PostgreSQL and the fake Africa's Talking:
//! each message leaves once, through failures, refusals, unanswered sends,
//! dead nodes and competing dispatchers.

use std::collections::HashSet;
use std::sync::Arc;

use pesachama::chama::{self, Actor, ChamaCode};
use pesachama::config::{Settings, SmsSettings};
use pesachama::phone::Msisdn;
use pesachama::sms::dispatch::Dispatcher;
use pesachama::sms::outbox::{self, QueuedSms};
use pesachama::sms::{
    BoxFuture, Failure, FakeSms, SmsClient, SmsError, SmsKind, SmsRecipientResult,
};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{TestDb, test_settings};

/// The fake AT the dispatchers send to: the one place that builds it, so
/// swapping in the HTTP fake changes only this function.
fn fake_at() -> (Arc<dyn SmsClient>, Arc<FakeSms>) {
    let fake = Arc::new(FakeSms::new());
    (fake.clone(), fake)
}

/// SMS settings for tests: no pacing to speak of, three attempts.
fn sms_settings(db: &TestDb) -> SmsSettings {
    let mut raw = test_settings(db, "sms-dispatch:");
    raw.insert("PESACHAMA_SMS_RATE_PER_SEC".into(), "100000".into());
    raw.insert("PESACHAMA_SMS_MAX_ATTEMPTS".into(), "3".into());
    raw.insert("PESACHAMA_SMS_SENDING_TIMEOUT_SECS".into(), "60".into());
    Settings::parse_for_fakes(&raw).unwrap().sms
}

async fn dispatcher(db: &TestDb, client: Arc<dyn SmsClient>) -> Dispatcher {
    Dispatcher::new(db.pool().await, client, sms_settings(db))
}

fn phone(n: u32) -> Msisdn {
    Msisdn::parse(&format!("07{:08}", 10_000_000 + n)).unwrap()
}

/// Queues one message in its own transaction; returns its row id.
async fn queue(pool: &PgPool, to: &Msisdn, message: &str, kind: SmsKind) -> Uuid {
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
struct Row {
    status: String,
    attempts: i32,
    batch_key: Option<String>,
    provider_message_id: Option<String>,
    cost: Option<String>,
    failure_reason: Option<String>,
    sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

async fn row(pool: &PgPool, id: Uuid) -> Row {
    sqlx::query_as(
        "select status, attempts, batch_key, provider_message_id, cost, failure_reason, sent_at
           from sms_outbox where id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Makes every queued row due now: the clock moving past the back-off.
async fn make_due(pool: &PgPool) {
    sqlx::query("update sms_outbox set next_attempt_at = now() where status = 'queued'")
        .execute(pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_message_and_the_change_it_reports_commit_or_roll_back_together() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at();
    let dispatcher = dispatcher(&db, client).await;
    for commit in [false, true] {
        let mut tx = pool.begin().await.unwrap();
        let code = ChamaCode::parse(if commit { "KEPT" } else { "GONE" }).unwrap();
        chama::create_chama(&mut tx, Actor::Cli, "Umoja", &code)
            .await
            .unwrap();
        outbox::queue(
            &mut tx,
            QueuedSms {
                chama_id: None,
                user_id: None,
                phone: &phone(1),
                message: "Umoja is ready",
                template: "sms-test",
                kind: SmsKind::Notice,
                dedupe_key: &format!("chama.create:{commit}"),
            },
        )
        .await
        .unwrap();
        if commit {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
            assert_eq!(dispatcher.drain_once().await.unwrap().rows, 0);
            assert!(fake.sent().is_empty(), "a rolled-back message never leaves");
        }
    }
    assert_eq!(dispatcher.drain_once().await.unwrap().rows, 1);
    let sent = fake.sent();
    assert_eq!(sent.len(), 1);
    let (status, message_id, cost): (String, Option<String>, Option<String>) =
        sqlx::query_as("select status, provider_message_id, cost from sms_outbox")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status, "sent");
    assert_eq!(message_id.as_ref(), Some(&sent[0].message_id));
    assert_eq!(cost.as_deref(), Some("KES 0.8000"));
    let chamas: Vec<String> = sqlx::query_scalar("select code from chamas")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(chamas, ["KEPT"]);
}

#[tokio::test]
async fn a_server_error_is_retried_under_a_new_key_then_sent() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at();
    let dispatcher = dispatcher(&db, client).await;
    let id = queue(&pool, &phone(1), "Receipt 1", SmsKind::Receipt).await;
    fake.fail_next(1, Failure::ServerError);

    dispatcher.drain_once().await.unwrap();
    let after_failure = row(&pool, id).await;
    if after_failure.status == "queued" {
        // Nothing went out: the next request is a new one with a new key.
        assert_eq!(after_failure.batch_key, None);
        assert_eq!(after_failure.attempts, 1);
        make_due(&pool).await;
        dispatcher.drain_once().await.unwrap();
    }

    let sent = row(&pool, id).await;
    assert_eq!(sent.status, "sent");
    assert_eq!(sent.attempts, 2);
    assert!(sent.sent_at.is_some());
    assert_eq!(sent.cost.as_deref(), Some("KES 0.8000"));
    assert_eq!(fake.sent().len(), 1);
}

#[tokio::test]
async fn retries_run_out_into_a_dead_letter_with_its_reason() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at();
    let dispatcher = dispatcher(&db, client).await;
    let id = queue(&pool, &phone(1), "Receipt 1", SmsKind::Receipt).await;
    fake.fail_next(100, Failure::Throttled);

    for _ in 0..3 {
        dispatcher.drain_once().await.unwrap();
        make_due(&pool).await;
    }

    let dead = row(&pool, id).await;
    assert_eq!(dead.status, "dead");
    assert_eq!(dead.attempts, 3);
    assert_eq!(dead.failure_reason.as_deref(), Some("throttled"));
    assert_eq!(
        dispatcher.drain_once().await.unwrap().rows,
        0,
        "dead stays dead"
    );
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn a_permanent_refusal_fails_that_number_only_and_is_not_retried() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at();
    let dispatcher = dispatcher(&db, client).await;
    fake.refuse_number(&phone(1), 406, "UserInBlacklist");
    let refused = queue(&pool, &phone(1), "Meeting on Sunday", SmsKind::Reminder).await;
    let fine = queue(&pool, &phone(2), "Meeting on Sunday", SmsKind::Reminder).await;

    dispatcher.drain_once().await.unwrap();
    make_due(&pool).await;
    assert_eq!(dispatcher.drain_once().await.unwrap().rows, 0);

    let refused = row(&pool, refused).await;
    assert_eq!(refused.status, "failed");
    assert_eq!(refused.failure_reason.as_deref(), Some("UserInBlacklist"));
    assert_eq!(refused.attempts, 1);
    assert_eq!(refused.provider_message_id, None);
    assert_eq!(row(&pool, fine).await.status, "sent");
    assert_eq!(fake.sent().len(), 1);

    // Insufficient balance refuses every number, for good.
    fake.fail_next(1, Failure::InsufficientBalance);
    let broke = queue(&pool, &phone(3), "Receipt 3", SmsKind::Receipt).await;
    dispatcher.drain_once().await.unwrap();
    let broke = row(&pool, broke).await;
    assert_eq!(
        (broke.status.as_str(), broke.failure_reason.as_deref()),
        ("failed", Some("InsufficientBalance"))
    );
}

#[tokio::test]
async fn identical_texts_go_out_as_one_bulk_request_and_personal_ones_alone() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at();
    let dispatcher = dispatcher(&db, client).await;
    let mut bulk = Vec::new();
    for n in 0..5 {
        bulk.push(
            queue(
                &pool,
                &phone(n),
                "Meeting on Sunday at 2pm",
                SmsKind::Reminder,
            )
            .await,
        );
    }
    let personal = queue(
        &pool,
        &phone(9),
        "Grace, you paid KES 500",
        SmsKind::Receipt,
    )
    .await;

    let drained = dispatcher.drain_once().await.unwrap();

    assert_eq!((drained.rows, drained.requests), (6, 2));
    let mut keys = HashSet::new();
    for id in &bulk {
        let r = row(&pool, *id).await;
        assert_eq!(r.status, "sent");
        keys.insert(r.batch_key.unwrap());
    }
    assert_eq!(keys.len(), 1, "the bulk rows share one idempotency key");
    let personal_key = row(&pool, personal).await.batch_key.unwrap();
    assert!(!keys.contains(&personal_key));
    assert_eq!(fake.sent().len(), 6);
}

#[tokio::test]
async fn a_big_group_of_one_text_is_split_into_requests_of_at_most_a_thousand() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at();
    let mut settings = sms_settings(&db);
    settings.batch_size = 5_000;
    let dispatcher = Dispatcher::new(pool.clone(), client, settings);
    sqlx::query(
        "insert into sms_outbox (phone, message, dedupe_key, template, kind)
         select '+2547' || lpad((10000000 + n)::text, 8, '0'), 'Meeting on Sunday',
                'bulk:' || n, 'sms-test', 'reminder'
           from generate_series(1, 2500) n",
    )
    .execute(&pool)
    .await
    .unwrap();

    let drained = dispatcher.drain_once().await.unwrap();

    assert_eq!((drained.rows, drained.requests), (2_500, 3));
    let sizes: Vec<i64> = sqlx::query_scalar(
        "select count(*) from sms_outbox where status = 'sent' group by batch_key order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(sizes, [500, 1_000, 1_000], "each part has its own key");
    assert_eq!(fake.sent().len(), 2_500);
}

#[tokio::test]
async fn an_unanswered_receipt_is_repeated_under_its_key_and_an_otp_is_parked() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at();
    let dispatcher = dispatcher(&db, client).await;
    let receipt = queue(&pool, &phone(1), "Receipt 1", SmsKind::Receipt).await;
    fake.fail_next(1, Failure::Timeout);
    dispatcher.drain_once().await.unwrap();

    let unsure = row(&pool, receipt).await;
    let key = unsure.batch_key.clone().expect("the key is kept");
    if unsure.status == "queued" {
        make_due(&pool).await;
        dispatcher.drain_once().await.unwrap();
    }
    let sent = row(&pool, receipt).await;
    assert_eq!(sent.status, "sent");
    assert_eq!(sent.batch_key.as_deref(), Some(key.as_str()));
    let at_fake = fake.sent();
    assert_eq!(
        at_fake.len(),
        1,
        "the repeat under the same key sent nothing"
    );
    assert_eq!(
        sent.provider_message_id.as_ref(),
        Some(&at_fake[0].message_id)
    );

    let otp = queue(&pool, &phone(2), "Your code is 123456", SmsKind::Otp).await;
    fake.fail_next(1, Failure::Timeout);
    dispatcher.drain_once().await.unwrap();
    let parked = row(&pool, otp).await;
    assert_eq!(parked.status, "parked");
    assert_eq!(parked.failure_reason.as_deref(), Some("unanswered"));
    make_due(&pool).await;
    assert_eq!(dispatcher.drain_once().await.unwrap().rows, 0);
}

/// A node that dies inside the send: `forward` decides whether AT got the
/// request first. The send never returns.
struct DiesMidSend {
    fake: Arc<FakeSms>,
    forward: bool,
}

impl SmsClient for DiesMidSend {
    fn send<'a>(
        &'a self,
        to: &'a [Msisdn],
        message: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SmsRecipientResult>, SmsError>> {
        Box::pin(async move {
            if self.forward {
                let _ = self.fake.send(to, message, key).await;
            }
            std::future::pending().await
        })
    }
}

/// Runs a dispatcher that dies mid-send on everything due, and kills it once
/// every row is claimed.
async fn die_mid_send(db: &TestDb, fake: &Arc<FakeSms>, forward: bool, rows: i64) {
    let doomed = dispatcher(
        db,
        Arc::new(DiesMidSend {
            fake: fake.clone(),
            forward,
        }),
    )
    .await;
    let worker = tokio::spawn(async move { doomed.drain_once().await });
    let pool = db.pool().await;
    loop {
        let sending: i64 =
            sqlx::query_scalar("select count(*) from sms_outbox where status = 'sending'")
                .fetch_one(&pool)
                .await
                .unwrap();
        if sending == rows && (!forward || fake.sent().len() as i64 == rows) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    worker.abort();
    let _ = worker.await;
    // The sending timeout passes.
    sqlx::query("update sms_outbox set claimed_at = claimed_at - interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_node_killed_between_claim_and_send_loses_nothing() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at();
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(queue(&pool, &phone(n), "Meeting on Sunday", SmsKind::Reminder).await);
    }
    die_mid_send(&db, &fake, false, 3).await;
    assert!(fake.sent().is_empty());

    let survivor = dispatcher(&db, client).await;
    let reclaimed = survivor.reclaim().await.unwrap();
    assert_eq!((reclaimed.requeued, reclaimed.parked), (3, 0));
    let drained = survivor.drain_once().await.unwrap();

    assert_eq!((drained.rows, drained.requests), (3, 1));
    assert_eq!(fake.sent().len(), 3, "each sent once");
    for id in ids {
        assert_eq!(row(&pool, id).await.status, "sent");
    }
}

#[tokio::test]
async fn a_node_killed_after_at_took_the_request_sends_nothing_twice() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at();
    let receipts = [
        queue(&pool, &phone(1), "Meeting on Sunday", SmsKind::Receipt).await,
        queue(&pool, &phone(2), "Meeting on Sunday", SmsKind::Receipt).await,
    ];
    let otp = queue(&pool, &phone(3), "Your code is 123456", SmsKind::Otp).await;
    die_mid_send(&db, &fake, true, 3).await;
    let key = row(&pool, receipts[0]).await.batch_key;

    let survivor = dispatcher(&db, client).await;
    let reclaimed = survivor.reclaim().await.unwrap();
    assert_eq!((reclaimed.requeued, reclaimed.parked), (2, 1));
    survivor.drain_once().await.unwrap();

    assert_eq!(fake.sent().len(), 3, "the repeat carried the same key");
    for id in receipts {
        let r = row(&pool, id).await;
        assert_eq!(r.status, "sent");
        assert_eq!(r.batch_key, key);
    }
    let parked = row(&pool, otp).await;
    assert_eq!(parked.status, "parked");
    assert_eq!(parked.failure_reason.as_deref(), Some("sending_timeout"));
}

#[tokio::test]
async fn two_dispatchers_on_one_database_never_send_a_row_twice() {
    const ROWS: u32 = 2_000;
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at();
    // Personal texts (one request each) and a bulk text, in one insert.
    sqlx::query(
        "insert into sms_outbox (phone, message, dedupe_key, template, kind)
         select '+2547' || lpad((10000000 + n)::text, 8, '0'),
                case when n % 2 = 0 then 'Receipt ' || n else 'Meeting on Sunday' end,
                'load:' || n, 'sms-test', 'receipt'
           from generate_series(1, $1) n",
    )
    .bind(ROWS as i32)
    .execute(&pool)
    .await
    .unwrap();
    let one = dispatcher(&db, client.clone()).await;
    let two = dispatcher(&db, client).await;

    let (a, b) = tokio::join!(one.drain_once(), two.drain_once());

    assert_eq!(a.unwrap().rows + b.unwrap().rows, ROWS as usize);
    let sent = fake.sent();
    assert_eq!(sent.len(), ROWS as usize);
    let distinct: HashSet<_> = sent
        .iter()
        .map(|s| (s.to.clone(), s.message.clone()))
        .collect();
    assert_eq!(distinct.len(), ROWS as usize, "no row went out twice");
    let unsent: i64 = sqlx::query_scalar("select count(*) from sms_outbox where status <> 'sent'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(unsent, 0);
}

#[tokio::test]
async fn the_running_gateway_sends_its_outbox_and_its_sms_metrics_pass_promtool() {
    let promtool = crate::prerequisites::require("promtool");
    let app = crate::helpers::spawn_app().await;
    let pool = app.state.db.clone();
    queue(&pool, &phone(1), "Receipt 1", SmsKind::Receipt).await;
    queue(&pool, &phone(2), "Meeting on Sunday", SmsKind::Reminder).await;

    // The node's own dispatcher picks them up; wait for it, boundedly.
    for _ in 0..1_000 {
        let sent: i64 = sqlx::query_scalar("select count(*) from sms_outbox where status = 'sent'")
            .fetch_one(&pool)
            .await
            .unwrap();
        if sent == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let text = app.metrics().await;

    for name in [
        "pesachama_sms_messages_total",
        "pesachama_sms_segments_sent_total",
        "pesachama_sms_send_duration_seconds",
        "pesachama_sms_outbox_depth",
        "pesachama_sms_outbox_oldest_pending_seconds",
    ] {
        assert!(text.contains(name), "{name} missing:\n{text}");
    }
    assert!(!text.contains("+2547"), "no phone number in a metric");
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Committed rows to accepted by the fake, per second, for personal texts
/// (one request each) and one bulk text. Not an assertion: run with
/// `cargo test --release --test api measure_dispatch_throughput -- --ignored --nocapture`
/// (a debug build measures the debug build). The fake is [`fake_at`]'s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn measure_dispatch_throughput() {
    const N: i32 = 20_000;
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at();
    let mut settings = sms_settings(&db);
    settings.batch_size = 2_000;
    settings.concurrency = 32;
    let dispatcher = Dispatcher::new(pool.clone(), client, settings);
    for (label, text) in [
        ("personal", "'Receipt ' || n"),
        ("bulk", "'Meeting on Sunday'"),
    ] {
        sqlx::query(&format!(
            "insert into sms_outbox (phone, message, dedupe_key, template, kind)
             select '+2547' || lpad((10000000 + n)::text, 8, '0'), {text},
                    '{label}:' || n, 'sms-test', 'receipt'
               from generate_series(1, $1) n"
        ))
        .bind(N)
        .execute(&pool)
        .await
        .unwrap();
        let started = std::time::Instant::now();
        let drained = dispatcher.drain_once().await.unwrap();
        let secs = started.elapsed().as_secs_f64();
        println!(
            "{label:>8}: {} rows in {} requests, {:.0} rows/s",
            drained.rows,
            drained.requests,
            f64::from(N) / secs
        );
    }
    assert_eq!(fake.sent().len(), 2 * N as usize);
}
