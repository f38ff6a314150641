//! The real Africa's Talking client: `POST /version1/messaging`, form-encoded
//! (protocols.md 2.1–2.2).

use std::collections::HashMap;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{BoxFuture, SmsClient, SmsError, SmsRecipientResult, check_request, excerpt};
use crate::config::AtSettings;
use crate::phone::Msisdn;

/// Time allowed to open a connection to AT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole send; `enqueue=1` makes AT answer quickly, so
/// hitting this means AT is in trouble.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends SMS through Africa's Talking. Cheap to share: one connection pool.
pub struct AtSmsClient {
    http: reqwest::Client,
    /// `{AT_API_URL}/version1/messaging`.
    url: Url,
    username: String,
    /// Sent as the `apiKey` header; never logged.
    api_key: SecretString,
    /// Registered sender id; `None` uses AT's shared sender.
    sender: Option<String>,
}

impl AtSmsClient {
    /// A client for the account in `settings`, waiting
    /// [`DEFAULT_REQUEST_TIMEOUT`] for each answer.
    pub fn new(settings: &AtSettings) -> anyhow::Result<AtSmsClient> {
        AtSmsClient::with_timeout(settings, DEFAULT_REQUEST_TIMEOUT)
    }

    /// A client that gives up on an answer after `timeout` (a send then
    /// fails as [`SmsError::Unanswered`]): the tests' fake AT holds a lost
    /// answer longer than this, and should not cost them 30 s.
    pub fn with_timeout(settings: &AtSettings, timeout: Duration) -> anyhow::Result<AtSmsClient> {
        let base = settings.api_url.as_str().trim_end_matches('/');
        let url = Url::parse(&format!("{base}/version1/messaging"))?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(timeout)
            .build()?;
        Ok(AtSmsClient {
            http,
            url,
            username: settings.username.clone(),
            api_key: settings.api_key.clone(),
            sender: settings.sms_sender.clone().filter(|s| !s.is_empty()),
        })
    }

    #[tracing::instrument(name = "at.sms.send", skip_all, fields(recipients = to.len()))]
    async fn send_now(
        &self,
        to: &[Msisdn],
        message: &str,
        idempotency_key: &str,
    ) -> Result<Vec<SmsRecipientResult>, SmsError> {
        check_request(to, message)?;
        let numbers = to.iter().map(Msisdn::as_e164).collect::<Vec<_>>().join(",");
        let mut form = vec![
            ("username", self.username.as_str()),
            ("to", numbers.as_str()),
            ("message", message),
            // We pay for bulk messages, and AT queues them and answers at
            // once instead of waiting for the telco (protocols.md 2.2).
            ("bulkSMSMode", "1"),
            ("enqueue", "1"),
        ];
        if let Some(sender) = &self.sender {
            form.push(("from", sender));
        }
        let response = self
            .http
            .post(self.url.clone())
            .header("apiKey", self.api_key.expose_secret())
            // The PHP SDK's header; whether AT honours it for SMS is
            // unconfirmed (protocols.md 2.3), the fake does.
            .header("Idempotency-Key", idempotency_key)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(send_error)?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| SmsError::Unanswered(transport_error(e)))?;
        let results = parse_response(status, &body, to)?;
        let accepted = results.iter().filter(|r| r.is_accepted()).count();
        tracing::debug!(
            accepted,
            refused = results.len() - accepted,
            "AT took the send"
        );
        Ok(results)
    }
}

impl SmsClient for AtSmsClient {
    fn send<'a>(
        &'a self,
        to: &'a [Msisdn],
        message: &'a str,
        idempotency_key: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SmsRecipientResult>, SmsError>> {
        Box::pin(self.send_now(to, message, idempotency_key))
    }
}

/// Only a failed connection proves AT never saw the request; any other
/// failure of the send may come after AT read it.
fn send_error(error: reqwest::Error) -> SmsError {
    if error.is_connect() {
        SmsError::Transient(transport_error(error))
    } else {
        SmsError::Unanswered(transport_error(error))
    }
}

/// A reqwest error without its URL: the URL is harmless today, but a habit of
/// printing request details is how keys end up in logs.
fn transport_error(error: reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else {
        "transport"
    };
    let error = error.without_url();
    // reqwest's own text is vague ("error sending request"); the causes say why.
    let mut text = format!("{kind}: {error}");
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "SMSMessageData")]
    data: MessageData,
}

#[derive(Deserialize)]
struct MessageData {
    #[serde(rename = "Message", default)]
    message: String,
    #[serde(rename = "Recipients", default)]
    recipients: Vec<Recipient>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Recipient {
    status_code: u16,
    number: String,
    status: String,
    #[serde(default)]
    cost: String,
    #[serde(default)]
    message_id: Option<String>,
}

/// Maps AT's answer to results or an error (status mapping: protocols.md 2.1).
fn parse_response(
    status: StatusCode,
    body: &str,
    to: &[Msisdn],
) -> Result<Vec<SmsRecipientResult>, SmsError> {
    match status {
        // The node SDK insists on 201; any 2xx carries the same body.
        s if s.is_success() => {}
        StatusCode::UNAUTHORIZED => return Err(SmsError::Unauthorized),
        StatusCode::TOO_MANY_REQUESTS => return Err(SmsError::Throttled),
        s if s.is_server_error() => {
            return Err(SmsError::Transient(format!("HTTP {s}: {}", excerpt(body))));
        }
        s => return Err(SmsError::Rejected(format!("HTTP {s}: {}", excerpt(body)))),
    }
    let envelope: Envelope = serde_json::from_str(body)
        .map_err(|e| SmsError::BadResponse(format!("{e}: {}", excerpt(body))))?;
    let data = envelope.data;
    // AT answers 201 with no recipients when it refuses the whole send, e.g.
    // `"Message": "InvalidSenderId"`.
    if data.recipients.is_empty() {
        return Err(SmsError::Rejected(excerpt(&data.message)));
    }
    // A bulk answer names a thousand numbers: find each in a map, not by
    // scanning the request's list.
    let requested: HashMap<&str, &Msisdn> = to.iter().map(|m| (m.as_e164(), m)).collect();
    data.recipients
        .into_iter()
        .map(|r| {
            Ok(SmsRecipientResult {
                number: match_number(&r.number, &requested)?,
                status_code: r.status_code,
                status: r.status,
                message_id: r.message_id.filter(|id| !id.is_empty() && id != "None"),
                cost: r.cost,
            })
        })
        .collect()
}

/// The requested number AT is talking about; AT echoes our E.164 strings.
fn match_number(number: &str, requested: &HashMap<&str, &Msisdn>) -> Result<Msisdn, SmsError> {
    if let Some(known) = requested.get(number) {
        return Ok((*known).clone());
    }
    Msisdn::parse(number)
        .map_err(|_| SmsError::BadResponse("a recipient number we cannot read".into()))
}
