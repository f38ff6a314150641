//! Who may post the SMS callbacks: the token when one is configured, the
//! allow-list, and the per-source rate limit. A refusal stores nothing.

use super::{DELIVERY, INBOUND, count, post};
use crate::helpers::spawn_app_with;

const TOKEN: &str = "at-sms-token-7f3a1c9e5b2d";

fn report() -> [(&'static str, &'static str); 2] {
    [("id", "ATXid_guard"), ("status", "Sent")]
}

fn message() -> [(&'static str, &'static str); 4] {
    [
        ("from", "+254722000002"),
        ("to", "21512"),
        ("text", "hi"),
        ("id", "ATin_guard"),
    ]
}

#[tokio::test]
async fn a_configured_token_is_required_on_both_callbacks() {
    let app = spawn_app_with(|raw| {
        raw.insert("PESACHAMA_SMS_CALLBACK_TOKEN".into(), TOKEN.into());
    })
    .await;
    for query in [
        "",
        "?token=",
        "?token=at-sms-token-7f3a1c9e5b2X",
        "?tok=at-sms-token-7f3a1c9e5b2d",
    ] {
        assert_eq!(
            post(&app, &format!("{DELIVERY}{query}"), &report()).await.0,
            403
        );
        assert_eq!(
            post(&app, &format!("{INBOUND}{query}"), &message()).await.0,
            403
        );
    }
    let db = &app.state.db;
    assert_eq!(count(db, "sms_delivery_reports").await, 0);
    assert_eq!(count(db, "sms_inbound").await, 0);
    let with_token = format!("?token={TOKEN}");
    assert_eq!(
        post(&app, &format!("{DELIVERY}{with_token}"), &report())
            .await
            .0,
        200
    );
    assert_eq!(
        post(&app, &format!("{INBOUND}{with_token}"), &message())
            .await
            .0,
        200
    );
    assert_eq!(count(db, "sms_inbound").await, 1);
    assert!(
        app.metrics()
            .await
            .contains(r#"pesachama_sms_callback_refused_total{reason="token"}"#)
    );
}

#[tokio::test]
async fn a_source_outside_the_allow_list_is_refused() {
    let app = spawn_app_with(|raw| {
        raw.insert(
            "PESACHAMA_SMS_ALLOWED_SOURCES".into(),
            "10.0.0.0/8, 2001:db8::/32".into(),
        );
    })
    .await;
    assert_eq!(post(&app, DELIVERY, &report()).await.0, 403);
    assert_eq!(post(&app, INBOUND, &message()).await.0, 403);
    assert_eq!(count(&app.state.db, "sms_inbound").await, 0);

    let app = spawn_app_with(|raw| {
        raw.insert("PESACHAMA_SMS_ALLOWED_SOURCES".into(), "127.0.0.0/8".into());
    })
    .await;
    assert_eq!(post(&app, DELIVERY, &report()).await.0, 200);
    assert!(
        app.metrics()
            .await
            .contains(r#"pesachama_sms_callback_refused_total{reason="source"}"#)
    );
}

#[tokio::test]
async fn a_source_over_its_rate_is_answered_429() {
    let app = spawn_app_with(|raw| {
        raw.insert("PESACHAMA_SMS_CALLBACK_RATE_PER_SOURCE".into(), "1".into());
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(post(&app, DELIVERY, &report()).await.0);
    }
    assert_eq!(statuses[0], 200);
    assert!(statuses.contains(&429), "{statuses:?}");
}
