//! `DarajaHttpClient` against a small Daraja stand-in on 127.0.0.1: the token
//! cache, the one retry on an expired token, the request it sends and how each
//! answer maps to a result or an [`MpesaError`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use secrecy::SecretString;
use serde_json::{Value, json};

use super::*;
use crate::config::MpesaSettings;
use crate::phone::Msisdn;

/// What the stand-in knows and has seen.
#[derive(Default)]
struct Stub {
    /// `Authorization` headers of token requests.
    token_requests: Vec<String>,
    /// `expires_in` as the stand-in sends it: `"3599"` unless a test changes it.
    expires_in: Value,
    /// OAuth answers 400 (wrong key or secret).
    oauth_refuses: bool,
    /// Tokens the stand-in calls expired; `revoke_all` expires every token.
    revoked: Vec<String>,
    revoke_all: bool,
    /// Bearer token and body of each STK call that passed the token check.
    calls: Vec<(String, Value)>,
    /// Answers to the next STK calls; a success when empty.
    replies: VecDeque<(StatusCode, Value)>,
}

type Shared = Arc<Mutex<Stub>>;

async fn token(
    State(stub): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let mut stub = stub.lock().unwrap();
    let auth = headers["authorization"].to_str().unwrap().to_owned();
    stub.token_requests.push(auth);
    let grant = query.get("grant_type").map(String::as_str);
    if stub.oauth_refuses || grant != Some("client_credentials") {
        let refusal = json!({"errorCode": "400.008.02"});
        return (StatusCode::BAD_REQUEST, Json(refusal));
    }
    let access_token = format!("tok-{}", stub.token_requests.len());
    let answer = json!({"access_token": access_token, "expires_in": stub.expires_in});
    (StatusCode::OK, Json(answer))
}

async fn stk(
    State(stub): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut stub = stub.lock().unwrap();
    let auth = headers["authorization"].to_str().unwrap();
    let token = auth.strip_prefix("Bearer ").unwrap_or_default().to_owned();
    if stub.revoke_all || stub.revoked.contains(&token) {
        let expired = json!({"requestId": "r", "errorCode": "404.001.03", "errorMessage": "Invalid Access Token"});
        return (StatusCode::NOT_FOUND, Json(expired));
    }
    let is_query = body.get("CheckoutRequestID").is_some();
    stub.calls.push((token, body));
    let (status, answer) = stub.replies.pop_front().unwrap_or_else(|| {
        let ok = if is_query {
            json!({"ResponseCode": "0", "ResultCode": "0", "ResultDesc": "The service request is processed successfully."})
        } else {
            json!({"MerchantRequestID": "29115-34620561-1", "CheckoutRequestID": "ws_CO_191220191020363925",
                   "ResponseCode": "0", "ResponseDescription": "Success. Request accepted for processing",
                   "CustomerMessage": "Success. Request accepted for processing"})
        };
        (StatusCode::OK, ok)
    });
    (status, Json(answer))
}

async fn start_daraja() -> (String, Shared) {
    let stub = Arc::new(Mutex::new(Stub {
        expires_in: json!("3599"),
        ..Stub::default()
    }));
    let app = axum::Router::new()
        .route("/oauth/v1/generate", get(token))
        .route("/mpesa/stkpush/v1/processrequest", post(stk))
        .route("/mpesa/stkpushquery/v1/query", post(stk))
        .with_state(stub.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), stub)
}

fn client(url: &str, callback_base: &str) -> DarajaHttpClient {
    let settings = settings(url, callback_base);
    DarajaHttpClient::new(&settings, &settings.callback_token).unwrap()
}

fn settings(url: &str, callback_base: &str) -> MpesaSettings {
    MpesaSettings {
        api_url: url.parse().unwrap(),
        consumer_key: SecretString::from("key"),
        consumer_secret: SecretString::from("secret"),
        shortcode: "174379".into(),
        passkey: SecretString::from("passkey"),
        callback_url: callback_base.parse().unwrap(),
        callback_token: SecretString::from("cb-token"),
    }
}

async fn daraja() -> (DarajaHttpClient, Shared) {
    let (url, stub) = start_daraja().await;
    (client(&url, "https://pc.example"), stub)
}

