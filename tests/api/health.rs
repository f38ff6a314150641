//! The operational surface: probes, metrics, limits, unknown routes, shutdown.

use std::time::Duration;

use crate::helpers::{servers, spawn_app, spawn_app_with};
use crate::proxy::{ChaosProxy, redis_socket};

#[tokio::test]
async fn healthz_answers_ok() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn readyz_is_ready_when_postgres_and_redis_answer() {
    let app = spawn_app().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["postgres"], "ok");
    assert_eq!(body["redis"], "ok");
}

#[tokio::test]
async fn readyz_says_degraded_with_200_while_redis_is_cut_and_ready_after() {
    let proxy = ChaosProxy::start(redis_socket(&servers().redis)).await;
    let url = format!("redis://{}", proxy.addr);
    let app = spawn_app_with(|raw| {
        raw.insert("REDIS_URL".into(), url);
    })
    .await;

    proxy.cut();
    // The node still serves (sessions on PostgreSQL): a load balancer must
    // keep it.
    let mut body = serde_json::Value::Null;
    for _ in 0..50 {
        let response = app.get("/readyz").await;
        assert_eq!(response.status(), 200);
        body = response.json().await.unwrap();
        if body["sessions"] == "postgres" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["redis"], "unreachable");
    assert_eq!(body["postgres"], "ok");
    assert_eq!(body["sessions"], "postgres");

    proxy.restore();
    for _ in 0..50 {
        body = app.get("/readyz").await.json().await.unwrap();
        if body["status"] == "ready" && body["sessions"] == "redis" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        body["status"], "ready",
        "readyz did not recover after Redis came back"
    );
    assert_eq!(body["sessions"], "redis");
}

#[tokio::test]
async fn unknown_routes_get_a_problem_document() {
    let app = spawn_app().await;
    let response = app.get("/no/such/thing").await;
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], 404);
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/healthz"))
        .body(vec![b'a'; 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], 413);
}

#[tokio::test]
async fn metrics_are_served_on_the_admin_address_only() {
    let app = spawn_app().await;
    app.get("/healthz").await;

    let metrics = app
        .client
        .get(format!("http://{}/metrics", app.admin_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("pesachama_http_requests_total"), "{text}");
    assert!(text.contains(r#"route="/healthz""#), "{text}");

    assert_eq!(app.get("/metrics").await.status(), 404);
}

#[tokio::test]
async fn shutdown_stops_serving_and_returns_cleanly() {
    let mut app = spawn_app().await;
    app.shutdown.cancel();
    let stopped = app.stopped.take().unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("stops within the deadline")
        .unwrap();
    assert!(outcome.is_ok());
    assert!(app.client.get(app.url("/healthz")).send().await.is_err());
}

#[tokio::test]
async fn metrics_pass_promtool_check() {
    // Fails early, naming the package, when promtool is missing.
    crate::prerequisites::require("promtool");
    let app = spawn_app().await;
    app.get("/healthz").await;
    app.get("/readyz").await;
    // The SMS callbacks' counters, with their labels.
    let report = [
        ("id", "ATXid_promtool"),
        ("status", "Failed"),
        ("failureReason", "X"),
    ];
    app.ussd_form("/sms/africastalking/delivery", &report).await;
    let sms = [
        ("from", "+254722000002"),
        ("to", "21512"),
        ("text", "bal"),
        ("id", "p1"),
    ];
    app.ussd_form("/sms/africastalking/inbound", &sms).await;
    let text = app.metrics().await;
    crate::prerequisites::assert_promtool_accepts(&text);
}
