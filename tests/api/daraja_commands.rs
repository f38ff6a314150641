//! `pesachama fake-daraja` on its own, as a benchmark runs it, and
//! `pesachama mpesa register-urls` against a fake.

use std::process::Stdio;
use std::time::Duration;

use pesachama::config::MpesaSettings;
use pesachama::mpesa::{DarajaClient, DarajaHttpClient};
use secrecy::SecretString;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::time::timeout;

use crate::daraja_support::{fake_with, payment, push_to};

#[tokio::test]
async fn fake_daraja_runs_on_its_own_with_the_credentials_it_was_given() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pesachama"))
        .args(["fake-daraja", "--port", "0", "--consumer-key", "bench-ck"])
        .args([
            "--consumer-secret",
            "bench-cs",
            "--shortcode",
            "600984",
            "--passkey",
            "bench-pk",
        ])
        .args(["--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("fake-daraja starts")
        .unwrap()
        .unwrap();
    let url = first
        .split_whitespace()
        .find(|word| word.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("no URL in `{first}`"))
        .to_owned();
    let settings = MpesaSettings {
        api_url: url.parse().unwrap(),
        consumer_key: SecretString::from("bench-ck"),
        consumer_secret: SecretString::from("bench-cs"),
        shortcode: "600984".into(),
        passkey: SecretString::from("bench-pk"),
        callback_url: "http://127.0.0.1:9/".parse().unwrap(),
        callback_token: SecretString::from("cb-token-0123456789"),
    };
    let client = DarajaHttpClient::new(&settings, &settings.callback_token).unwrap();
    client.stk_push(push_to("0712345678", 10)).await.unwrap();
    let pushes: Value = reqwest::get(format!("{url}/fake/pushes"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pushes["total"], 1);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn register_urls_registers_the_paybill_urls_under_the_callback_url_once() {
    let fake = fake_with(|_| {}).await;
    let output = Command::new(env!("CARGO_BIN_EXE_pesachama"))
        .args(["mpesa", "register-urls", "--on-unanswered", "cancelled"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs([
            ("DATABASE_URL", "postgres://app:hunter2@127.0.0.1/pesachama"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            (
                "PESACHAMA_PIN_SECRET",
                "0123456789abcdef0123456789abcdef0123456789abcdef",
            ),
            (
                "PESACHAMA_USSD_CALLBACK_TOKEN",
                "at-callback-token-0123456789",
            ),
            ("PESACHAMA_SMS_CALLBACK_TOKEN", "at-sms-token-0123456789"),
            ("MPESA_API_URL", &fake.url()),
            ("MPESA_CONSUMER_KEY", "fake-consumer-key"),
            ("MPESA_CONSUMER_SECRET", "fake-consumer-secret"),
            ("MPESA_SHORTCODE", pesachama::mpesa::fake::SANDBOX_SHORTCODE),
            ("MPESA_PASSKEY", pesachama::mpesa::fake::SANDBOX_PASSKEY),
            ("MPESA_CALLBACK_URL", "https://127.0.0.1:9/pc/"),
            ("MPESA_CALLBACK_TOKEN", "cb-token-0123456789"),
            ("AT_API_URL", "https://at.example"),
            ("AT_USERNAME", "sandbox"),
            ("AT_API_KEY", "at-very-secret"),
        ])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Daraja registered the C2B URLs of shortcode 174379: Success"),
        "{stdout}"
    );
    assert_eq!(fake.stats().token_requests, 1);
    assert_eq!(fake.stats().refused, 0);

    // A payment now reaches the registered confirmation URL (unreachable
    // here, on a closed loopback port: the fake records where it posted).
    let paid = fake.pay_bill(payment(10, "UMOJA")).await.unwrap();
    assert!(paid.completed);
    let posted = fake.callbacks();
    assert_eq!(
        posted[0].url,
        "https://127.0.0.1:9/pc/paybill/c2b/confirmation/cb-token-0123456789"
    );
}
