//! The dispatcher inside a running gateway. Its throughput is measured by
//! `loadtest/sms/dispatch.sh`, not here.

use pesachama::sms::SmsKind;

use super::{phone, queue};

#[tokio::test]
async fn the_running_gateway_sends_its_outbox_and_its_sms_metrics_pass_promtool() {
    // Fails early, naming the package, when promtool is missing.
    crate::prerequisites::require("promtool");
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
    crate::prerequisites::assert_promtool_accepts(&text);
}
