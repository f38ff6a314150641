//! The app on the fake Africa's Talking: every SMS crosses HTTP to a fake
//! the test can read, and a PIN set over USSD leaves its alert in the outbox.

use std::process::Stdio;
use std::time::Duration;

use pesachama::config::AtSettings;
use pesachama::phone::Msisdn;
use pesachama::sms::{AtSmsClient, SmsClient};
use secrecy::SecretString;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;

use crate::helpers::{spawn_app, spawn_app_with};
use crate::seed::{self, DAN};

/// Template, status, AT's message id, delivery status, text.
type OutboxRow = (String, String, Option<String>, Option<String>, String);

#[tokio::test]
async fn a_pin_set_over_ussd_reaches_the_fake_through_the_outbox_and_comes_back_delivered() {
    let app = spawn_app().await;
    let fake = app.fake_sms();
    fake.report_to(app.sms_delivery_url());
    let (_, dan) = seed::dan(&app.state.db).await;
    app.phone(DAN)
        .walk(&[
            (None, &["Select language"]),
            (Some("1"), &["Set a 4-digit PIN"]),
            (Some("4971"), &["Enter the same PIN again"]),
            (Some("4971"), &["1 Balance"]),
        ])
        .await;

    // The hop queued the alert; the gateway's dispatcher sends it over HTTP
    // and the fake's delivery report comes back to the gateway's callback.
    let mut row = None;
    for _ in 0..200 {
        let found: Option<OutboxRow> = sqlx::query_as(
            "select template, status, provider_message_id, delivery_status, message
                   from sms_outbox where user_id = $1",
        )
        .bind(dan)
        .fetch_optional(&app.state.db)
        .await
        .unwrap();
        if found.as_ref().is_some_and(|r| r.1 == "delivered") {
            row = found;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (template, _, message_id, delivery_status, message) =
        row.expect("the alert was sent and reported delivered");
    assert_eq!(template, "sms-pin-set");
    assert_eq!(delivery_status.as_deref(), Some("Success"));
    let sent = fake.sent();
    assert_eq!(sent.len(), 1, "sent once");
    assert_eq!(
        (sent[0].to.as_e164(), sent[0].message.as_str()),
        (DAN, message.as_str())
    );
    assert_eq!(message_id.as_deref(), Some(sent[0].message_id.as_str()));

    // And a newcomer sees it in the fake's listing.
    let listing: Value = app
        .client
        .get(format!("{}/fake/sms", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listing["messages"][0]["to"], DAN);
    assert_eq!(listing["messages"][0]["message"], message.as_str());
}

#[tokio::test]
async fn delivery_reports_are_aimed_at_the_gateway_with_its_token() {
    let app = spawn_app_with(|raw| {
        raw.insert(
            "PESACHAMA_SMS_CALLBACK_TOKEN".into(),
            "sms-callback-token-0123".into(),
        );
    })
    .await;
    let url = app.sms_delivery_url();
    assert_eq!(url.path(), "/sms/africastalking/delivery");
    assert_eq!(url.port(), Some(app.addr.port()));
    assert_eq!(url.query(), Some("token=sms-callback-token-0123"));

    let plain = spawn_app().await;
    assert_eq!(plain.sms_delivery_url().query(), None);
}

/// `pesachama fake-at` on its own, as a benchmark runs it: it says where it
/// listens, takes a send from the real client and prints it.
#[tokio::test]
async fn fake_at_runs_on_its_own_and_prints_each_message() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pesachama"))
        .args(["fake-at", "--port", "0", "--api-key", "bench-key-1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("fake-at starts")
        .unwrap()
        .unwrap();
    let url = first
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in `{first}`"))
        .to_owned();

    let client = AtSmsClient::new(&AtSettings {
        api_url: url.parse().unwrap(),
        username: "sandbox".into(),
        api_key: SecretString::from("bench-key-1"),
        sms_sender: None,
    })
    .unwrap();
    let to = [Msisdn::parse("0712345678").unwrap()];
    let results = client.send(&to, "Habari ya benchi", "b-1").await.unwrap();
    assert!(results[0].is_accepted());
    let stats: Value = reqwest::get(format!("{url}/fake/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (stats["accepted"].clone(), stats["requests"].clone()),
        (1.into(), 1.into())
    );

    let printed = timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("SMS to") {
                return line;
            }
        }
        panic!("fake-at ended without printing the message");
    })
    .await
    .expect("the message is printed");
    assert_eq!(printed, "SMS to 0712***678: Habari ya benchi");
    child.kill().await.unwrap();
}
