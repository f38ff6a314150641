//! The answers to a texted keyword, rendered in the reader's language and
//! queued as `reply` rows in the caller's transaction (the one that stores
//! the inbound message, so an answer exists exactly when the message does).
//!
//! Every reply goes to the phone the message came from, which for a member
//! is `users.phone`, the registered SIM: a balance never reaches another
//! number.

use chrono::Utc;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::i18n::{Lang, Vars, format_kes};
use crate::ledger;
use crate::phone::Msisdn;
use crate::sms::outbox::{self, QueuedSms};
use crate::sms::reminders::NAIROBI;
use crate::sms::templates::Templates;
use crate::user::Membership;

use super::keywords::Keyword;

/// Who a reply goes to.
pub struct Reader<'a> {
    pub user_id: Option<Uuid>,
    pub phone: &'a Msisdn,
    pub lang: Lang,
}

/// One reply to queue.
struct Reply<'a> {
    chama_id: Option<Uuid>,
    template: &'a str,
    vars: Vars,
    dedupe_key: String,
}

/// Renders `reply` through the checked templates (values cut to their
/// declared lengths, the kind the template declares) and queues it.
async fn queue(
    conn: &mut PgConnection,
    texts: &Templates,
    to: &Reader<'_>,
    reply: Reply<'_>,
) -> sqlx::Result<()> {
    // The shipped templates are checked at start and by the tests, so a
    // failure is a template changed without this caller: fail loudly.
    let rendered = texts
        .render(to.lang, reply.template, &reply.vars)
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    outbox::queue(
        conn,
        QueuedSms {
            chama_id: reply.chama_id,
            user_id: to.user_id,
            phone: to.phone,
            message: &rendered.text,
            template: reply.template,
            kind: rendered.kind,
            dedupe_key: &reply.dedupe_key,
        },
    )
    .await?;
    Ok(())
}

/// The template answering `keyword` from a member (balance aside).
fn template_of(keyword: Keyword) -> &'static str {
    match keyword {
        Keyword::Stop => "sms-reply-stop",
        Keyword::Start => "sms-reply-start",
        Keyword::Balance | Keyword::Help | Keyword::Unknown => "sms-reply-help",
    }
}

/// Answers a member: their balance in every chama (one message each, so
/// each fits one SMS), or the fixed text for the other keywords.
pub async fn to_member(
    conn: &mut PgConnection,
    texts: &Templates,
    to: &Reader<'_>,
    (user_id, memberships): (Uuid, &[Membership]),
    keyword: Keyword,
    provider_id: &str,
) -> sqlx::Result<()> {
    let first_key = format!("sms-reply:{provider_id}");
    if keyword != Keyword::Balance {
        let reply = Reply {
            chama_id: None,
            template: template_of(keyword),
            vars: Vars::new(),
            dedupe_key: first_key,
        };
        return queue(conn, texts, to, reply).await;
    }
    for (n, membership) in memberships.iter().enumerate() {
        let balance = ledger::member_balance(conn, membership.chama_id, user_id).await?;
        let vars = Vars::from([
            ("chama".into(), membership.chama_name.clone()),
            ("savings".into(), format_kes(balance.savings)),
            ("shares".into(), format_kes(balance.shares)),
            ("loan".into(), format_kes(balance.loan)),
            ("fines".into(), format_kes(balance.fines_paid)),
        ]);
        let reply = Reply {
            chama_id: Some(membership.chama_id),
            template: "sms-reply-balance",
            vars,
            dedupe_key: if n == 0 {
                first_key.clone()
            } else {
                format!("{first_key}:{}", n + 1)
            },
        };
        queue(conn, texts, to, reply).await?;
    }
    Ok(())
}

/// Answers a phone that is no member, at most once per Nairobi day
/// whatever it texts (the dedupe key holds the date).
pub async fn to_stranger(
    conn: &mut PgConnection,
    texts: &Templates,
    to: &Reader<'_>,
) -> sqlx::Result<()> {
    let today = Utc::now().with_timezone(&NAIROBI).date_naive();
    let reply = Reply {
        chama_id: None,
        template: "sms-reply-nonmember",
        vars: Vars::new(),
        dedupe_key: format!("sms-nonmember:{}:{today}", to.phone.as_e164()),
    };
    queue(conn, texts, to, reply).await
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::sms::SmsKind;

    /// The checker proves each reply fits its declared segment at the
    /// declared lengths; this proves each is a reply and takes exactly the
    /// variables this file gives it.
    #[test]
    fn every_reply_renders_as_a_reply_with_the_variables_given_here() {
        let texts =
            Templates::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("locales")).unwrap();
        let balance = Vars::from(
            ["chama", "savings", "shares", "loan", "fines"].map(|v| (v.into(), "x".into())),
        );
        for lang in Lang::ALL {
            for (id, vars) in [
                ("sms-reply-balance", balance.clone()),
                (template_of(Keyword::Help), Vars::new()),
                (template_of(Keyword::Stop), Vars::new()),
                (template_of(Keyword::Start), Vars::new()),
                ("sms-reply-nonmember", Vars::new()),
            ] {
                let rendered = texts.render(lang, id, &vars).unwrap();
                assert_eq!(rendered.kind, SmsKind::Reply, "{lang} {id}");
                assert_eq!(rendered.segments, 1, "{lang} {id}");
            }
        }
    }
}