fn push() -> StkPushRequest {
    let phone = Msisdn::parse("0712345678").unwrap();
    StkPushRequest::new(phone, 100, "CHAMA42", "Contribution").unwrap()
}

fn reply(stub: &Shared, status: u16, body: Value) {
    let status = StatusCode::from_u16(status).unwrap();
    stub.lock().unwrap().replies.push_back((status, body));
}

#[tokio::test]
async fn two_pushes_share_one_token_fetched_with_basic_auth() {
    let (client, stub) = daraja().await;

    let accepted = client.stk_push(push()).await.unwrap();
    client.stk_push(push()).await.unwrap();

    assert_eq!(accepted.checkout_request_id, "ws_CO_191220191020363925");
    assert_eq!(accepted.merchant_request_id, "29115-34620561-1");
    let stub = stub.lock().unwrap();
    let basic = format!("Basic {}", STANDARD.encode("key:secret"));
    assert_eq!(stub.token_requests, vec![basic]);
    assert!(stub.calls.iter().all(|(token, _)| token == "tok-1"));
    assert_eq!(stub.calls.len(), 2);
}

#[tokio::test]
async fn concurrent_first_calls_fetch_one_token() {
    let (client, stub) = daraja().await;
    let (a, b, c) = tokio::join!(
        client.stk_push(push()),
        client.stk_query("ws_CO_1"),
        client.stk_push(push())
    );
    assert!(a.is_ok() && b.is_ok() && c.is_ok());
    assert_eq!(stub.lock().unwrap().token_requests.len(), 1);
}

