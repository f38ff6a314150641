//! `pesachama sms status | retry | send` through the binary, against a real
//! database, including the refusals that must change nothing.

use std::process::{Command, Output};

use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::TestDb;

fn pesachama(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pesachama"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("pesachama runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// One outbox row in `status` with `reason`.
async fn row_in(pool: &PgPool, n: u32, status: &str, reason: Option<&str>) {
    sqlx::query(
        "insert into sms_outbox (phone, message, dedupe_key, template, kind, status, failure_reason, attempts)
         values ($1, 'Habari', $2, 'sms-test', 'receipt', $3, $4, 8)",
    )
    .bind(format!("+2547{:08}", 10_000_000 + n))
    .bind(format!("t:{n}"))
    .bind(status)
    .bind(reason)
    .execute(pool)
    .await
    .unwrap();
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn status_shows_each_state_and_the_dead_and_parked_letters_by_reason() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    row_in(&pool, 1, "queued", None).await;
    row_in(&pool, 2, "dead", Some("transient")).await;
    row_in(&pool, 3, "dead", Some("transient")).await;
    row_in(&pool, 4, "parked", Some("unanswered")).await;

    let out = pesachama(&db.url, &["sms", "status"]);

    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for line in ["queued", "sending", "sent", "delivered", "failed"] {
        assert!(text.contains(line), "{text}");
    }
    assert!(text.contains("oldest pending:"), "{text}");
    let dead = text
        .lines()
        .find(|l| l.contains("dead") && l.contains("transient"));
    assert!(dead.is_some_and(|l| l.trim_end().ends_with('2')), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("parked") && l.contains("unanswered")),
        "{text}"
    );
}

#[tokio::test]
async fn retry_requeues_dead_or_parked_letters_with_a_fresh_budget() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    row_in(&pool, 1, "dead", Some("transient")).await;
    row_in(&pool, 2, "parked", Some("unanswered")).await;
    row_in(&pool, 3, "failed", Some("UserInBlacklist")).await;

    let out = pesachama(&db.url, &["sms", "retry", "--dead"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("requeued 1"), "{}", stdout(&out));
    assert_eq!(
        count(&pool, "select count(*) from sms_outbox where status = 'queued' and attempts = 0 and failure_reason is null and updated_at > created_at").await,
        1
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from sms_outbox where status = 'parked'"
        )
        .await,
        1
    );

    let out = pesachama(&db.url, &["sms", "retry", "--parked"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        count(
            &pool,
            "select count(*) from sms_outbox where status = 'queued'"
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from sms_outbox where status = 'failed'"
        )
        .await,
        1,
        "a refusal is never requeued"
    );
    assert_eq!(
        count(
            &pool,
            "select count(*) from audit_logs where action = 'sms.requeue'"
        )
        .await,
        2
    );

    // Neither or both flags: refused before touching anything.
    for args in [
        &["sms", "retry"][..],
        &["sms", "retry", "--dead", "--parked"],
    ] {
        let out = pesachama(&db.url, args);
        assert!(!out.status.success(), "{args:?}");
    }
}

#[tokio::test]
async fn send_queues_a_test_message_from_a_template_and_prints_its_id() {
    let db = TestDb::new().await;
    let pool = db.pool().await;

    let out = pesachama(
        &db.url,
        &[
            "sms",
            "send",
            "--phone",
            "0712 345 678",
            "--template",
            "sms-pin-lock",
            "--lang",
            "sw",
        ],
    );

    assert!(out.status.success(), "{}", stderr(&out));
    let id: Uuid = stdout(&out).trim().parse().expect("a row id");
    let (phone, template, kind, message, status): (String, String, String, String, String) =
        sqlx::query_as(
            "select phone, template, kind, message, status from sms_outbox where id = $1",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(phone, "+254712345678");
    assert_eq!(
        (template.as_str(), kind.as_str()),
        ("sms-pin-lock", "alert")
    );
    assert!(message.contains("<until>"), "{message}");
    assert_eq!(status, "queued");
}

#[tokio::test]
async fn send_refuses_an_unknown_template_a_bad_phone_or_language_and_queues_nothing() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let cases: [&[&str]; 5] = [
        &[
            "sms",
            "send",
            "--phone",
            "0712345678",
            "--template",
            "sms-no-such",
        ],
        &[
            "sms",
            "send",
            "--phone",
            "0712345678",
            "--template",
            "ussd-welcome",
        ],
        &["sms", "send", "--phone", "12", "--template", "sms-pin-lock"],
        &[
            "sms",
            "send",
            "--phone",
            "0712345678",
            "--template",
            "sms-pin-lock",
            "--lang",
            "fr",
        ],
        &["sms", "send", "--template", "sms-pin-lock"],
    ];
    for args in cases {
        let out = pesachama(&db.url, args);
        assert!(!out.status.success(), "{args:?}");
        assert!(!stderr(&out).is_empty(), "{args:?} says why");
    }
    assert!(
        stderr(&pesachama(&db.url, cases[0])).contains("sms-pin-lock"),
        "the known templates are listed"
    );
    assert_eq!(count(&pool, "select count(*) from sms_outbox").await, 0);
}
