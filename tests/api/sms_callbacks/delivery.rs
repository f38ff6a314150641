//! `POST /sms/africastalking/delivery`: every status onto its row, finals
//! kept, unknown ids stored unmatched, the same report twice changing
//! nothing more.

use sqlx::PgPool;

use super::{DELIVERY, count, post, post_at_once, sent_row};
use crate::helpers::{TestApp, spawn_app};

const PHONE: &str = "+254711000009";

/// `(status, delivery_status, failure_reason, delivered)` of a row.
type RowState = (String, Option<String>, Option<String>, bool);

async fn row(db: &PgPool, message_id: &str) -> RowState {
    sqlx::query_as(
        "select status, delivery_status, failure_reason, delivered_at is not null
           from sms_outbox where provider_message_id = $1",
    )
    .bind(message_id)
    .fetch_one(db)
    .await
    .unwrap()
}

async fn report(app: &TestApp, id: &str, status: &str, reason: Option<&str>) {
    let mut form = vec![
        ("id", id),
        ("status", status),
        ("phoneNumber", PHONE),
        ("networkCode", "63902"),
    ];
    if let Some(reason) = reason {
        form.push(("failureReason", reason));
    }
    assert_eq!(
        post(app, DELIVERY, &form).await,
        (200, "OK".into()),
        "{status}"
    );
}

fn state(status: &str, delivery: Option<&str>, reason: Option<&str>, delivered: bool) -> RowState {
    (
        status.into(),
        delivery.map(Into::into),
        reason.map(Into::into),
        delivered,
    )
}

#[tokio::test]
async fn every_status_lands_on_its_row() {
    let app = spawn_app().await;
    let db = &app.state.db;
    let cases = [
        ("Sent", None, state("sent", Some("Sent"), None, false)),
        (
            "Submitted",
            None,
            state("sent", Some("Submitted"), None, false),
        ),
        (
            "Buffered",
            None,
            state("sent", Some("Buffered"), None, false),
        ),
        (
            "AbsentSubscriber",
            None,
            state("sent", Some("AbsentSubscriber"), None, false),
        ),
        (
            "Success",
            None,
            state("delivered", Some("Success"), None, true),
        ),
        (
            "Failed",
            Some("UserInBlackList"),
            state("failed", Some("Failed"), Some("UserInBlackList"), false),
        ),
        (
            "Rejected",
            Some("DeliveryFailure"),
            state("failed", Some("Rejected"), Some("DeliveryFailure"), false),
        ),
        (
            "Expired",
            None,
            state("failed", Some("Expired"), Some("Expired"), false),
        ),
        // A status AT may add one day: kept as a report, the row untouched.
        ("Teleported", None, state("sent", None, None, false)),
    ];
    for (i, (status, reason, expected)) in cases.iter().enumerate() {
        let id = format!("ATXid_{i}");
        sent_row(db, PHONE, &id).await;
        report(&app, &id, status, *reason).await;
        assert_eq!(row(db, &id).await, *expected, "{status}");
    }
    let matched: i64 =
        sqlx::query_scalar("select count(*) from sms_delivery_reports where matched")
            .fetch_one(db)
            .await
            .unwrap();
    assert_eq!(matched, cases.len() as i64);
    let metrics = app.metrics().await;
    for line in [
        r#"status="Failed",reason="UserInBlackList",outcome="applied""#,
        r#"status="unknown",reason="none",outcome="kept""#,
    ] {
        assert!(metrics.contains(line), "{line} not in {metrics}");
    }
}