#[tokio::test]
async fn expires_in_may_be_a_number_and_tokens_renew_before_they_expire() {
    let (client, stub) = daraja().await;
    // Two seconds of life: renewed after one (half its life, as the 5-minute
    // margin would exceed it).
    stub.lock().unwrap().expires_in = json!(2);
    client.stk_push(push()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    client.stk_push(push()).await.unwrap();

    let stub = stub.lock().unwrap();
    assert_eq!(stub.token_requests.len(), 2);
    assert_eq!(stub.calls[1].0, "tok-2");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_once_and_the_call_retried() {
    let (client, stub) = daraja().await;
    stub.lock().unwrap().revoked.push("tok-1".into());

    let accepted = client.stk_push(push()).await;

    assert!(accepted.is_ok(), "{accepted:?}");
    let stub = stub.lock().unwrap();
    assert_eq!(stub.token_requests.len(), 2);
    assert_eq!(stub.calls.len(), 1);
    assert_eq!(stub.calls[0].0, "tok-2");
}

#[tokio::test]
async fn a_token_refused_twice_is_an_auth_failure_without_more_retries() {
    let (client, stub) = daraja().await;
    stub.lock().unwrap().revoke_all = true;

    assert_eq!(client.stk_push(push()).await, Err(MpesaError::AuthFailed));
    assert_eq!(stub.lock().unwrap().token_requests.len(), 2);
}

#[tokio::test]
async fn refused_consumer_credentials_are_an_auth_failure() {
    let (client, stub) = daraja().await;
    stub.lock().unwrap().oauth_refuses = true;
    assert_eq!(
        client.stk_query("ws_CO_1").await,
        Err(MpesaError::AuthFailed)
    );
}

#[tokio::test]
async fn the_push_carries_a_password_of_its_own_timestamp_and_our_callback() {
    let (url, stub) = start_daraja().await;
    let client = client(&url, "https://pc.example/gateway/");

    client.stk_push(push()).await.unwrap();

    let body = stub.lock().unwrap().calls[0].1.clone();
    let timestamp = body["Timestamp"].as_str().unwrap().to_owned();
    let password = STANDARD.decode(body["Password"].as_str().unwrap()).unwrap();
    assert_eq!(password, format!("174379passkey{timestamp}").into_bytes());
    // Nairobi time, give or take the test's own run time.
    let sent = chrono::NaiveDateTime::parse_from_str(&timestamp, "%Y%m%d%H%M%S").unwrap();
    let nairobi_now = Utc::now().with_timezone(&wire::EAT).naive_local();
    assert!((nairobi_now - sent).num_seconds().abs() <= 5, "{timestamp}");
    assert_eq!(body["TransactionType"], "CustomerPayBillOnline");
    assert_eq!(body["Amount"], 100);
    assert_eq!(body["PartyA"], "254712345678");
    assert_eq!(body["PartyB"], "174379");
    assert_eq!(
        body["CallBackURL"],
        "https://pc.example/gateway/mpesa/stk/callback/cb-token"
    );
}

#[tokio::test]
async fn daraja_errors_map_to_caller_reactions() {
    let (client, stub) = daraja().await;
    let bad =
        json!({"errorCode": "400.002.02", "errorMessage": "Bad Request - Invalid PhoneNumber"});
    reply(&stub, 400, bad);
    let lock = json!({"errorCode": "500.001.1001", "errorMessage": "Unable to lock subscriber, a transaction is already in process for the current subscriber"});
    reply(&stub, 500, lock);
    let spike = json!({"errorCode": "500.003.02", "errorMessage": "Spike Arrest Violation"});
    reply(&stub, 500, spike);
    reply(&stub, 503, json!("upstream unavailable"));
    reply(&stub, 200, json!({"unexpected": true}));

    let expected = ["InvalidRequest", "Busy", "Busy", "Transient", "BadResponse"];
    for variant in expected {
        let error = client.stk_push(push()).await.unwrap_err();
        assert!(format!("{error:?}").starts_with(variant), "{error:?}");
    }
}

#[tokio::test]
async fn an_unreachable_daraja_is_transient() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = client(&url, "https://pc.example");
    assert!(matches!(
        client.stk_push(push()).await,
        Err(MpesaError::Transient(_))
    ));
}

#[tokio::test]
async fn a_query_reads_pending_then_completed() {
    let (client, stub) = daraja().await;
    let processing =
        json!({"errorCode": "500.001.1001", "errorMessage": "The transaction is being processed"});
    reply(&stub, 500, processing);
    let cancelled = json!({"ResponseCode": "0", "ResultCode": "1032", "ResultDesc": "Request cancelled by user"});
    reply(&stub, 200, cancelled);

    assert_eq!(
        client.stk_query("ws_CO_9").await,
        Ok(StkQueryResult::Pending)
    );
    assert_eq!(
        client.stk_query("ws_CO_9").await,
        Ok(StkQueryResult::Completed {
            result_code: 1032,
            result_desc: "Request cancelled by user".into()
        })
    );
    let body = stub.lock().unwrap().calls[0].1.clone();
    assert_eq!(body["CheckoutRequestID"], "ws_CO_9");
    assert_eq!(body["BusinessShortCode"], "174379");
    let password = STANDARD.decode(body["Password"].as_str().unwrap()).unwrap();
    let timestamp = body["Timestamp"].as_str().unwrap();
    assert_eq!(password, format!("174379passkey{timestamp}").into_bytes());
}

#[tokio::test]
async fn a_failing_query_is_asked_again_but_a_failing_push_never_is() {
    let (client, stub) = daraja().await;
    reply(&stub, 503, json!({}));
    // The push may have reached the payer: the caller queries, we do not re-push.
    assert!(matches!(
        client.stk_push(push()).await,
        Err(MpesaError::Transient(_))
    ));
    assert_eq!(stub.lock().unwrap().calls.len(), 1);

    reply(&stub, 503, json!({}));
    reply(&stub, 502, json!({}));
    assert!(matches!(
        client.stk_query("ws_CO_9").await,
        Ok(StkQueryResult::Completed { result_code: 0, .. })
    ));
    assert_eq!(stub.lock().unwrap().calls.len(), 4);

    for _ in 0..3 {
        reply(&stub, 503, json!({}));
    }
    assert!(matches!(
        client.stk_query("ws_CO_9").await,
        Err(MpesaError::Transient(_))
    ));
    assert_eq!(
        stub.lock().unwrap().calls.len(),
        7,
        "three attempts, no more"
    );
}

#[tokio::test]
async fn a_daraja_that_never_answers_times_out_as_transient() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Accepts connections and never answers.
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let settings = settings(&url, "https://pc.example");
    let client =
        DarajaHttpClient::with_timeout(&settings, std::time::Duration::from_millis(200)).unwrap();
    let error = client.stk_push(push()).await.unwrap_err();
    assert!(
        matches!(&error, MpesaError::Transient(reason) if reason.starts_with("timeout")),
        "{error:?}"
    );
}
