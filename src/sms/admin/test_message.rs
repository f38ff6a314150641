//! `pesachama sms send --phone P --template T [--lang en|sw]`: queues one
//! message rendered from a Fluent template, every variable filled with its
//! own name (`<amount>`), so an operator can see a template arrive on a
//! handset. It goes through the outbox like any message; the row id is
//! returned so its fate can be followed.

use std::path::Path;

use anyhow::Context;
use secrecy::SecretString;
use uuid::Uuid;

use crate::chama::{Actor, record_audit};
use crate::db;
use crate::i18n::{Lang, Vars};
use crate::phone::Msisdn;
use crate::sms::outbox::{self, Queued, QueuedSms};
use crate::sms::templates::Templates;

/// Queues the test message and returns its outbox row id.
pub async fn send_test(
    url: &SecretString,
    locales: &Path,
    phone: &str,
    template: &str,
    lang: Lang,
) -> anyhow::Result<Uuid> {
    let phone = Msisdn::parse(phone).with_context(|| format!("invalid phone `{phone}`"))?;
    let texts = Templates::load(locales).map_err(|report| {
        anyhow::anyhow!(
            "the SMS templates in {} fail their check:\n{report}",
            locales.display()
        )
    })?;
    let Some(declared) = texts.declaration(lang, template) else {
        let known: Vec<&str> = texts.ids().collect();
        anyhow::bail!(
            "no SMS template `{template}` in {}; known: {}",
            lang.as_str(),
            known.join(", ")
        );
    };
    let vars: Vars = declared
        .vars
        .keys()
        .map(|name| (name.clone(), format!("<{name}>")))
        .collect();
    let rendered = texts.render(lang, template, &vars)?;
    let (message, kind) = (rendered.text, rendered.kind);
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
