//! One Africa's Talking USSD callback, parsed from its form into typed fields.
//! A missing or malformed field is a 400 that changes nothing; a phone that
//! is not a valid mobile number is kept as an error so the caller can answer
//! with a polite `END` instead (AT shows an ugly error for non-200 answers).

use serde::Deserialize;

use crate::phone::{Msisdn, PhoneError};
use crate::session::SessionId;

/// Longest cumulative `text` accepted. A session of 180 s cannot honestly type
/// more; anything longer is a broken or hostile client.
pub const MAX_TEXT_LEN: usize = 1024;
/// Longest service code (`*384*1234*56#` is 13).
const MAX_SERVICE_CODE_LEN: usize = 32;

/// The form exactly as Africa's Talking posts it; every field optional so the
/// refusal can name what is missing.
#[derive(Debug, Deserialize)]
pub struct RawHop {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
    #[serde(rename = "serviceCode")]
    service_code: Option<String>,
    #[serde(rename = "phoneNumber")]
    phone_number: Option<String>,
    #[serde(rename = "networkCode")]
    network_code: Option<String>,
    text: Option<String>,
}

/// A parsed hop.
#[derive(Debug)]
pub struct Hop {
    pub session_id: SessionId,
    pub service_code: String,
    /// The caller, or why the number was refused.
    pub phone: Result<Msisdn, PhoneError>,
    /// Cumulative input, `*`-joined.
    pub text: String,
}

/// Why a callback was refused with 400.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HopError {
    #[error("missing field {0}")]
    Missing(&'static str),
    #[error("malformed field {0}")]
    Malformed(&'static str),
    #[error("text longer than {MAX_TEXT_LEN} characters")]
    TextTooLong,
}

fn required(value: Option<String>, name: &'static str) -> Result<String, HopError> {
    value.ok_or(HopError::Missing(name))
}

/// True for codes like `*384*1234#`.
fn valid_service_code(code: &str) -> bool {
    code.len() <= MAX_SERVICE_CODE_LEN
        && code.starts_with('*')
        && code.ends_with('#')
        && code
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'*' || b == b'#')
}

impl RawHop {
    /// Validates every field.
    pub fn parse(self) -> Result<Hop, HopError> {
        let session_id = SessionId::parse(&required(self.session_id, "sessionId")?)
            .map_err(|_| HopError::Malformed("sessionId"))?;
        let service_code = required(self.service_code, "serviceCode")?;
        if !valid_service_code(&service_code) {
            return Err(HopError::Malformed("serviceCode"));
        }
        let phone = Msisdn::parse_recent(&required(self.phone_number, "phoneNumber")?);
        // Validated but not kept: operators port numbers, so nothing here
        // decides by network.
        if self
            .network_code
            .as_deref()
            .is_some_and(|n| n.len() > 8 || !n.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(HopError::Malformed("networkCode"));
        }
        let text = required(self.text, "text")?;
        if text.chars().count() > MAX_TEXT_LEN {
            return Err(HopError::TextTooLong);
        }
        if text.chars().any(char::is_control) {
            return Err(HopError::Malformed("text"));
        }
        Ok(Hop {
            session_id,
            service_code,
            phone,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: Option<&str>) -> RawHop {
        RawHop {
            session_id: Some("ATUid_0123456789abcdef0123456789abcdef".into()),
            service_code: Some("*384*1234#".into()),
            phone_number: Some("+254711000001".into()),
            network_code: Some("63902".into()),
            text: text.map(str::to_owned),
        }
    }

    #[test]
    fn a_first_hop_with_empty_text_parses() {
        let hop = raw(Some("")).parse().unwrap();
        assert_eq!(hop.text, "");
        assert_eq!(hop.phone.unwrap().as_e164(), "+254711000001");
    }

    #[test]
    fn a_missing_text_field_is_named() {
        assert_eq!(raw(None).parse().unwrap_err(), HopError::Missing("text"));
    }

    #[test]
    fn hostile_fields_are_refused() {
        let mut r = raw(Some(""));
        r.service_code = Some("<script>".into());
        assert_eq!(r.parse().unwrap_err(), HopError::Malformed("serviceCode"));
        let mut r = raw(Some(""));
        r.session_id = Some("x".repeat(500));
        assert_eq!(r.parse().unwrap_err(), HopError::Malformed("sessionId"));
        assert_eq!(
            raw(Some(&"1*".repeat(600))).parse().unwrap_err(),
            HopError::TextTooLong
        );
        assert_eq!(
            raw(Some("1\n2")).parse().unwrap_err(),
            HopError::Malformed("text")
        );
    }

    #[test]
    fn a_foreign_or_landline_number_is_kept_as_an_error_for_a_polite_end() {
        let mut r = raw(Some(""));
        r.phone_number = Some("+254202222222".into());
        assert!(r.parse().unwrap().phone.is_err());
    }
}
