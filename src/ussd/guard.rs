//! Who may call the USSD endpoints, and how often.
//!
//! Protection (optional, configured): an allow-list of source networks and a
//! shared secret, either as a `token` query parameter or as HTTP basic auth.
//! Anything else gets 403 and is counted. Rate limits (`governor`, in memory
//! per node): per phone number and per source address; over the limit the
//! member sees a polite `END`, because Africa's Talking shows an ugly error for
//! anything but a 200.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::app::AppState;
use crate::config::UssdSettings;
use crate::telemetry::{USSD_RATE_LIMITED, USSD_REFUSED};

/// Per-phone and per-source limiters.
pub struct RateLimits {
    per_phone: DefaultKeyedRateLimiter<String>,
    per_source: DefaultKeyedRateLimiter<IpAddr>,
}

/// Which limit refused a hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Phone,
    Source,
}

impl RateLimits {
    /// Builds the limiters from the settings.
    pub fn new(settings: &UssdSettings) -> RateLimits {
        let per_minute = NonZeroU32::new(settings.rate_per_phone).unwrap_or(NonZeroU32::MIN);
        let per_second = NonZeroU32::new(settings.rate_per_source).unwrap_or(NonZeroU32::MIN);
        RateLimits {
            per_phone: RateLimiter::keyed(Quota::per_minute(per_minute)),
            per_source: RateLimiter::keyed(Quota::per_second(per_second)),
        }
    }

    /// Counts one hop from `source`.
    pub fn check_source(&self, source: IpAddr) -> Result<(), Limited> {
        self.per_source.check_key(&source).map_err(|_| {
            metrics::counter!(USSD_RATE_LIMITED, "limit" => "source").increment(1);
            Limited::Source
        })
    }

    /// Counts one hop of `phone` (E.164).
    pub fn check_phone(&self, phone: &str) -> Result<(), Limited> {
        self.per_phone.check_key(&phone.to_owned()).map_err(|_| {
            metrics::counter!(USSD_RATE_LIMITED, "limit" => "phone").increment(1);
            Limited::Phone
        })
    }

    /// Forgets keys whose limits are back to full, so the maps do not grow
    /// with every phone ever seen. Called periodically by a background task.
    pub fn forget_idle(&self) {
        self.per_phone.retain_recent();
        self.per_source.retain_recent();
    }
}

fn refuse(reason: &'static str) -> Response {
    metrics::counter!(USSD_REFUSED, "reason" => reason).increment(1);
    tracing::warn!(reason, "USSD callback refused");
    (StatusCode::FORBIDDEN, "forbidden").into_response()
}

fn token_of(request: &Request) -> Option<&str> {
    request
        .uri()
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
}

fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn same(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Middleware on the USSD routes enforcing the configured protection.
pub async fn protect(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let settings = &app.settings.ussd;
    if !settings.allowed_sources.is_empty()
        && !settings
            .allowed_sources
            .iter()
            .any(|net| net.contains(&peer.ip()))
    {
        return refuse("source");
    }
    if let Some(expected) = &settings.callback_token {
        if !token_of(&request).is_some_and(|t| same(t, expected.expose_secret())) {
            return refuse("token");
        }
    }
    if let Some((user, password)) = &settings.basic_auth {
        let ok = basic_credentials(&request)
            .is_some_and(|(u, p)| same(&u, user) & same(&p, password.expose_secret()));
        if !ok {
            return refuse("auth");
        }
    }
    next.run(request).await
}
