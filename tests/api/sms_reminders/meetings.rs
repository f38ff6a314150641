//! Meeting reminders, and the daily job run by a started node.

use chrono::{Days, NaiveDate, NaiveTime, TimeZone, Utc};
use pesachama::sms::reminders::{NAIROBI, RunOutcome, Tally, run_once};
use uuid::Uuid;

use super::{outbox_rows, texts, today, umoja};
use crate::helpers::{TestDb, spawn_app_on};

#[tokio::test]
async fn meetings_of_tomorrow_are_announced_once_to_each_active_member() {
    let test_db = TestDb::new().await;
    let db = test_db.pool().await;
    let (chama, [grace, dan, amina, otieno]) = umoja(&db).await;
    let tomorrow = today() + Days::new(1);
    let at = |date: NaiveDate, hour| {
        NAIROBI
            .from_local_datetime(&date.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap()))
            .unwrap()
            .with_timezone(&Utc)
    };
    let meeting = |when, location: Option<&str>, status: &str| {
        let db = db.clone();
        let (location, status) = (location.map(str::to_owned), status.to_owned());
        async move {
            sqlx::query_scalar::<_, Uuid>(
                "insert into meetings (chama_id, scheduled_at, location, status)
                 values ($1, $2, $3, $4) returning id",
            )
            .bind(chama)
            .bind(when)
            .bind(location)
            .bind(status)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let announced = meeting(at(tomorrow, 14), Some("Kibera Social Hall"), "scheduled").await;
    // Late tomorrow evening, with no place set: still tomorrow in Nairobi.
    let late = meeting(at(tomorrow, 23), None, "scheduled").await;
    meeting(at(tomorrow, 10), Some("Hall"), "cancelled").await;
    meeting(at(tomorrow + Days::new(1), 0), Some("Hall"), "scheduled").await;

    let RunOutcome::Ran(tallies) = run_once(&db, &texts(), 1, today()).await.unwrap() else {
        panic!("the run ran");
    };
    // Four active members per meeting; Otieno opted out.
    assert_eq!(
        tallies.meeting,
        Tally {
            queued: 6,
            paid: 0,
            opted_out: 2,
            duplicate: 0
        }
    );
    let rows: Vec<(Uuid, String, String)> = sqlx::query_as(
        "select user_id, message, dedupe_key from sms_outbox
         where template = 'sms-reminder-meeting' order by dedupe_key",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r.0 != otieno));
    let date = tomorrow.format("%d/%m/%Y");
    let text = |meeting: Uuid, user: Uuid| {
        let key = format!("reminder:meeting:{meeting}:{user}");
        rows.iter()
            .find(|r| r.2 == key)
            .map(|r| r.1.clone())
            .unwrap()
    };
    assert_eq!(
        text(announced, dan),
        format!(
            "PesaChama reminder: Umoja Women Group meets tomorrow {date} at 14:00, venue: Kibera Social Hall. Reply STOP to stop reminders."
        )
    );
    assert_eq!(
        text(late, grace),
        format!(
            "PesaChama: kikao cha Umoja Women Group ni kesho {date} saa 23:00. Jibu ACHA kusitisha ukumbusho."
        )
    );
    assert!(text(announced, amina).contains("mahali: Kibera Social Hall."));
}

#[tokio::test]
async fn a_node_started_after_the_hour_catches_up_on_the_days_run() {
    let test_db = TestDb::new().await;
    let db = test_db.pool().await;
    umoja(&db).await;
    // Midnight: the day's run is always due by the time the node starts.
    let app = spawn_app_on(test_db, |raw| {
        raw.insert("PESACHAMA_REMINDER_TIME".into(), "00:00".into());
    })
    .await;
    let mut done = 0;
    for _ in 0..600 {
        done =
            sqlx::query_scalar::<_, i64>("select count(*) from sms_reminder_runs where queued = 2")
                .fetch_one(&db)
                .await
                .unwrap();
        if done == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(done, 1, "the started node ran the day's reminders");
    assert_eq!(outbox_rows(&db).await.len(), 2);
    drop(app);
}