#[tokio::test]
async fn a_late_final_is_applied_and_nothing_follows_a_final() {
    let app = spawn_app().await;
    let db = &app.state.db;
    sent_row(db, PHONE, "ATXid_late").await;
    report(&app, "ATXid_late", "Submitted", None).await;
    report(&app, "ATXid_late", "Success", None).await;
    let delivered = state("delivered", Some("Success"), None, true);
    assert_eq!(row(db, "ATXid_late").await, delivered);
    let touched: bool = sqlx::query_scalar(
        "select updated_at > created_at from sms_outbox where provider_message_id = $1",
    )
    .bind("ATXid_late")
    .fetch_one(db)
    .await
    .unwrap();
    assert!(touched, "a report moves updated_at");

    // A late non-final, and a contradicting final: stored, not applied.
    report(&app, "ATXid_late", "Buffered", None).await;
    report(&app, "ATXid_late", "Failed", Some("DeliveryFailure")).await;
    assert_eq!(row(db, "ATXid_late").await, delivered);
    let reports: Vec<String> = sqlx::query_scalar(
        "select status from sms_delivery_reports where provider_message_id = $1 order by id",
    )
    .bind("ATXid_late")
    .fetch_all(db)
    .await
    .unwrap();
    assert_eq!(reports, ["Submitted", "Success", "Buffered", "Failed"]);

    // Absent, then expired: the telco gave up.
    sent_row(db, PHONE, "ATXid_off").await;
    report(&app, "ATXid_off", "AbsentSubscriber", None).await;
    report(&app, "ATXid_off", "Expired", None).await;
    report(&app, "ATXid_off", "Sent", None).await;
    assert_eq!(
        row(db, "ATXid_off").await,
        state("failed", Some("Expired"), Some("Expired"), false)
    );
}

#[tokio::test]
async fn an_unknown_message_id_is_answered_200_and_stored_unmatched() {
    let app = spawn_app().await;
    report(&app, "ATXid_nobody", "Success", None).await;
    let stored: (bool, String) = sqlx::query_as(
        "select matched, status from sms_delivery_reports where provider_message_id = $1",
    )
    .bind("ATXid_nobody")
    .fetch_one(&app.state.db)
    .await
    .unwrap();
    assert_eq!(stored, (false, "Success".into()));
    assert_eq!(count(&app.state.db, "sms_outbox").await, 0);
}

#[tokio::test]
async fn the_same_report_twice_changes_nothing_more() {
    let app = spawn_app().await;
    let db = &app.state.db;
    sent_row(db, PHONE, "ATXid_twice").await;
    report(&app, "ATXid_twice", "Failed", Some("UserIsInactive")).await;
    let snapshot = || async {
        sqlx::query_scalar::<_, String>(
            "select to_jsonb(o)::text from sms_outbox o where provider_message_id = $1",
        )
        .bind("ATXid_twice")
        .fetch_one(db)
        .await
        .unwrap()
    };
    let before = snapshot().await;
    let again = [
        ("id", "ATXid_twice"),
        ("status", "Failed"),
        ("failureReason", "UserIsInactive"),
    ];
    assert_eq!(post_at_once(&app, DELIVERY, &again, 5).await, [200; 5]);
    assert_eq!(snapshot().await, before);
    assert_eq!(count(db, "sms_delivery_reports").await, 1);
    // An unknown id twice is also one report.
    report(&app, "ATXid_ghost", "Sent", None).await;
    report(&app, "ATXid_ghost", "Sent", None).await;
    assert_eq!(count(db, "sms_delivery_reports").await, 2);
}

#[tokio::test]
async fn a_malformed_report_is_400_naming_the_field_and_stores_nothing() {
    let app = spawn_app().await;
    let too_long = "x".repeat(101);
    for (form, field) in [
        (vec![("status", "Success")], "id"),
        (vec![("id", "ATXid_1")], "status"),
        (vec![("id", ""), ("status", "Success")], "id"),
        (vec![("id", too_long.as_str()), ("status", "Success")], "id"),
        (
            vec![
                ("id", "ATXid_1"),
                ("status", "Failed"),
                ("failureReason", &too_long),
            ],
            "failureReason",
        ),
    ] {
        let (status, body) = post(&app, DELIVERY, &form).await;
        assert_eq!(status, 400, "{form:?}");
        assert!(body.contains(field), "{body}");
    }
    assert_eq!(count(&app.state.db, "sms_delivery_reports").await, 0);
}
