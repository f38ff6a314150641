//! The fake's checks of a send, as AT makes them (protocols.md 2.1-2.2):
//! the `apiKey` header and `username` (401), `to` and `message` present
//! (400), and each number in `+254…` E.164 form (a per-recipient 403).

use std::sync::Arc;

use axum::http::HeaderMap;
use serde::Deserialize;

use crate::phone::Msisdn;

/// The form fields the fake reads; AT's others (`from`, `bulkSMSMode`,
/// `enqueue`) are accepted and ignored.
#[derive(Debug, Deserialize)]
pub(super) struct SendForm {
    username: Option<String>,
    to: Option<String>,
    message: Option<String>,
}

/// A send that passed the request-wide checks.
pub(super) struct SendRequest {
    /// Every number as given, and whether AT would take it.
    pub to: Vec<Number>,
    /// Shared by every recipient's record: a bulk send keeps one copy.
    pub message: Arc<str>,
}

pub(super) struct Number {
    pub e164: String,
    pub valid: bool,
}

/// Why a send is refused as a whole.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refused {
    /// Wrong `username` (the key is checked from the headers).
    Unauthorized,
    /// A required field missing or empty: 400 naming it.
    Missing(&'static str),
}

/// Whether the `apiKey` header (any case: header names are case-insensitive
/// and `HeaderMap` stores them lowercased) carries the fake's key.
pub(super) fn authorised(headers: &HeaderMap, api_key: &str) -> bool {
    headers
        .get("apikey")
        .is_some_and(|key| key.as_bytes() == api_key.as_bytes())
}

/// Checks the form of a send for the fake's `username`.
pub(super) fn request(form: SendForm, username: &str) -> Result<SendRequest, Refused> {
    if form.username.as_deref() != Some(username) {
        return Err(Refused::Unauthorized);
    }
    let to = form.to.unwrap_or_default();
    let to: Vec<Number> = to
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| Number {
            e164: n.to_owned(),
            valid: valid_number(n),
        })
        .collect();
    if to.is_empty() {
        return Err(Refused::Missing("to"));
    }
    let message = form.message.unwrap_or_default();
    if message.trim().is_empty() {
        return Err(Refused::Missing("message"));
    }
    Ok(SendRequest {
        to,
        message: message.into(),
    })
}

/// A number in E.164 form with its `+`, AT's SDK shape. Kenyan numbers must
/// also look like a mobile (`+2547…`, `+2541…`, nine digits after 254), by
/// shape only, as AT checks them: parsing each with the numbering plan would
/// cost more than the rest of a send at bulk rates (all the gateway's numbers
/// were parsed as [`Msisdn`] when queued anyway). Other countries' numbers
/// are rare here and must parse as a mobile.
fn valid_number(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('+') else {
        return false;
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !(4..=15).contains(&digits.len()) {
        return false;
    }
    match digits.strip_prefix("254") {
        Some(national) => national.len() == 9 && matches!(national.as_bytes()[0], b'1' | b'7'),
        None => Msisdn::parse_recent(number).is_ok_and(|m| m.as_e164() == number),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(username: Option<&str>, to: Option<&str>, message: Option<&str>) -> SendForm {
        SendForm {
            username: username.map(str::to_owned),
            to: to.map(str::to_owned),
            message: message.map(str::to_owned),
        }
    }

    #[test]
    fn numbers_must_be_e164_mobiles_with_a_plus() {
        for good in ["+254712345678", "+254110123456", "+256772123456"] {
            assert!(valid_number(good), "{good}");
        }
        for bad in [
            "254712345678",
            "0712345678",
            "+25471234567",
            "+2547123456789",
            "+254212345678",
            "+2547123x5678",
            "+",
            "",
            "+1234567890123456",
        ] {
            assert!(!valid_number(bad), "{bad}");
        }
    }

    #[test]
    fn a_wrong_username_is_unauthorised_and_missing_fields_are_named() {
        let check = |f| request(f, "sandbox").map(|r| r.to.len());
        assert_eq!(
            check(form(Some("other"), Some("+254712345678"), Some("x"))),
            Err(Refused::Unauthorized)
        );
        assert_eq!(
            check(form(None, Some("+254712345678"), Some("x"))),
            Err(Refused::Unauthorized)
        );
        assert_eq!(
            check(form(Some("sandbox"), Some(" , "), Some("x"))),
            Err(Refused::Missing("to"))
        );
        assert_eq!(
            check(form(Some("sandbox"), Some("+254712345678"), Some("  "))),
            Err(Refused::Missing("message"))
        );
        assert_eq!(
            check(form(Some("sandbox"), None, None)),
            Err(Refused::Missing("to"))
        );
        assert_eq!(
            check(form(
                Some("sandbox"),
                Some("+254712345678, 0712"),
                Some("x")
            )),
            Ok(2)
        );
    }

    #[test]
    fn the_key_header_is_read_in_any_case() {
        for name in ["apiKey", "apikey", "APIKEY"] {
            let mut headers = HeaderMap::new();
            headers.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                "k1".parse().unwrap(),
            );
            assert!(authorised(&headers, "k1"), "{name}");
            assert!(!authorised(&headers, "k2"), "{name}");
        }
        assert!(!authorised(&HeaderMap::new(), "k1"));
    }
}
