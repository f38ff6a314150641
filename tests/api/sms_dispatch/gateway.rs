//! The dispatcher inside a running gateway, and its pace.

use pesachama::sms::SmsKind;
use pesachama::sms::dispatch::Dispatcher;

use super::{fake_at, phone, queue, sms_settings};
use crate::helpers::TestDb;

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
    let (client, fake) = fake_at().await;
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
