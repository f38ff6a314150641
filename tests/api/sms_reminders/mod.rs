//! The daily reminder job against real PostgreSQL: who is reminded, once,
//! in which language, and what a STOP silences (reminders) and does not
//! (receipts, alerts). Meetings and the job under a running node: [`meetings`].

mod meetings;

use std::path::Path;

use chrono::{Days, NaiveDate, Utc};
use pesachama::chama::Role;
use pesachama::i18n::{Lang, Vars};
use pesachama::phone::Msisdn;
use pesachama::sms::outbox::{self, Queued, QueuedSms};
use pesachama::sms::reminders::{NAIROBI, RunOutcome, Tallies, Tally, run_once};
use pesachama::sms::templates::Templates;
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::TestDb;
use crate::seed;

const AMINA: &str = "+254711000101";
const OTIENO: &str = "+254711000102";
const WANJA: &str = "+254711000103";

pub(super) fn texts() -> Templates {
    Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("locales")).unwrap()
}

/// Today in Nairobi: payments seeded now fall in the period it reminds of.
pub(super) fn today() -> NaiveDate {
    Utc::now().with_timezone(&NAIROBI).date_naive()
}

/// UMOJA collects KES 1,000 weekly, due tomorrow. Grace (sw) paid it all,
/// Amina (sw) KES 300, Dan (en) nothing; Otieno (en) texted STOP; Wanja
/// left the chama. Returns the chama and `[grace, dan, amina, otieno]`.
pub(super) async fn umoja(db: &PgPool) -> (Uuid, [Uuid; 4]) {
    let (chama, grace) = seed::grace(db, "sw").await;
    let (_, dan) = seed::dan(db).await;
    let amina = seed::member(db, "UMOJA", AMINA, "Amina", Role::Member, None, "sw").await;
    let otieno = seed::member(db, "UMOJA", OTIENO, "Otieno", Role::Member, None, "en").await;
    let wanja = seed::member(db, "UMOJA", WANJA, "Wanja", Role::Member, None, "en").await;
    let tomorrow = today() + Days::new(1);
    sqlx::query(
        "update chamas set contribution_amount = 1000, contribution_schedule = 'weekly',
                settings = jsonb_build_object('due_anchor', $2::text)
         where id = $1",
    )
    .bind(chama)
    .bind(tomorrow.format("%Y-%m-%d").to_string())
    .execute(db)
    .await
    .unwrap();
    sqlx::query("update users set sms_opt_out_at = now() where id = $1")
        .bind(otieno)
        .execute(db)
        .await
        .unwrap();
    sqlx::query("update chama_members set status = 'exited' where user_id = $1")
        .bind(wanja)
        .execute(db)
        .await
        .unwrap();
    seed::contribution(db, chama, grace, "c-grace", 600, 400).await;
    seed::contribution(db, chama, amina, "c-amina", 200, 100).await;
    (chama, [grace, dan, amina, otieno])
}

