//! The real Daraja client: STK push and query, C2B URL registration and
//! Transaction Status over HTTPS with a cached OAuth token (protocols.md 3).
//!
//! Every call has a timeout. Only calls that are safe to repeat are retried
//! after a transport failure: the token fetch (in `auth.rs`) and the STK
//! query. A push is never retried blindly, since a push that timed out may
//! have reached the payer: it returns `Transient` and the caller queries.

use std::time::Duration;

use chrono::Utc;
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::auth::OAuth;
use super::measure::{Endpoint, measured};
use super::retry;
use super::wire::{self, Merchant};
use super::{
    BoxFuture, C2bRegistered, C2bUrls, DarajaClient, MpesaError, STK_CALLBACK_PATH,
    StkPushAccepted, StkPushRequest, StkQueryResult, TransactionStatusAccepted,
    TransactionStatusQuery, wire_paybill,
};
use crate::config::MpesaSettings;

/// Time allowed to open a connection to Daraja (as mpesa-rust does).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for one Daraja call; past it an STK push may still have gone out.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Talks to Safaricom's Daraja. One per credential set: the token cache
/// inside assumes nobody else fetches tokens for the same app.
pub struct DarajaHttpClient {
    http: reqwest::Client,
    /// `MPESA_API_URL` without a trailing slash.
    base: String,
    oauth: OAuth,
    merchant: Merchant,
}

impl DarajaHttpClient {
    /// A client for the paybill in `settings`. Daraja will post results to
    /// `{MPESA_CALLBACK_URL}/mpesa/stk/callback/{callback_token}`.
    pub fn new(
        settings: &MpesaSettings,
        callback_token: &SecretString,
    ) -> anyhow::Result<DarajaHttpClient> {
        let settings = MpesaSettings {
            callback_token: callback_token.clone(),
            ..settings.clone()
        };
        DarajaHttpClient::with_timeout(&settings, REQUEST_TIMEOUT)
    }

    /// [`DarajaHttpClient::new`] with the token in `settings` and another
    /// per-call timeout (a fake answers in milliseconds).
    pub fn with_timeout(
        settings: &MpesaSettings,
        timeout: Duration,
    ) -> anyhow::Result<DarajaHttpClient> {
        let base = settings.api_url.as_str().trim_end_matches('/').to_owned();
        let callback_url = callback_url(&settings.callback_url, &settings.callback_token)?;
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .build()?;
        Ok(DarajaHttpClient {
            http,
            oauth: OAuth::new(
                &base,
                settings.consumer_key.clone(),
                settings.consumer_secret.clone(),
            )?,
            base,
            merchant: Merchant {
                shortcode: settings.shortcode.clone(),
                passkey: settings.passkey.clone(),
                callback_url: SecretString::from(callback_url.to_string()),
            },
        })
    }

    #[tracing::instrument(name = "daraja.stk_push", skip_all, fields(phone = %req.phone(), amount = req.amount()))]
    async fn push_now(&self, req: StkPushRequest) -> Result<StkPushAccepted, MpesaError> {
        let body = wire::push_body(&self.merchant, &req, Utc::now());
        let (status, bytes) = self.post("/mpesa/stkpush/v1/processrequest", &body).await?;
        let accepted = wire::push_accepted(status, &bytes)?;
        tracing::debug!(
            checkout_request_id = accepted.checkout_request_id,
            "Daraja accepted the STK push"
        );
        Ok(accepted)
    }

    #[tracing::instrument(name = "daraja.stk_query", skip_all, fields(checkout_request_id = %checkout_request_id))]
    async fn query_now(&self, checkout_request_id: &str) -> Result<StkQueryResult, MpesaError> {
        retry::on_transient("STK query", || async {
            // A fresh timestamp and password each time.
            let body = wire::query_body(&self.merchant, checkout_request_id, Utc::now());
            let (status, bytes) = self.post("/mpesa/stkpushquery/v1/query", &body).await?;
            wire::query_result(status, &bytes)
        })
        .await
    }

