//! The fake through real HTTP: the real `AtSmsClient` (or raw requests, for
//! what our client never sends) against a fake on 127.0.0.1.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::sms::{SmsClient, SmsError};

pub(super) const KEY: &str = "test-key-1";

pub(super) async fn start_fake() -> Arc<FakeSms> {
    FakeSms::start(FakeAtConfig {
        api_key: KEY.into(),
        report_delay: Duration::ZERO,
        hold: Duration::from_secs(3),
        quiet: true,
        ..FakeAtConfig::default()
    })
    .await
    .unwrap()
}

pub(super) fn msisdn(s: &str) -> Msisdn {
    Msisdn::parse(s).unwrap()
}

/// A raw send, for what the real client refuses to send.
pub(super) async fn post_raw(
    fake: &FakeSms,
    key_header: Option<(&str, &str)>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(format!("{}/version1/messaging", fake.url()))
        .form(form);
    if let Some((name, value)) = key_header {
        request = request.header(name, value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn an_accepted_send_answers_in_at_shape_and_is_recorded() {
    let fake = start_fake().await;
    let response = post_raw(
        &fake,
        Some(("apikey", KEY)),
        &[
            ("username", "sandbox"),
            ("to", "+254712345678,+254110123456"),
            ("message", "Mchango umepokelewa"),
            ("bulkSMSMode", "1"),
        ],
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: Value = response.json().await.unwrap();
    let data = &body["SMSMessageData"];
    assert_eq!(data["Message"], "Sent to 2/2 Total Cost: KES 1.6000");
    let recipients = data["Recipients"].as_array().unwrap();
    assert_eq!(recipients.len(), 2);
    for (recipient, number) in recipients.iter().zip(["+254712345678", "+254110123456"]) {
        assert_eq!(recipient["statusCode"], 101);
        assert_eq!(recipient["status"], "Success");
        assert_eq!(recipient["number"], number);
        assert_eq!(recipient["cost"], "KES 0.8000");
        assert!(
            recipient["messageId"]
                .as_str()
                .unwrap()
                .starts_with("ATXid_")
        );
    }
    assert_ne!(recipients[0]["messageId"], recipients[1]["messageId"]);

    // The real client reads the same answer.
    let client = fake.client().unwrap();
    let to = [msisdn("0712345678")];
    let results = client.send(&to, "Habari", "k-2").await.unwrap();
    assert_eq!(results.len(), 1);
    assert!(results[0].is_accepted());
    assert_eq!(results[0].number, to[0]);

    let sent = fake.sent();
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[1].to, msisdn("0110123456"));
    assert_eq!(sent[1].message, "Mchango umepokelewa");
    assert_eq!(sent[2].message, "Habari");
    assert_eq!(Some(&sent[2].message_id), results[0].message_id.as_ref());
}

#[tokio::test]
async fn a_wrong_key_or_username_is_refused_401_in_plain_text() {
    let fake = start_fake().await;
    let form = [
        ("username", "sandbox"),
        ("to", "+254712345678"),
        ("message", "Habari"),
    ];
    for header in [None, Some(("apiKey", "wrong")), Some(("apiKey", ""))] {
        let response = post_raw(&fake, header, &form).await;
        assert_eq!(response.status(), 401, "{header:?}");
        assert_eq!(
            response.text().await.unwrap(),
            "The supplied authentication is invalid"
        );
    }
    let wrong_user = [
        ("username", "other"),
        ("to", "+254712345678"),
        ("message", "Habari"),
    ];
    assert_eq!(
        post_raw(&fake, Some(("APIKEY", KEY)), &wrong_user)
            .await
            .status(),
        401
    );
    assert!(fake.sent().is_empty());
    assert_eq!(fake.stats().requests, 4);
}

#[tokio::test]
async fn missing_or_malformed_fields_are_400_and_send_nothing() {
    let fake = start_fake().await;
    let header = Some(("apiKey", KEY));
    let cases: [&[(&str, &str)]; 4] = [
        &[("username", "sandbox"), ("to", "+254712345678")],
        &[
            ("username", "sandbox"),
            ("to", "+254712345678"),
            ("message", " "),
        ],
        &[("username", "sandbox"), ("message", "Habari")],
        &[("username", "sandbox"), ("to", ","), ("message", "Habari")],
    ];
    for form in cases {
        let response = post_raw(&fake, header, form).await;
        assert_eq!(response.status(), 400, "{form:?}");
    }
    // Not a form at all, and a duplicated field.
    let response = reqwest::Client::new()
        .post(format!("{}/version1/messaging", fake.url()))
        .header("apiKey", KEY)
        .json(&json!({"username": "sandbox", "to": "+254712345678", "message": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let duplicated = [
        ("username", "sandbox"),
        ("to", "+254712345678"),
        ("message", "a"),
        ("message", "b"),
    ];
    assert_eq!(post_raw(&fake, header, &duplicated).await.status(), 400);
    assert!(fake.sent().is_empty());
}

#[tokio::test]
async fn a_bad_number_is_refused_for_itself_only() {
    let fake = start_fake().await;
    let response = post_raw(
        &fake,
        Some(("apiKey", KEY)),
        &[
            ("username", "sandbox"),
            ("to", "+254712345678, 0712345678,+25471"),
            ("message", "Habari"),
        ],
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    let recipients = body["SMSMessageData"]["Recipients"].as_array().unwrap();
    let codes: Vec<_> = recipients.iter().map(|r| r["statusCode"].clone()).collect();
    assert_eq!(codes, [json!(101), json!(403), json!(403)]);
    for refused in &recipients[1..] {
        assert_eq!(refused["status"], "InvalidPhoneNumber");
        assert_eq!(refused["messageId"], "None");
    }
    assert_eq!(recipients[1]["number"], "0712345678");
    assert_eq!(fake.sent().len(), 1);
}

#[tokio::test]
async fn the_listing_stats_and_fail_routes_serve_other_processes() {
    let fake = start_fake().await;
    let client = fake.client().unwrap();
    let http = reqwest::Client::new();
    client
        .send(&[msisdn("0712345678")], "Kwanza", "1")
        .await
        .unwrap();
    client
        .send(&[msisdn("0722000111")], "Pili", "2")
        .await
        .unwrap();

    let listing: Value = http
        .get(format!("{}/fake/sms", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listing["total"], 2);
    let messages = listing["messages"].as_array().unwrap();
    assert_eq!(messages[1]["to"], "+254722000111");
    assert_eq!(messages[1]["message"], "Pili");
    assert!(
        messages[1]["message_id"]
            .as_str()
            .unwrap()
            .starts_with("ATXid_")
    );
    let latest: Value = http
        .get(format!("{}/fake/sms?limit=1", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(latest["messages"].as_array().unwrap().len(), 1);
    assert_eq!(latest["messages"][0]["message"], "Pili");

    let planned = http
        .post(format!("{}/fake/fail", fake.url()))
        .json(&json!({"failure": "throttled", "times": 2}))
        .send()
        .await
        .unwrap();
    assert_eq!(planned.status(), 204);
    for key in ["3", "4"] {
        let error = client
            .send(&[msisdn("0712345678")], "Tatu", key)
            .await
            .unwrap_err();
        assert_eq!(error, SmsError::Throttled);
    }
    let nonsense = http
        .post(format!("{}/fake/fail", fake.url()))
        .json(&json!({"failure": "meteor", "times": 1}))
        .send()
        .await
        .unwrap();
    assert!(nonsense.status().is_client_error());

    let stats: Stats = http
        .get(format!("{}/fake/stats", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats,
        Stats {
            requests: 4,
            accepted: 2,
            distinct: 2,
            duplicates: 0,
            replays: 0
        }
    );
}

#[tokio::test]
async fn an_oversized_body_or_key_is_refused_and_sends_nothing() {
    let fake = start_fake().await;
    let huge = "x".repeat(3 * 1024 * 1024);
    let form = [
        ("username", "sandbox"),
        ("to", "+254712345678"),
        ("message", huge.as_str()),
    ];
    let response = post_raw(&fake, Some(("apiKey", KEY)), &form).await;
    assert_eq!(response.status(), 413);

    let long_key = "k".repeat(500);
    let response = reqwest::Client::new()
        .post(format!("{}/version1/messaging", fake.url()))
        .header("apiKey", KEY)
        .header("Idempotency-Key", long_key)
        .form(&[
            ("username", "sandbox"),
            ("to", "+254712345678"),
            ("message", "Habari"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(fake.sent().is_empty());
}