/// `(user, template, kind, message, dedupe key)` of every outbox row.
pub(super) async fn outbox_rows(db: &PgPool) -> Vec<(Uuid, String, String, String, String)> {
    sqlx::query_as(
        "select user_id, template, kind, message, dedupe_key from sms_outbox order by message",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

fn row_of(rows: &[(Uuid, String, String, String, String)], user: Uuid) -> Option<&str> {
    rows.iter().find(|r| r.0 == user).map(|r| r.3.as_str())
}

#[tokio::test]
async fn unpaid_members_are_reminded_once_in_their_language_and_payers_and_opt_outs_are_not() {
    let test_db = TestDb::new().await;
    let db = test_db.pool().await;
    let (chama, [grace, dan, amina, otieno]) = umoja(&db).await;

    let outcome = run_once(&db, &texts(), 1, today()).await.unwrap();
    let expected = Tally {
        queued: 2,
        paid: 1,
        opted_out: 1,
        duplicate: 0,
    };
    assert_eq!(
        outcome,
        RunOutcome::Ran(Tallies {
            contribution: expected,
            meeting: Tally::default()
        })
    );
    let rows = outbox_rows(&db).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(row_of(&rows, grace).is_none() && row_of(&rows, otieno).is_none());
    let due = (today() + Days::new(1)).format("%d/%m/%Y").to_string();
    let dan_text = row_of(&rows, dan).unwrap();
    assert!(
        dan_text.starts_with(
            "PesaChama reminder: your Umoja Women Group contribution of KES 1,000 is due on "
        ),
        "{dan_text}"
    );
    assert!(dan_text.contains(&due), "{dan_text}");
    let amina_text = row_of(&rows, amina).unwrap();
    assert!(
        amina_text.starts_with(
            "Ukumbusho wa PesaChama: mchango wako wa Umoja Women Group wa KES 700 unadaiwa"
        ),
        "{amina_text}"
    );
    for row in &rows {
        assert_eq!(
            (row.1.as_str(), row.2.as_str()),
            ("sms-reminder-contribution", "reminder")
        );
        let key = format!(
            "reminder:contribution:{chama}:{}:{}",
            row.0,
            today() + Days::new(1)
        );
        assert_eq!(row.4, key);
    }
}

#[tokio::test]
async fn nothing_is_due_beyond_the_days_before() {
    let test_db = TestDb::new().await;
    let db = test_db.pool().await;
    umoja(&db).await;
    // Two days before the due date, with reminders one day before: nothing.
    let two_before = today() - Days::new(1);
    let outcome = run_once(&db, &texts(), 1, two_before).await.unwrap();
    assert_eq!(outcome, RunOutcome::Ran(Tallies::default()));
    assert!(outbox_rows(&db).await.is_empty());
}

#[tokio::test]
async fn the_job_run_twice_queues_once() {
    let test_db = TestDb::new().await;
    let db = test_db.pool().await;
    umoja(&db).await;
    let texts = texts();
    assert!(matches!(
        run_once(&db, &texts, 1, today()).await.unwrap(),
        RunOutcome::Ran(_)
    ));
    assert_eq!(
        run_once(&db, &texts, 1, today()).await.unwrap(),
        RunOutcome::AlreadyDone
    );
    assert_eq!(outbox_rows(&db).await.len(), 2);

    // Even with the day's record gone (only the owner may delete it), the
    // dedupe keys queue nothing twice.
    let owner = test_db.owner_pool().await;
    sqlx::query("delete from sms_reminder_runs")
        .execute(&owner)
        .await
        .unwrap();
    let RunOutcome::Ran(again) = run_once(&db, &texts, 1, today()).await.unwrap() else {
        panic!("the run was not done any more");
    };
    assert_eq!(
        (again.contribution.queued, again.contribution.duplicate),
        (0, 2)
    );
    assert_eq!(outbox_rows(&db).await.len(), 2);
}

#[tokio::test]
async fn jobs_on_several_nodes_at_once_queue_once() {
    let test_db = TestDb::new().await;
    let db = test_db.pool().await;
    umoja(&db).await;
    let texts = std::sync::Arc::new(texts());
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let (db, texts) = (db.clone(), texts.clone());
            tokio::spawn(async move { run_once(&db, &texts, 1, today()).await.unwrap() })
        })
        .collect();
    let mut ran = 0;
    for run in runs {
        match run.await.unwrap() {
            RunOutcome::Ran(tallies) => {
                ran += 1;
                assert_eq!(tallies.contribution.queued, 2);
            }
            RunOutcome::AlreadyDone | RunOutcome::Busy => {}
        }
    }
    assert_eq!(ran, 1);
    assert_eq!(outbox_rows(&db).await.len(), 2);
    let runs: i64 = sqlx::query_scalar("select count(*) from sms_reminder_runs")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(runs, 1);
}

