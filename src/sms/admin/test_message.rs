//! `pesachama sms send --phone P --template T [--lang en|sw]`: queues one
//! message rendered from a Fluent template, every variable filled with its
//! own name (`<amount>`), so an operator can see a template arrive on a
//! handset. It goes through the outbox like any message; the row id is
//! returned so its fate can be followed.

use std::path::Path;

use anyhow::Context;
use fluent_syntax::ast::Entry;
use secrecy::SecretString;
use uuid::Uuid;

use crate::chama::{Actor, record_audit};
use crate::db;
use crate::i18n::{Lang, Locales, Vars};
use crate::phone::Msisdn;
use crate::sms::SmsKind;
use crate::sms::outbox::{self, Queued, QueuedSms};

/// The kind a template declares in its comment (`# @kind receipt …`, the
/// template convention), or else the one its family (`sms-pin-…`) implies.
pub fn kind_of_template(texts: &Locales, lang: Lang, template: &str) -> SmsKind {
    declared_kind(texts, lang, template).unwrap_or_else(|| kind_of_family(template))
}

fn declared_kind(texts: &Locales, lang: Lang, template: &str) -> Option<SmsKind> {
    texts.sources(lang).find_map(|(_, source)| {
        let resource = fluent_syntax::parser::parse(source).unwrap_or_else(|(r, _)| r);
        resource.body.iter().find_map(|entry| match entry {
            Entry::Message(m) if m.id.name == template => {
                let comment = m.comment.as_ref()?;
                comment.content.iter().find_map(|line| {
                    let mut words = line.split_whitespace();
                    words.find(|w| *w == "@kind")?;
                    SmsKind::parse(words.next()?)
                })
            }
            _ => None,
        })
    })
}

fn kind_of_family(template: &str) -> SmsKind {
    let family = template.strip_prefix("sms-").unwrap_or(template);
    let is = |prefixes: &[&str]| prefixes.iter().any(|p| family.starts_with(p));
    if is(&["pin-"]) {
        SmsKind::Alert
    } else if is(&["receipt", "payout", "payment"]) {
        SmsKind::Receipt
    } else if is(&["reminder", "meeting"]) {
        SmsKind::Reminder
    } else if is(&["otp"]) {
        SmsKind::Otp
    } else if is(&["reply", "help", "balance"]) {
        SmsKind::Reply
    } else {
        SmsKind::Notice
    }
}

/// Queues the test message and returns its outbox row id.
pub async fn send_test(
    url: &SecretString,
    locales: &Path,
    phone: &str,
    template: &str,
    lang: Lang,
) -> anyhow::Result<Uuid> {
    let phone = Msisdn::parse(phone).with_context(|| format!("invalid phone `{phone}`"))?;
    let texts = Locales::load(locales)
        .with_context(|| format!("cannot load the SMS texts from {}", locales.display()))?;
    if !template.starts_with("sms-") || !texts.has_message(lang, template) {
        let known: Vec<&str> = texts
            .message_ids(lang)
            .filter(|id| id.starts_with("sms-"))
            .collect();
        anyhow::bail!(
            "no SMS template `{template}` in {}; known: {}",
            lang.as_str(),
            known.join(", ")
        );
    }
    let vars: Vars = texts
        .variables(lang, template)
        .unwrap_or_default()
        .into_iter()
        .map(|name| (name.clone(), format!("<{name}>")))
        .collect();
    let message = texts.format(lang, template, &vars);
    let kind = kind_of_template(&texts, lang, template);
    let dedupe_key = format!("sms.test:{}", Uuid::new_v4().simple());
    let pool = db::connect(url).await?;
    let mut tx = pool.begin().await?;
    let queued = outbox::queue(
        &mut tx,
        QueuedSms {
            chama_id: None,
            user_id: None,
            phone: &phone,
            message: &message,
            template,
            kind,
            dedupe_key: &dedupe_key,
        },
    )
    .await?;
    anyhow::ensure!(queued == Queued::New, "the test message was not queued");
    let id = sqlx::query_scalar!(
        "select id from sms_outbox where dedupe_key = $1",
        dedupe_key
    )
    .fetch_one(&mut *tx)
    .await?;
    record_audit(
        &mut tx,
        Actor::Cli,
        "sms.send-test",
        None,
        Some(&id.to_string()),
        serde_json::json!({ "template": template, "lang": lang.as_str(), "kind": kind.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_implies_a_kind() {
        assert_eq!(kind_of_family("sms-pin-lock"), SmsKind::Alert);
        assert_eq!(kind_of_family("sms-receipt"), SmsKind::Receipt);
        assert_eq!(
            kind_of_family("sms-reminder-contribution"),
            SmsKind::Reminder
        );
        assert_eq!(kind_of_family("sms-otp"), SmsKind::Otp);
        assert_eq!(kind_of_family("sms-approval-needed"), SmsKind::Notice);
    }

    #[test]
    fn a_declared_kind_wins_over_the_family() {
        let dir = std::env::temp_dir().join(format!("pesachama-kind-{}", Uuid::new_v4()));
        for lang in ["en", "sw"] {
            std::fs::create_dir_all(dir.join(lang)).unwrap();
            std::fs::write(
                dir.join(lang).join("sms.ftl"),
                "# A code.\n# @kind otp @segments 1 @var code=6\nsms-pin-code = Code { $code }\n",
            )
            .unwrap();
        }
        let texts = Locales::load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            kind_of_template(&texts, Lang::Sw, "sms-pin-code"),
            SmsKind::Otp
        );
        assert_eq!(
            kind_of_template(&texts, Lang::En, "sms-pin-other"),
            SmsKind::Alert
        );
    }
}
