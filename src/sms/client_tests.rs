//! `AtSmsClient` against a tiny AT stand-in on 127.0.0.1: what we send, and
//! how each of AT's answers maps to results or an [`SmsError`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;
use secrecy::SecretString;

use super::*;
use crate::config::AtSettings;

/// What the stand-in saw of one request.
struct Seen {
    headers: HeaderMap,
    form: HashMap<String, String>,
}

#[derive(Clone)]
struct Stub {
    seen: Arc<Mutex<Vec<Seen>>>,
    status: StatusCode,
    content_type: &'static str,
    body: String,
}

async fn messaging(
    State(stub): State<Stub>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> impl IntoResponse {
    stub.seen.lock().unwrap().push(Seen { headers, form });
    (
        stub.status,
        [(header::CONTENT_TYPE, stub.content_type)],
        stub.body,
    )
}

/// Starts a stand-in answering every send with `status` and `body`; returns
/// its base URL and the log of requests.
async fn start_at(
    status: StatusCode,
    content_type: &'static str,
    body: &str,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stub = Stub {
        seen: seen.clone(),
        status,
        content_type,
        body: body.to_owned(),
    };
    let app = axum::Router::new()
        .route("/version1/messaging", post(messaging))
        .with_state(stub);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

/// A client with a registered sender, pointed at the stand-in.
async fn at_answering(
    status: StatusCode,
    content_type: &'static str,
    body: &str,
) -> (AtSmsClient, Arc<Mutex<Vec<Seen>>>) {
    let (url, seen) = start_at(status, content_type, body).await;
    (client_at(&url, Some("PESACHAMA")), seen)
}

fn client_at(url: &str, sender: Option<&str>) -> AtSmsClient {
    AtSmsClient::new(&AtSettings {
        api_url: url.parse().unwrap(),
        username: "sandbox".into(),
        api_key: SecretString::from("at-key-123"),
        sms_sender: sender.map(str::to_owned),
    })
    .unwrap()
}

fn msisdn(s: &str) -> Msisdn {
    Msisdn::parse(s).unwrap()
}

const JSON: &str = "application/json";

const TWO_RECIPIENTS: &str = r#"{"SMSMessageData": {
  "Message": "Sent to 1/2 Total Cost: KES 0.8000",
  "Recipients": [
    {"statusCode": 101, "number": "+254712345678", "status": "Success",
     "cost": "KES 0.8000", "messageId": "ATXid_abc"},
    {"statusCode": 406, "number": "+254110123456", "status": "UserInBlacklist",
     "cost": "0", "messageId": "None"}]}}"#;

#[tokio::test]
async fn a_send_posts_the_form_at_expects_and_reads_each_recipient() {
    let (client, seen) = at_answering(StatusCode::CREATED, JSON, TWO_RECIPIENTS).await;
    let to = [msisdn("0712345678"), msisdn("0110123456")];

    let results = client.send(&to, "Mchango: KES 500", "key-1").await.unwrap();

    let seen = seen.lock().unwrap();
    let request = &seen[0];
    assert_eq!(request.headers["apikey"], "at-key-123");
    assert_eq!(request.headers["accept"], JSON);
    assert_eq!(request.headers["idempotency-key"], "key-1");
    assert!(
        request.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/x-www-form-urlencoded")
    );
    let form = &request.form;
    assert_eq!(form["username"], "sandbox");
    assert_eq!(form["to"], "+254712345678,+254110123456");
    assert_eq!(form["message"], "Mchango: KES 500");
    assert_eq!(form["from"], "PESACHAMA");
    assert_eq!(form["bulkSMSMode"], "1");
    assert_eq!(form["enqueue"], "1");

    assert_eq!(results.len(), 2);
    assert!(results[0].is_accepted());
    assert_eq!(results[0].number, to[0]);
    assert_eq!(results[0].message_id.as_deref(), Some("ATXid_abc"));
    assert_eq!(results[0].cost, "KES 0.8000");
    assert!(!results[1].is_accepted());
    assert_eq!(results[1].status, "UserInBlacklist");
    assert_eq!(results[1].message_id, None);
}

#[tokio::test]
async fn no_sender_configured_means_no_from_field() {
    let (url, seen) = start_at(StatusCode::CREATED, JSON, TWO_RECIPIENTS).await;
    let client = client_at(&url, None);

    client
        .send(&[msisdn("0712345678")], "Habari", "key-1")
        .await
        .unwrap();

    assert!(!seen.lock().unwrap()[0].form.contains_key("from"));
}

#[tokio::test]
async fn a_401_is_a_configuration_error() {
    let body = "The supplied authentication is invalid";
    let (client, _) = at_answering(StatusCode::UNAUTHORIZED, "text/plain", body).await;
    let error = client
        .send(&[msisdn("0712345678")], "Habari", "key-1")
        .await;
    assert_eq!(error, Err(SmsError::Unauthorized));
}

#[tokio::test]
async fn a_429_is_throttling() {
    let (client, _) = at_answering(StatusCode::TOO_MANY_REQUESTS, "text/plain", "slow").await;
    let error = client
        .send(&[msisdn("0712345678")], "Habari", "key-1")
        .await;
    assert_eq!(error, Err(SmsError::Throttled));
}

#[tokio::test]
async fn a_500_is_transient() {
    let (client, _) = at_answering(StatusCode::INTERNAL_SERVER_ERROR, "text/plain", "oops").await;
    let error = client
        .send(&[msisdn("0712345678")], "Habari", "key-1")
        .await;
    assert!(matches!(error, Err(SmsError::Transient(m)) if m.contains("oops")));
}

#[tokio::test]
async fn another_4xx_is_a_rejection() {
    let body = "Invalid phone number";
    let (client, _) = at_answering(StatusCode::BAD_REQUEST, "text/plain", body).await;
    let error = client
        .send(&[msisdn("0712345678")], "Habari", "key-1")
        .await;
    assert!(matches!(error, Err(SmsError::Rejected(m)) if m.contains(body)));
}

#[tokio::test]
async fn malformed_json_is_a_bad_response() {
    let (client, _) = at_answering(StatusCode::CREATED, JSON, r#"{"SMSMessageData": ["#).await;
    let error = client
        .send(&[msisdn("0712345678")], "Habari", "key-1")
        .await;
    assert!(matches!(error, Err(SmsError::BadResponse(_))));
}

#[tokio::test]
async fn no_recipients_in_a_success_is_a_rejection_with_ats_reason() {
    let body = r#"{"SMSMessageData": {"Message": "InvalidSenderId", "Recipients": []}}"#;
    let (client, _) = at_answering(StatusCode::CREATED, JSON, body).await;
    let error = client
        .send(&[msisdn("0712345678")], "Habari", "key-1")
        .await;
    assert_eq!(error, Err(SmsError::Rejected("InvalidSenderId".into())));
}

#[tokio::test]
async fn an_unreachable_at_is_transient() {
    // Bind then drop: the port is very likely closed for the moment we need.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = client_at(&format!("http://{addr}"), None);
    let error = client
        .send(&[msisdn("0712345678")], "Habari", "key-1")
        .await;
    assert!(matches!(error, Err(SmsError::Transient(_))), "{error:?}");
}

#[tokio::test]
async fn nothing_is_posted_for_an_empty_message() {
    let (client, seen) = at_answering(StatusCode::CREATED, JSON, TWO_RECIPIENTS).await;
    let error = client.send(&[msisdn("0712345678")], " ", "key-1").await;
    assert!(matches!(error, Err(SmsError::Rejected(_))));
    assert!(seen.lock().unwrap().is_empty());
}
