//! Who may call the USSD endpoints, and how often.
//!
//! Protection (optional, configured): an allow-list of source networks and a
//! shared secret, either as a `token` query parameter or as HTTP basic auth.
//! Anything else gets a 403 problem document and is counted. Peers are
//! compared in canonical form, so an IPv4 peer seen through a dual-stack
//! listener (`::ffff:a.b.c.d`) matches the IPv4 ranges of the allow-list. Rate limits (`governor`, in
//! memory per node): per phone number and per source address for hops; over
//! the limit the member sees a polite `END`, because Africa's Talking shows an
//! ugly error for anything but a 200. Session-end events have their own limit
//! per source, answered 429 (no member sees them).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::api::ApiError;
use crate::state::AppState;
use crate::telemetry::USSD_REFUSED;

fn refuse(reason: &'static str) -> Response {
    metrics::counter!(USSD_REFUSED, "reason" => reason).increment(1);
    tracing::warn!(reason, "USSD callback refused");
    ApiError::Forbidden.into_response()
}

pub(crate) fn token_of(request: &Request) -> Option<&str> {
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

/// Whether `peer` may call: any peer when `allowed` is empty, else one in an
/// allowed network. The peer is canonicalised first: a dual-stack listener
/// reports IPv4 callers as `::ffff:a.b.c.d`, and the settings hold the IPv4
/// networks they mean.
pub(crate) fn source_allowed(allowed: &[ipnet::IpNet], peer: IpAddr) -> bool {
    let peer = peer.to_canonical();
    allowed.is_empty() || allowed.iter().any(|net| net.contains(&peer))
}

pub(crate) fn same(a: &str, b: &str) -> bool {
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
    if !source_allowed(&settings.allowed_sources, peer.ip()) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<ipnet::IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn an_ipv4_peer_through_a_dual_stack_listener_matches_an_ipv4_range() {
        let allowed = nets(&["196.201.214.0/24"]);
        assert!(source_allowed(&allowed, ip("::ffff:196.201.214.7")));
        assert!(source_allowed(&allowed, ip("196.201.214.7")));
        assert!(!source_allowed(&allowed, ip("::ffff:196.201.215.7")));
        assert!(!source_allowed(&allowed, ip("196.201.215.7")));
    }

    #[test]
    fn ipv6_peers_match_only_ipv6_ranges() {
        let allowed = nets(&["2001:db8::/32", "10.0.0.0/8"]);
        assert!(source_allowed(&allowed, ip("2001:db8::1")));
        assert!(!source_allowed(&allowed, ip("2001:db9::1")));
        // Not IPv4-mapped: the IPv4-compatible form is not an IPv4 caller.
        assert!(!source_allowed(&allowed, ip("::10.0.0.1")));
    }

    #[test]
    fn an_empty_allow_list_admits_everyone() {
        assert!(source_allowed(&[], ip("::ffff:8.8.8.8")));
    }
}
