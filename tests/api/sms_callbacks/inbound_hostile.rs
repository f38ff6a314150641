//! The inbound callback under AT's retries and malformed posts: one row and
//! one answer per message id, and nothing stored for a refused form.

use super::{INBOUND, count, post, post_at_once, text};
use crate::helpers::spawn_app;
use crate::seed::{self, GRACE};

#[tokio::test]
async fn at_retrying_one_message_even_ten_at_once_stores_and_answers_it_once() {
    let app = spawn_app().await;
    let db = &app.state.db;
    seed::grace(db, "en").await;
    let form = [
        ("from", GRACE),
        ("to", "21512"),
        ("text", "bal"),
        ("id", "ATin_retry"),
    ];
    assert_eq!(post_at_once(&app, INBOUND, &form, 10).await, [200; 10]);
    text(&app, "ATin_retry", GRACE, "bal").await;
    assert_eq!(count(db, "sms_inbound").await, 1);
    assert_eq!(count(db, "sms_outbox").await, 1);
    assert!(
        app.metrics()
            .await
            .contains(r#"keyword="balance",outcome="duplicate""#)
    );
}

#[tokio::test]
async fn a_malformed_or_oversized_message_is_refused_and_stores_nothing() {
    let app = spawn_app().await;
    let db = &app.state.db;
    seed::grace(db, "en").await;
    let long_text = "a".repeat(1601);
    let long_id = "9".repeat(101);
    let full = |skip: &str, field: &str, value: &'static str| {
        [
            ("from", GRACE),
            ("to", "21512"),
            ("text", "bal"),
            ("id", "ATin_bad"),
        ]
        .into_iter()
        .filter(|(k, _)| *k != skip)
        .map(|(k, v)| if k == field { (k, value) } else { (k, v) })
        .collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (full("from", "", ""), "from"),
        (full("to", "", ""), "to"),
        (full("text", "", ""), "text"),
        (full("id", "", ""), "id"),
        (full("", "from", "not-a-phone"), "from"),
        (full("", "from", "+2547"), "from"),
        (full("", "id", "   "), "id"),
        (
            vec![
                ("from", GRACE),
                ("to", "21512"),
                ("text", &long_text),
                ("id", "x"),
            ],
            "text",
        ),
        (
            vec![
                ("from", GRACE),
                ("to", "21512"),
                ("text", "bal"),
                ("id", &long_id),
            ],
            "id",
        ),
    ];
    for (form, field) in cases {
        let (status, body) = post(&app, INBOUND, &form).await;
        assert_eq!(status, 400, "{form:?}: {body}");
        assert!(body.contains(field), "{form:?}: {body}");
    }
    // A duplicated field is not a form serde can read.
    let (status, _) = post(&app, INBOUND, &[("id", "a"), ("id", "b")]).await;
    assert_eq!(status, 400);
    // Not a form at all.
    let json = app
        .client
        .post(app.url(INBOUND))
        .json(&serde_json::json!({ "from": GRACE, "to": "21512", "text": "bal", "id": "j" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status().as_u16(), 415);
    // Over the router's body limit (64 KiB by default).
    let huge = "b".repeat(70_000);
    let form = [
        ("from", GRACE),
        ("to", "21512"),
        ("text", huge.as_str()),
        ("id", "ATin_huge"),
    ];
    assert_eq!(post(&app, INBOUND, &form).await.0, 413);
    assert_eq!(count(db, "sms_inbound").await, 0);
    assert_eq!(count(db, "sms_outbox").await, 0);
}