#[tokio::test]
async fn an_opted_out_member_still_gets_receipts_and_security_alerts() {
    let test_db = TestDb::new().await;
    let db = test_db.pool().await;
    let (chama, [_, _, _, otieno]) = umoja(&db).await;
    let texts = texts();
    run_once(&db, &texts, 1, today()).await.unwrap();
    assert!(row_of(&outbox_rows(&db).await, otieno).is_none());

    let phone = Msisdn::parse(OTIENO).unwrap();
    let receipt_vars: Vars = [
        ("chama", "Umoja Women Group"),
        ("amount", "KES 1,000"),
        ("receipt", "SGL7ABC123"),
        ("balance", "KES 5,000"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    for (template, vars, key) in [
        ("sms-receipt", receipt_vars, "receipt:SGL7ABC123"),
        ("sms-pin-change", Vars::new(), "pin.change:otieno"),
    ] {
        let rendered = texts.render(Lang::En, template, &vars).unwrap();
        assert!(!rendered.kind.respects_opt_out(), "{template}");
        let mut conn = db.acquire().await.unwrap();
        let queued = outbox::queue(
            &mut conn,
            QueuedSms {
                chama_id: Some(chama),
                user_id: Some(otieno),
                phone: &phone,
                message: &rendered.text,
                template,
                kind: rendered.kind,
                dedupe_key: key,
            },
        )
        .await
        .unwrap();
        assert_eq!(queued, Queued::New);
    }
    let kinds: Vec<(String, String)> = sqlx::query_as(
        "select template, kind from sms_outbox where user_id = $1 order by template",
    )
    .bind(otieno)
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(
        kinds,
        [
            ("sms-pin-change".to_owned(), "alert".to_owned()),
            ("sms-receipt".to_owned(), "receipt".to_owned())
        ]
    );
}

#[tokio::test]
async fn the_outbox_itself_refuses_a_reminder_to_an_opted_out_member() {
    let test_db = TestDb::new().await;
    let db = test_db.pool().await;
    let (chama, dan) = seed::dan(&db).await;
    sqlx::query("update users set sms_opt_out_at = now() where id = $1")
        .bind(dan)
        .execute(&db)
        .await
        .unwrap();
    let phone = Msisdn::parse(seed::DAN).unwrap();
    let vars: Vars = [
        ("chama", "Umoja Women Group"),
        ("amount", "KES 2,000"),
        ("date", "05/12/2026"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let texts = texts();
    let mut queued = Vec::new();
    // Whoever queues them (the money issue's loan reminders, a script): a
    // reminder is refused, a receipt of the same member is not.
    for (template, key) in [
        ("sms-loan-due", "loan-due:dan"),
        ("sms-reminder-contribution", "reminder:dan"),
    ] {
        let rendered = texts.render(Lang::En, template, &vars).unwrap();
        let mut conn = db.acquire().await.unwrap();
        let outcome = outbox::queue(
            &mut conn,
            QueuedSms {
                chama_id: Some(chama),
                user_id: Some(dan),
                phone: &phone,
                message: &rendered.text,
                template,
                kind: rendered.kind,
                dedupe_key: key,
            },
        )
        .await
        .unwrap();
        queued.push(outcome);
    }
    assert_eq!(queued, [Queued::OptedOut, Queued::OptedOut]);
    let rows: i64 = sqlx::query_scalar("select count(*) from sms_outbox where user_id = $1")
        .bind(dan)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(
        rows, 0,
        "nothing written for an opted-out member's reminders"
    );
}

#[tokio::test]
async fn reminders_are_counted_by_reminder_and_reason() {
    let handle = pesachama::telemetry::metrics_handle();
    let test_db = TestDb::new().await;
    let db = test_db.pool().await;
    umoja(&db).await;
    run_once(&db, &texts(), 1, today()).await.unwrap();
    let exposition = handle.render();
    for line in [
        r#"pesachama_sms_reminders_queued_total{reminder="contribution"}"#,
        r#"pesachama_sms_reminders_skipped_total{reminder="contribution",reason="paid"}"#,
        r#"pesachama_sms_reminders_skipped_total{reminder="contribution",reason="opted_out"}"#,
        r#"pesachama_sms_reminders_skipped_total{reminder="meeting",reason="duplicate"}"#,
    ] {
        assert!(exposition.contains(line), "{line} in\n{exposition}");
    }
}
