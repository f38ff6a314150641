//! What every PIN event leaves behind, in the caller's transaction: an audit
//! row and a security-alert SMS to the member, in their language.
//!
//! The audit row names the user by id only; neither the PIN nor the phone is
//! written anywhere but the outbox row that must reach the phone.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::chama::{Actor, record_audit};
use crate::i18n::{Lang, Vars};
use crate::phone::Msisdn;
use crate::sms::outbox::{self, Queued, QueuedSms};
use crate::sms::templates::{RenderError, Rendered, Templates};

/// East Africa Time, the clock members read: UTC+3 all year.
const EAT_SECS: i32 = 3 * 60 * 60;

/// A PIN event worth telling the member about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinEvent {
    /// A first PIN was set.
    Set,
    /// The PIN was changed (the old one was given).
    Change,
    /// Too many wrong attempts locked the PIN until then, at this level.
    Lock { until: DateTime<Utc>, level: i32 },
    /// An operator cleared a lock.
    Unlock,
}

impl PinEvent {
    /// The audit action.
    pub fn action(self) -> &'static str {
        match self {
            PinEvent::Set => "pin.set",
            PinEvent::Change => "pin.change",
            PinEvent::Lock { .. } => "pin.lock",
            PinEvent::Unlock => "pin.unlock",
        }
    }

    /// The SMS text's message id in `locales/<lang>/sms.ftl`.
    pub fn message_id(self) -> &'static str {
        match self {
            PinEvent::Set => "sms-pin-set",
            PinEvent::Change => "sms-pin-change",
            PinEvent::Lock { .. } => "sms-pin-lock",
            PinEvent::Unlock => "sms-pin-unlock",
        }
    }

    /// The alert in `lang`, as the member will read it (its kind, alert,
    /// comes from the template).
    pub fn render(self, texts: &Templates, lang: Lang) -> Result<Rendered, RenderError> {
        let mut vars = Vars::new();
        if let PinEvent::Lock { until, .. } = self {
            let eat = FixedOffset::east_opt(EAT_SECS).expect("UTC+3 is a valid offset");
            vars.insert(
                "until".into(),
                until.with_timezone(&eat).format("%d/%m %H:%M").to_string(),
            );
        }
        texts.render(lang, self.message_id(), &vars)
    }

    fn details(self) -> serde_json::Value {
        match self {
            PinEvent::Lock { until, level } => json!({ "until": until, "level": level }),
            _ => json!({}),
        }
    }
}

/// The member an alert goes to.
#[derive(Debug, Clone)]
pub struct AlertTo {
    pub user_id: Uuid,
    pub phone: Msisdn,
    pub lang: Lang,
}

impl AlertTo {
    /// From a `users` row's phone and language. The row's constraint makes
    /// the phone E.164, so a phone that does not parse is a row that does not
    /// decode.
    pub fn from_row(user_id: Uuid, phone: &str, language: &str) -> Result<AlertTo, sqlx::Error> {
        Ok(AlertTo {
            user_id,
            phone: Msisdn::parse(phone).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
            lang: Lang::parse(language).unwrap_or_default(),
        })
    }
}

/// Queues the alert and writes the audit row. `dedupe_key` names the event:
/// when the outbox already holds it, this is a replay and nothing is written
/// ([`Queued::Duplicate`]).
pub async fn record(
    conn: &mut PgConnection,
    texts: &Templates,
    actor: Actor<'_>,
    to: &AlertTo,
    event: PinEvent,
    dedupe_key: &str,
) -> Result<Queued, sqlx::Error> {
    // Every alert renders (the tests below render each in both languages),
    // so a failure here is a template changed without its caller: refuse the
    // event rather than record it without its alarm bell.
    let rendered = event
        .render(texts, to.lang)
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let queued = outbox::queue(
        &mut *conn,
        QueuedSms {
            chama_id: None,
            user_id: Some(to.user_id),
            phone: &to.phone,
            message: &rendered.text,
            template: event.message_id(),
            kind: rendered.kind,
            dedupe_key,
        },
    )
    .await?;
    if queued == Queued::New {
        record_audit(
            conn,
            actor,
            event.action(),
            None,
            Some(&to.user_id.to_string()),
            event.details(),
        )
        .await?;
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::TimeZone;

    use super::*;
    use crate::sms::SmsKind;

    fn texts() -> Templates {
        Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("locales")).unwrap()
    }

    fn every_event() -> [PinEvent; 4] {
        let until = Utc.with_ymd_and_hms(2026, 12, 31, 21, 59, 0).unwrap();
        [
            PinEvent::Set,
            PinEvent::Change,
            PinEvent::Lock { until, level: 3 },
            PinEvent::Unlock,
        ]
    }

    /// The segment budget and GSM-7 are the checker's (`Templates::load`);
    /// this proves each event gives its template the variables it needs.
    #[test]
    fn every_alert_renders_as_an_alert_in_both_languages() {
        let texts = texts();
        for lang in Lang::ALL {
            for event in every_event() {
                let rendered = event.render(&texts, lang).unwrap();
                assert_eq!(rendered.kind, SmsKind::Alert, "{lang} {event:?}");
                assert_eq!(rendered.segments, 1, "{lang} {}", rendered.text);
            }
        }
    }

    #[test]
    fn the_lock_alert_tells_the_time_members_read() {
        let until = Utc.with_ymd_and_hms(2026, 12, 31, 21, 59, 0).unwrap();
        let text = PinEvent::Lock { until, level: 0 }
            .render(&texts(), Lang::Sw)
            .unwrap()
            .text;
        assert!(text.contains("hadi 01/01 00:59"), "{text}");
    }
}
