//! The SMS that tells a member their payment failed before any prompt,
//! queued in the transaction that marks the request failed.

use sqlx::PgConnection;
use uuid::Uuid;

use crate::i18n::{Lang, Vars, format_kes};
use crate::phone::Msisdn;
use crate::sms::outbox::{self, QueuedSms};
use crate::sms::templates::Templates;

/// The template (locales/*/sms.ftl).
pub const TEMPLATE: &str = "sms-payment-failed";

/// Why the push failed: a `$reason` the template words in the member's
/// language (locales/*/sms.ftl).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// Daraja refused the request.
    Refused,
    /// Daraja stayed busy through every attempt.
    Busy,
}

impl Reason {
    fn key(self) -> &'static str {
        match self {
            Reason::Refused => "refused",
            Reason::Busy => "busy",
        }
    }
}

/// Queues the payment-failed SMS of request `id` to the member who started
/// it, in their language; once per request (the dedupe key).
pub async fn queue_failed_sms(
    conn: &mut PgConnection,
    texts: &Templates,
    id: Uuid,
    reason: Reason,
) -> Result<(), sqlx::Error> {
    let row = sqlx::query!(
        r#"select r.chama_id, r.user_id, r.amount, u.phone, u.language, c.name as chama
             from mpesa_stk_requests r
             join users u on u.id = r.user_id
             join chamas c on c.id = r.chama_id
            where r.id = $1"#,
        id
    )
    .fetch_one(&mut *conn)
    .await?;
    let lang = Lang::parse(&row.language).unwrap_or(Lang::En);
    let Ok(phone) = Msisdn::parse(&row.phone) else {
        tracing::warn!(request.id = %id, "the member's stored phone does not parse; no payment-failed SMS");
        return Ok(());
    };
    let vars = Vars::from([
        ("amount".to_owned(), format_kes(row.amount)),
        ("chama".to_owned(), row.chama),
        ("reason".to_owned(), reason.key().to_owned()),
    ]);
    let rendered = match texts.render(lang, TEMPLATE, &vars) {
        Ok(rendered) => rendered,
        Err(error) => {
            tracing::error!(%error, "cannot render the payment-failed SMS");
            return Ok(());
        }
    };
    let key = format!("stk.failed:{id}");
    outbox::queue(
        conn,
        QueuedSms {
            chama_id: Some(row.chama_id),
            user_id: Some(row.user_id),
            phone: &phone,
            message: &rendered.text,
            template: TEMPLATE,
            kind: rendered.kind,
            dedupe_key: &key,
        },
    )
    .await?;
    Ok(())
}
