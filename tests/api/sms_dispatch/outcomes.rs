//! What each answer of Africa's Talking does to the rows it is about.

use std::collections::HashSet;

use pesachama::chama::{self, Actor, ChamaCode};
use pesachama::sms::dispatch::Dispatcher;
use pesachama::sms::outbox::{self, QueuedSms};
use pesachama::sms::{Failure, SmsKind};

use super::{dispatcher, fake_at, make_due, phone, queue, row, sms_settings};
use crate::helpers::TestDb;

#[tokio::test]
async fn a_message_and_the_change_it_reports_commit_or_roll_back_together() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at().await;
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
    let (client, fake) = fake_at().await;
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
    assert!(sent.touched);
    assert_eq!(fake.sent().len(), 1);
}

#[tokio::test]
async fn retries_run_out_into_a_dead_letter_with_its_reason() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at().await;
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
    let (client, fake) = fake_at().await;
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
    let (client, fake) = fake_at().await;
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
    let (client, fake) = fake_at().await;
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
    let (client, fake) = fake_at().await;
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

#[tokio::test]
async fn refused_credentials_are_configuration_retried_later_not_a_failed_message() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (client, fake) = fake_at().await;
    let dispatcher = dispatcher(&db, client).await;
    let id = queue(&pool, &phone(1), "Your PIN was changed", SmsKind::Alert).await;
    fake.fail_next(1, Failure::Unauthorized);

    dispatcher.drain_once().await.unwrap();
    let after = row(&pool, id).await;
    if after.status == "queued" {
        assert_eq!(after.failure_reason, None, "not a verdict on the message");
        assert_eq!(
            after.batch_key, None,
            "nothing went out: a new key next time"
        );
        make_due(&pool).await;
        dispatcher.drain_once().await.unwrap();
    }

    assert_eq!(row(&pool, id).await.status, "sent");
    assert_eq!(fake.sent().len(), 1);
}
