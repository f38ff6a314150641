//! `POST /sms/africastalking/inbound`: keywords in both languages, answers
//! only to the registered phone, opt-out and back, strangers answered once a
//! day, AT's retries answered once, malformed forms refused.

use pesachama::chama::Role;
use pesachama::sms::SmsKind;
use sqlx::PgPool;

use super::text;
use crate::helpers::spawn_app;
use crate::seed::{self, DAN, GRACE};

/// Not a member of anything.
const STRANGER: &str = "+254722000002";
/// Wanjiru, a member of UMOJA who reads Swahili.
const WANJIRU: &str = "+254711000005";

/// A queued reply: `(phone, message, kind, template, dedupe key)`.
type Reply = (String, String, String, String, String);

async fn replies(db: &PgPool) -> Vec<Reply> {
    sqlx::query_as(
        "select phone, message, kind, template, dedupe_key from sms_outbox order by dedupe_key",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

async fn reply_to(db: &PgPool, id: &str) -> Reply {
    sqlx::query_as(
        "select phone, message, kind, template, dedupe_key from sms_outbox where dedupe_key = $1",
    )
    .bind(format!("sms-reply:{id}"))
    .fetch_one(db)
    .await
    .unwrap()
}

async fn opted_out(db: &PgPool, phone: &str) -> bool {
    sqlx::query_scalar("select sms_opt_out_at is not null from users where phone = $1")
        .bind(phone)
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn keywords_in_both_languages_forgive_case_spacing_and_punctuation() {
    let app = spawn_app().await;
    let db = &app.state.db;
    seed::grace(db, "en").await;
    seed::member(db, "UMOJA", WANJIRU, "Wanjiru", Role::Member, None, "sw").await;
    let cases = [
        (
            GRACE,
            "bal",
            "sms-reply-balance",
            "balance",
            "savings KES 0",
        ),
        (
            GRACE,
            " Bal. ",
            "sms-reply-balance",
            "balance",
            "savings KES 0",
        ),
        // A Swahili word answers in Swahili, whatever the member's setting.
        (
            GRACE,
            "SALIO!",
            "sms-reply-balance",
            "balance",
            "akiba KES 0",
        ),
        (
            GRACE,
            "help",
            "sms-reply-help",
            "help",
            "text BAL for your balance",
        ),
        (
            GRACE,
            "habari yako",
            "sms-reply-help",
            "unknown",
            "text BAL",
        ),
        (
            WANJIRU,
            "salio 1",
            "sms-reply-balance",
            "balance",
            "akiba KES 0",
        ),
        (
            WANJIRU,
            "BAL",
            "sms-reply-balance",
            "balance",
            "akiba KES 0",
        ),
        (WANJIRU, "Msaada?", "sms-reply-help", "help", "tuma SALIO"),
        (WANJIRU, "", "sms-reply-help", "unknown", "tuma SALIO"),
    ];
    for (i, (phone, body, template, keyword, says)) in cases.into_iter().enumerate() {
        let id = format!("ATin_{i}");
        text(&app, &id, phone, body).await;
        let (to, message, kind, got_template, _) = reply_to(db, &id).await;
        assert_eq!(
            (to.as_str(), kind.as_str(), got_template.as_str()),
            (phone, "reply", template),
            "{body:?}"
        );
        assert!(message.contains(says), "{body:?}: {message}");
        let stored: String =
            sqlx::query_scalar("select keyword from sms_inbound where provider_id = $1")
                .bind(&id)
                .fetch_one(db)
                .await
                .unwrap();
        assert_eq!(stored, keyword, "{body:?}");
    }
    assert!(
        app.metrics()
            .await
            .contains(r#"keyword="balance",outcome="member""#)
    );
}

#[tokio::test]
async fn a_balance_goes_to_the_registered_phone_with_only_the_members_figures() {
    let app = spawn_app().await;
    let db = &app.state.db;
    let (umoja, grace) = seed::grace(db, "en").await;
    let (_, dan) = seed::dan(db).await;
    let amani = seed::chama(db, "AMANI", "Amani Group").await;
    seed::member(
        db,
        "AMANI",
        GRACE,
        "Grace Wanjiku",
        Role::Member,
        None,
        "en",
    )
    .await;
    seed::contribution(db, umoja, grace, "g1", 1_250, 200).await;
    seed::contribution(db, amani, grace, "g2", 4_000, 100).await;
    seed::contribution(db, umoja, dan, "d1", 7_777, 333).await;

    text(&app, "ATin_bal", GRACE, "BAL").await;
    let rows = replies(db).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    for (phone, message, ..) in &rows {
        assert_eq!(phone, GRACE);
        assert!(
            !message.contains("7,777") && !message.contains("333"),
            "{message}"
        );
        assert!(!message.contains("711000004"), "{message}");
    }
    // One message per chama, in the order USSD lists them (by name).
    let (amani_row, umoja_row) = (&rows[0], &rows[1]);
    assert_eq!(amani_row.4, "sms-reply:ATin_bal");
    assert!(
        amani_row
            .1
            .contains("Amani Group: savings KES 4,000, shares KES 100")
    );
    assert_eq!(umoja_row.4, "sms-reply:ATin_bal:2");
    assert!(
        umoja_row
            .1
            .contains("Umoja Women Group: savings KES 1,250, shares KES 200")
    );
    // A member who thinks a PIN is needed: answered, the PIN not kept.
    text(&app, "ATin_pin", GRACE, "BAL 1234").await;
    let stored: String = sqlx::query_scalar("select text from sms_inbound where provider_id = $1")
        .bind("ATin_pin")
        .fetch_one(db)
        .await
        .unwrap();
    assert_eq!(stored, "BAL ****");
    // Dan asking sees his own, sent to him.
    text(&app, "ATin_dan", DAN, "bal").await;
    let (phone, message, ..) = reply_to(db, "ATin_dan").await;
    assert_eq!(phone, DAN);
    assert!(
        message.contains("savings KES 7,777, shares KES 333"),
        "{message}"
    );
}

#[tokio::test]
async fn stop_silences_reminders_not_receipts_and_start_brings_them_back() {
    let app = spawn_app().await;
    let db = &app.state.db;
    seed::grace(db, "en").await;
    text(&app, "ATin_stop", GRACE, "STOP").await;
    assert!(opted_out(db, GRACE).await);
    let (_, message, kind, template, _) = reply_to(db, "ATin_stop").await;
    assert_eq!(
        (kind.as_str(), template.as_str()),
        ("reply", "sms-reply-stop")
    );
    assert!(message.contains("no more reminders"), "{message}");
    assert!(
        message.contains("Receipts and security alerts will still come"),
        "{message}"
    );
    // What the dispatcher and the reminder job read from the kind.
    assert!(SmsKind::Reminder.respects_opt_out());
    assert!(!SmsKind::Receipt.respects_opt_out() && !SmsKind::Alert.respects_opt_out());

    let first: String =
        sqlx::query_scalar("select sms_opt_out_at::text from users where phone = $1")
            .bind(GRACE)
            .fetch_one(db)
            .await
            .unwrap();
    text(&app, "ATin_stop2", GRACE, "acha.").await;
    let second: String =
        sqlx::query_scalar("select sms_opt_out_at::text from users where phone = $1")
            .bind(GRACE)
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!(first, second, "a second STOP keeps the first date");
    assert!(
        reply_to(db, "ATin_stop2")
            .await
            .1
            .contains("Risiti na arifa za usalama")
    );

    text(&app, "ATin_start", GRACE, " Start ").await;
    assert!(!opted_out(db, GRACE).await);
    assert!(
        reply_to(db, "ATin_start")
            .await
            .1
            .contains("reminders are on again")
    );
    let audits: Vec<String> =
        sqlx::query_scalar("select action from audit_logs where action like 'sms.%' order by id")
            .fetch_all(db)
            .await
            .unwrap();
    assert_eq!(audits, ["sms.opt_out", "sms.opt_in"]);
    let metrics = app.metrics().await;
    assert!(metrics.contains(r#"pesachama_sms_opt_changes_total{change="out"}"#));
    assert!(metrics.contains(r#"pesachama_sms_opt_changes_total{change="in"}"#));
}

#[tokio::test]
async fn a_stranger_is_answered_once_a_day_and_every_message_is_kept() {
    let app = spawn_app().await;
    let db = &app.state.db;
    seed::grace(db, "en").await;
    for (id, body) in [
        ("ATin_s1", "BAL"),
        ("ATin_s2", "hello?"),
        ("ATin_s3", "STOP"),
    ] {
        text(&app, id, STRANGER, body).await;
    }
    let rows = replies(db).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (phone, message, kind, template, key) = &rows[0];
    assert_eq!((phone.as_str(), kind.as_str()), (STRANGER, "reply"));
    assert_eq!(template, "sms-reply-nonmember");
    assert!(
        key.starts_with(&format!("sms-nonmember:{STRANGER}:20")),
        "{key}"
    );
    assert!(message.contains("not registered"), "{message}");
    let kept: i64 =
        sqlx::query_scalar("select count(*) from sms_inbound where phone = $1 and user_id is null")
            .bind(STRANGER)
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!(kept, 3);
}
