//! The answers to a texted keyword, rendered in the reader's language and
//! queued as `reply` rows in the caller's transaction (the one that stores
//! the inbound message, so an answer exists exactly when the message does).
//!
//! Every reply goes to the phone the message came from, which for a member
//! is `users.phone`, the registered SIM: a balance never reaches another
//! number.

use chrono::{FixedOffset, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::i18n::{Lang, Locales, Vars, format_kes};
use crate::ledger;
use crate::phone::Msisdn;
use crate::sms::SmsKind;
use crate::sms::outbox::{self, QueuedSms};
use crate::user::Membership;

use super::keywords::Keyword;

/// East Africa Time, whose calendar day bounds a stranger's answers.
const EAT_SECS: i32 = 3 * 60 * 60;

/// Who a reply goes to.
pub struct Reader<'a> {
    pub user_id: Option<Uuid>,
    pub phone: &'a Msisdn,
    pub lang: Lang,
}

/// One rendered reply.
struct Reply<'a> {
    chama_id: Option<Uuid>,
    template: &'a str,
    message: String,
    dedupe_key: String,
}

async fn queue(conn: &mut PgConnection, to: &Reader<'_>, reply: Reply<'_>) -> sqlx::Result<()> {
    outbox::queue(
        conn,
        QueuedSms {
            chama_id: reply.chama_id,
            user_id: to.user_id,
            phone: to.phone,
            message: &reply.message,
            template: reply.template,
            kind: SmsKind::Reply,
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
    texts: &Locales,
    to: &Reader<'_>,
    (user_id, memberships): (Uuid, &[Membership]),
    keyword: Keyword,
    provider_id: &str,
) -> sqlx::Result<()> {
    let first_key = format!("sms-reply:{provider_id}");
    if keyword != Keyword::Balance {
        let template = template_of(keyword);
        let message = texts.format(to.lang, template, &Vars::new());
        let reply = Reply {
            chama_id: None,
            template,
            message,
            dedupe_key: first_key,
        };
        return queue(conn, to, reply).await;
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
            message: texts.format(to.lang, "sms-reply-balance", &vars),
            dedupe_key: if n == 0 {
                first_key.clone()
            } else {
                format!("{first_key}:{}", n + 1)
            },
        };
        queue(conn, to, reply).await?;
    }
    Ok(())
}

/// Answers a phone that is no member, at most once per Nairobi day
/// whatever it texts (the dedupe key holds the date).
pub async fn to_stranger(
    conn: &mut PgConnection,
    texts: &Locales,
    to: &Reader<'_>,
) -> sqlx::Result<()> {
    let eat = FixedOffset::east_opt(EAT_SECS).expect("UTC+3 is a valid offset");
    let today = Utc::now().with_timezone(&eat).date_naive();
    let reply = Reply {
        chama_id: None,
        template: "sms-reply-nonmember",
        message: texts.format(to.lang, "sms-reply-nonmember", &Vars::new()),
        dedupe_key: format!("sms-nonmember:{}:{today}", to.phone.as_e164()),
    };
    queue(conn, to, reply).await
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::i18n::{gsm7_len, is_gsm7};

    const ONE_SEGMENT: usize = 160;

    fn texts() -> Locales {
        Locales::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("locales")).unwrap()
    }

    #[test]
    fn every_reply_is_one_gsm7_segment_at_its_longest_in_both_languages() {
        let texts = texts();
        // The 16 characters the templates declare for an amount.
        let amount = format_kes(-999_999_999);
        assert_eq!(amount.len(), 16);
        let longest = Vars::from([
            ("chama".into(), "W".repeat(30)),
            ("savings".into(), amount.clone()),
            ("shares".into(), amount.clone()),
            ("loan".into(), amount.clone()),
            ("fines".into(), amount),
        ]);
        for lang in Lang::ALL {
            for id in [
                "sms-reply-balance",
                "sms-reply-help",
                "sms-reply-stop",
                "sms-reply-start",
                "sms-reply-nonmember",
            ] {
                assert!(texts.has_message(lang, id), "{lang} {id}");
                let text = texts.format(lang, id, &longest);
                assert!(is_gsm7(&text), "{lang} {text}");
                assert!(
                    gsm7_len(&text) <= ONE_SEGMENT,
                    "{lang} {id}: {}",
                    gsm7_len(&text)
                );
            }
        }
    }
}
