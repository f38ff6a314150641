//! Who may post Africa's Talking's SMS callbacks, and how often.
//!
//! AT signs nothing (protocols.md 2.6), so the callbacks are protected like
//! the USSD one, with the same helpers: an optional allow-list of source
//! networks, the `?token=` secret (`serve` requires it) compared in constant
//! time, and a rate limit per source address (`governor`, in memory per
//! node). Refusals are problem documents, counted by reason.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::ExposeSecret;

use crate::api::ApiError;
use crate::state::AppState;
use crate::telemetry::SMS_CALLBACK_REFUSED;
use crate::ussd::guard::{same, source_allowed, token_of};

/// Source addresses remembered before idle ones are forgotten: AT posts from
/// a handful, so only a spray of addresses (no allow-list set) reaches it.
const MAX_TRACKED_SOURCES: usize = 10_000;

/// What the middleware needs beside the app: the per-source limiter, built
/// once with the router.
#[derive(Clone)]
pub struct Guard {
    app: AppState,
    per_source: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl Guard {
    pub fn new(app: AppState) -> Guard {
        let rate =
            NonZeroU32::new(app.settings.sms.callback_rate_per_source).unwrap_or(NonZeroU32::MIN);
        Guard {
            app,
            per_source: Arc::new(RateLimiter::keyed(Quota::per_second(rate))),
        }
    }

    fn within_rate(&self, source: IpAddr) -> bool {
        let ok = self.per_source.check_key(&source.to_canonical()).is_ok();
        if self.per_source.len() > MAX_TRACKED_SOURCES {
            self.per_source.retain_recent();
        }
        ok
    }
}

fn refuse(reason: &'static str, error: ApiError) -> Response {
    metrics::counter!(SMS_CALLBACK_REFUSED, "reason" => reason).increment(1);
    tracing::warn!(reason, "SMS callback refused");
    error.into_response()
}

/// Middleware on the SMS callback routes.
pub async fn protect(
    State(guard): State<Guard>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let settings = &guard.app.settings.sms;
    if !source_allowed(&settings.allowed_sources, peer.ip()) {
        return refuse("source", ApiError::Forbidden);
    }
    if let Some(expected) = &settings.callback_token {
        if !token_of(&request).is_some_and(|t| same(t, expected.expose_secret())) {
            return refuse("token", ApiError::Forbidden);
        }
    }
    // After the token: a caller without it cannot use up AT's budget.
    if !guard.within_rate(peer.ip()) {
        return refuse("rate", ApiError::TooManyRequests);
    }
    next.run(request).await
}
