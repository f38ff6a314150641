//! Daraja's OAuth token (protocols.md 3.1), cached and refreshed single-flight.
//!
//! Each token request invalidates the previous token, so all calls share one
//! cached token and only one task at a time may fetch a new one.

use std::time::Duration;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::MpesaError;
use super::measure::{Endpoint, measured};
use super::retry;
use super::wire::{self, number_or_string};

/// Refresh this long before Daraja says the token expires, so a token never
/// dies between our check and Daraja's.
const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Fetches and caches the bearer token of one Daraja app.
pub(super) struct OAuth {
    /// `{MPESA_API_URL}/oauth/v1/generate?grant_type=client_credentials`.
    url: Url,
    consumer_key: SecretString,
    consumer_secret: SecretString,
    // A Tokio mutex because it is held across the token request: that is
    // what makes the refresh single-flight.
    cached: Mutex<Option<Cached>>,
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    /// Documented as a number, sent as a string: accept both.
    expires_in: Value,
}

impl OAuth {
    pub(super) fn new(
        base: &str,
        key: SecretString,
        secret: SecretString,
    ) -> anyhow::Result<OAuth> {
        Ok(OAuth {
            url: Url::parse(&format!(
                "{base}/oauth/v1/generate?grant_type=client_credentials"
            ))?,
            consumer_key: key,
            consumer_secret: secret,
            cached: Mutex::new(None),
        })
    }

    /// A token valid for a while yet, fetching one only when needed.
    pub(super) async fn token(&self, http: &reqwest::Client) -> Result<SecretString, MpesaError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(c.token.clone());
        }
        let (token, lifetime) = measured(
            Endpoint::OAuth,
            retry::on_transient("token request", || self.fetch(http)),
        )
        .await?;
        // A short-lived token (odd, but seen in sandboxes) is kept for half its
        // life rather than refetched on every call.
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        *cached = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime - margin,
        });
        Ok(token)
    }

    /// Drops `stale` after Daraja refused it, unless another task already
    /// replaced it (then that newer token is kept).
    pub(super) async fn invalidate(&self, stale: &SecretString) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == stale.expose_secret())
        {
            *cached = None;
        }
    }

    async fn fetch(&self, http: &reqwest::Client) -> Result<(SecretString, Duration), MpesaError> {
        let response = http
            .get(self.url.clone())
            .basic_auth(
                self.consumer_key.expose_secret(),
                Some(self.consumer_secret.expose_secret()),
            )
            .send()
            .await
            .map_err(wire::transport_error)?;
        let status = response.status();
        let body = response.bytes().await.map_err(wire::transport_error)?;
        if status.is_client_error() {
            // Wrong key or secret: Daraja's 400/401 here never mean our request
            // shape, which is fixed.
            tracing::warn!(
                status = status.as_u16(),
                "Daraja refused our consumer key and secret"
            );
            return Err(MpesaError::AuthFailed);
        }
        if !status.is_success() {
            return Err(wire::error_from(status, &body));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| MpesaError::BadResponse(format!("OAuth answer: {e}")))?;
        let seconds = number_or_string(&parsed.expires_in)
            .and_then(|s| u64::try_from(s).ok())
            .filter(|s| *s > 0)
            .ok_or_else(|| MpesaError::BadResponse(format!("expires_in {}", parsed.expires_in)))?;
        tracing::debug!(expires_in_s = seconds, "fetched a Daraja token");
        Ok((
            SecretString::from(parsed.access_token),
            Duration::from_secs(seconds),
        ))
    }
}
