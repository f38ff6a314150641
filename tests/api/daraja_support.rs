//! For the fake Daraja tests: a tiny receiver standing in for the gateway's
//! callback endpoints (it records what is posted and answers as told), the
//! real client pointed at a fake, and raw requests for what the client
//! would never send.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use axum::routing::post;
use pesachama::mpesa::{DarajaHttpClient, FakeDaraja, FakeDarajaConfig, StkPushRequest};
use pesachama::phone::Msisdn;
use secrecy::SecretString;
use serde_json::{Value, json};

pub const CALLBACK_TOKEN: &str = "cb-token-0123456789";

/// One post the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    answer: Option<Value>,
}

/// A stand-in for the gateway's callback endpoints on 127.0.0.1.
#[derive(Clone)]
pub struct Receiver {
    pub url: reqwest::Url,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = axum::Router::new()
            .fallback(post(receive))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url: url.parse().unwrap(),
            inner,
        }
    }

    /// What it answers from now on (default `{"ResultCode":0,"ResultDesc":"Accepted"}`).
    pub fn answer_with(&self, answer: Value) {
        self.inner.lock().unwrap().answer = Some(answer);
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Waits up to five seconds for at least `n` posts, then returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..250 {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("expected {n} posts, got {:?}", self.received());
    }
}

async fn receive(
    State(inner): State<Arc<Mutex<Inner>>>,
    uri: Uri,
    Json(body): Json<Value>,
) -> Json<Value> {
    let mut inner = inner.lock().unwrap();
    inner.received.push(Received {
        path: uri.path().to_owned(),
        body,
    });
    Json(
        inner
            .answer
            .clone()
            .unwrap_or_else(|| json!({"ResultCode": 0, "ResultDesc": "Accepted"})),
    )
}

/// A fake with `adjust`ed defaults (quiet).
pub async fn fake_with(adjust: impl FnOnce(&mut FakeDarajaConfig)) -> Arc<FakeDaraja> {
    let mut config = FakeDarajaConfig {
        quiet: true,
        ..FakeDarajaConfig::default()
    };
    adjust(&mut config);
    FakeDaraja::start(config).await.unwrap()
}

/// A fake, a receiver, and the real client between them.
pub async fn setup() -> (Arc<FakeDaraja>, Receiver, DarajaHttpClient) {
    let fake = fake_with(|_| {}).await;
    let receiver = Receiver::start().await;
    let client = client_of(&fake, &receiver);
    (fake, receiver, client)
}

pub fn client_of(fake: &FakeDaraja, receiver: &Receiver) -> DarajaHttpClient {
    fake.client(receiver.url.clone(), SecretString::from(CALLBACK_TOKEN))
        .unwrap()
}

pub fn phone(number: &str) -> Msisdn {
    Msisdn::parse(number).unwrap()
}

pub fn push_to(number: &str, amount: i64) -> StkPushRequest {
    StkPushRequest::new(phone(number), amount, "UMOJA", "Contribution").unwrap()
}

/// A paybill payment from 0712 345 678.
pub fn payment(amount: i64, bill_ref: &str) -> pesachama::mpesa::fake::C2bPayment {
    pesachama::mpesa::fake::C2bPayment {
        phone: "0712345678".into(),
        amount,
        bill_ref: bill_ref.into(),
        first_name: Some("GRACE".into()),
        copies: 1,
    }
}

/// A token from `fake` fetched by hand, for raw requests.
pub async fn raw_token(fake: &FakeDaraja) -> String {
    let answer: Value = reqwest::Client::new()
        .get(format!(
            "{}/oauth/v1/generate?grant_type=client_credentials",
            fake.url()
        ))
        .basic_auth("fake-consumer-key", Some("fake-consumer-secret"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["access_token"].as_str().unwrap().to_owned()
}

/// POSTs `body` (raw bytes, sent as JSON) to `path` with `token`; returns
/// the status and the JSON answer (`Null` when not JSON).
pub async fn raw_post(
    fake: &FakeDaraja,
    path: &str,
    token: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", fake.url()))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The STK callback of the posts, by `CheckoutRequestID`.
pub fn stk_callbacks<'a>(received: &'a [Received], checkout_request_id: &str) -> Vec<&'a Value> {
    received
        .iter()
        .map(|r| &r.body["Body"]["stkCallback"])
        .filter(|c| c["CheckoutRequestID"] == checkout_request_id)
        .collect()
}

/// A metadata item of an STK callback, by name.
pub fn item<'a>(callback: &'a Value, name: &str) -> Option<&'a Value> {
    callback["CallbackMetadata"]["Item"]
        .as_array()?
        .iter()
        .find(|i| i["Name"] == name)
        .map(|i| &i["Value"])
}

/// Waits up to two seconds for the fake to have made `n` posts, then returns them all.
pub async fn posted_by(fake: &FakeDaraja, n: usize) -> Vec<pesachama::mpesa::fake::PostedCallback> {
    for _ in 0..100 {
        if fake.callbacks().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    fake.callbacks()
}

/// Daraja's STK success callback for `checkout` (protocols.md 3.3), paid
/// `amount` from `phone` (Daraja's form, a JSON number).
pub fn stk_success(checkout: &str, receipt: &str, amount: f64, phone: u64) -> Value {
    json!({"Body": {"stkCallback": {
        "MerchantRequestID": "29115-34620561-1",
        "CheckoutRequestID": checkout,
        "ResultCode": 0,
        "ResultDesc": "The service request is processed successfully.",
        "CallbackMetadata": {"Item": [
            {"Name": "Amount", "Value": amount},
            {"Name": "MpesaReceiptNumber", "Value": receipt},
            {"Name": "Balance"},
            {"Name": "TransactionDate", "Value": 20261201102115u64},
            {"Name": "PhoneNumber", "Value": phone}]}}}})
}