    #[tracing::instrument(name = "daraja.register_urls", skip_all)]
    async fn register_now(&self, urls: &C2bUrls) -> Result<C2bRegistered, MpesaError> {
        let body = wire_paybill::register_body(&self.merchant.shortcode, urls);
        let (status, bytes) = self.post("/mpesa/c2b/v2/registerurl", &body).await?;
        wire_paybill::registered(status, &bytes)
    }

    #[tracing::instrument(name = "daraja.transaction_status", skip_all, fields(receipt = %query.receipt))]
    async fn status_now(
        &self,
        query: &TransactionStatusQuery,
    ) -> Result<TransactionStatusAccepted, MpesaError> {
        let body = wire_paybill::status_body(&self.merchant.shortcode, query);
        let (status, bytes) = self
            .post("/mpesa/transactionstatus/v1/query", &body)
            .await?;
        wire_paybill::status_accepted(status, &bytes)
    }

    /// POSTs `body` with our token; when Daraja calls the token invalid or
    /// expired, fetches a new one and tries exactly once more. That retry is
    /// safe for a push: Daraja refused the first attempt before looking at it.
    async fn post(&self, path: &str, body: &Value) -> Result<(StatusCode, Vec<u8>), MpesaError> {
        let token = self.oauth.token(&self.http).await?;
        let (status, bytes) = self.post_with(path, &token, body).await?;
        if !wire::is_expired_token(status, &bytes) {
            return Ok((status, bytes));
        }
        tracing::info!("Daraja refused our token; fetching a new one");
        self.oauth.invalidate(&token).await;
        let token = self.oauth.token(&self.http).await?;
        self.post_with(path, &token, body).await
    }

    async fn post_with(
        &self,
        path: &str,
        token: &SecretString,
        body: &Value,
    ) -> Result<(StatusCode, Vec<u8>), MpesaError> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token.expose_secret())
            .json(body)
            .send()
            .await
            .map_err(wire::transport_error)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(wire::transport_error)?;
        Ok((status, bytes.to_vec()))
    }
}

impl DarajaClient for DarajaHttpClient {
    fn stk_push(&self, req: StkPushRequest) -> BoxFuture<'_, Result<StkPushAccepted, MpesaError>> {
        Box::pin(measured(Endpoint::StkPush, self.push_now(req)))
    }

    fn stk_query<'a>(
        &'a self,
        checkout_request_id: &'a str,
    ) -> BoxFuture<'a, Result<StkQueryResult, MpesaError>> {
        Box::pin(measured(
            Endpoint::StkQuery,
            self.query_now(checkout_request_id),
        ))
    }

    fn register_urls<'a>(
        &'a self,
        urls: &'a C2bUrls,
    ) -> BoxFuture<'a, Result<C2bRegistered, MpesaError>> {
        Box::pin(measured(Endpoint::C2bRegister, self.register_now(urls)))
    }

    fn transaction_status<'a>(
        &'a self,
        query: &'a TransactionStatusQuery,
    ) -> BoxFuture<'a, Result<TransactionStatusAccepted, MpesaError>> {
        Box::pin(measured(
            Endpoint::TransactionStatus,
            self.status_now(query),
        ))
    }
}

/// `{base}/mpesa/stk/callback/{token}`, keeping any path `base` already has
/// (a daemon behind a reverse proxy under `/pesachama/`, say).
pub(super) fn callback_url(base: &Url, token: &SecretString) -> anyhow::Result<Url> {
    callback_url_at(base, STK_CALLBACK_PATH, token)
}

/// `{base}{path}/{token}`, keeping any path `base` already has.
pub(super) fn callback_url_at(base: &Url, path: &str, token: &SecretString) -> anyhow::Result<Url> {
    let token = token.expose_secret();
    anyhow::ensure!(!token.is_empty(), "the M-Pesa callback token is empty");
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| anyhow::anyhow!("MPESA_CALLBACK_URL cannot take a path"))?
        .pop_if_empty()
        .extend(path.split('/').filter(|s| !s.is_empty()))
        .push(token);
    Ok(url)
}
