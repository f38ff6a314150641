//! Which Daraja `pesachama dev` talks to: its own fake, unless
//! `MPESA_API_URL` names another (Safaricom's sandbox, a simulator).

use anyhow::Context;
use secrecy::SecretString;

use crate::config::{MpesaSettings, RawSettings};

/// The Daraja at `MPESA_API_URL`, reached with `MPESA_CONSUMER_KEY`,
/// `MPESA_CONSUMER_SECRET`, `MPESA_SHORTCODE` and `MPESA_PASSKEY`; it posts
/// results to `MPESA_CALLBACK_URL` (default: `dev`'s own listener at
/// `http_addr`, enough for a simulator on this machine) with
/// `MPESA_CALLBACK_TOKEN` (default: a fresh random one). `None` when
/// `MPESA_API_URL` is unset: `dev` then starts its fake.
pub fn dev_settings(raw: &RawSettings, http_addr: &str) -> anyhow::Result<Option<MpesaSettings>> {
    let value = |name: &str| raw.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let Some(api_url) = value("MPESA_API_URL") else {
        return Ok(None);
    };
    let required = |name: &'static str| {
        value(name)
            .map(str::to_owned)
            .with_context(|| format!("MPESA_API_URL is set, so {name} must be too"))
    };
    let callback_url = match value("MPESA_CALLBACK_URL") {
        Some(url) => url.to_owned(),
        None => format!("http://{http_addr}/"),
    };
    let callback_token = value("MPESA_CALLBACK_TOKEN")
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
    Ok(Some(MpesaSettings {
        api_url: api_url.parse().context("MPESA_API_URL is not a URL")?,
        consumer_key: SecretString::from(required("MPESA_CONSUMER_KEY")?),
        consumer_secret: SecretString::from(required("MPESA_CONSUMER_SECRET")?),
        shortcode: required("MPESA_SHORTCODE")?,
        passkey: SecretString::from(required("MPESA_PASSKEY")?),
        callback_url: callback_url
            .parse()
            .context("MPESA_CALLBACK_URL is not a URL")?,
        callback_token: SecretString::from(callback_token),
    }))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn without_an_api_url_dev_uses_its_fake() {
        assert!(
            dev_settings(&RawSettings::new(), "127.0.0.1:8080")
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn an_api_url_needs_the_credentials_and_defaults_the_callback() {
        let mut raw = RawSettings::new();
        raw.insert("MPESA_API_URL".into(), "http://127.0.0.1:7001".into());
        let error = dev_settings(&raw, "127.0.0.1:8080").unwrap_err();
        assert!(error.to_string().contains("MPESA_CONSUMER_KEY"), "{error}");
        for (name, value) in [
            ("MPESA_CONSUMER_KEY", "ck"),
            ("MPESA_CONSUMER_SECRET", "cs"),
            ("MPESA_SHORTCODE", "174379"),
            ("MPESA_PASSKEY", "pk"),
        ] {
            raw.insert(name.into(), value.into());
        }
        let settings = dev_settings(&raw, "127.0.0.1:8080").unwrap().unwrap();
        assert_eq!(settings.api_url.as_str(), "http://127.0.0.1:7001/");
        assert_eq!(settings.callback_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(settings.callback_token.expose_secret().len(), 32);
    }
}
