//! `POST /sms/africastalking/inbound`: a message texted to our shortcode
//! (protocols.md 2.5). It is stored in `sms_inbound` (for an official to
//! read later) and answered, in one transaction: AT retrying the same `id`
//! finds the row and gets 200 with no second answer.
//!
//! No PIN over SMS: the balance goes only to the registered phone that
//! asked, the same possession factor the USSD menus start from (see the
//! README, "SMS keywords").

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::api::ApiError;
use crate::i18n::Lang;
use crate::phone::Msisdn;
use crate::sms::templates::Templates;
use crate::state::AppState;
use crate::telemetry::SMS_INBOUND;
use crate::user;

use super::form::{optional, required};
use super::keywords::{Keyword, Understood, as_stored, understand};
use super::opt_out::{opt_in, opt_out};
use super::reply::{self, Reader};

/// Longest text `sms_inbound` keeps (ten concatenated parts).
const MAX_TEXT: usize = 1600;

/// The inbound form.
#[derive(Debug, Deserialize)]
pub struct RawInbound {
    from: Option<String>,
    to: Option<String>,
    text: Option<String>,
    date: Option<String>,
    id: Option<String>,
    #[serde(rename = "linkId")]
    link_id: Option<String>,
    #[serde(rename = "networkCode")]
    network_code: Option<String>,
}

/// A message as it will be stored.
struct Inbound {
    provider_id: String,
    phone: Msisdn,
    to_code: String,
    /// As sent, but for a PIN typed after a keyword (masked).
    text: String,
    link_id: Option<String>,
    network_code: Option<String>,
    sent_at: Option<DateTime<Utc>>,
    understood: Understood,
}

/// Who texted: a user, and their chamas (none: not a member).
struct Sender {
    user_id: Uuid,
    lang: Lang,
    memberships: Vec<user::Membership>,
}

fn parse(raw: RawInbound) -> Result<Inbound, ApiError> {
    let from = required(raw.from.as_deref(), "from", 20)?;
    let phone = Msisdn::parse(&from)
        .map_err(|_| ApiError::BadRequest("malformed field from: not a phone number".into()))?;
    // An empty text is a message all the same; only a missing one is wrong.
    let text = raw
        .text
        .ok_or_else(|| ApiError::BadRequest("missing field text".into()))?;
    if text.chars().count() > MAX_TEXT {
        return Err(ApiError::BadRequest(format!(
            "malformed field text: longer than {MAX_TEXT} characters"
        )));
    }
    let understood = understand(&text);
    Ok(Inbound {
        provider_id: required(raw.id.as_deref(), "id", 100)?,
        phone,
        to_code: required(raw.to.as_deref(), "to", 20)?,
        text: as_stored(&text, understood.keyword),
        understood,
        link_id: optional(raw.link_id.as_deref(), "linkId", 100)?,
        network_code: optional(raw.network_code.as_deref(), "networkCode", 20)?,
        sent_at: raw.date.as_deref().and_then(parse_date),
    })
}

/// AT's `date`, seen with and without the `T` and `Z`; both are UTC. A date
/// we cannot read is left out rather than refusing the message.
fn parse_date(value: &str) -> Option<DateTime<Utc>> {
    let value = value.trim();
    DateTime::parse_from_rfc3339(value)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|d| d.and_utc())
        })
}

/// The inbound message callback.
pub async fn message(
    State(app): State<AppState>,
    form: Result<Form<RawInbound>, FormRejection>,
) -> Response {
    let inbound = match form
        .map_err(ApiError::from)
        .and_then(|Form(raw)| parse(raw))
    {
        Ok(inbound) => inbound,
        Err(error) => return error.into_response(),
    };
    let default_lang = app.settings.ussd.default_lang;
    match record(&app.db, &app.sms_texts, default_lang, &inbound).await {
        Ok(outcome) => {
            tracing::info!(
                phone = %inbound.phone,
                keyword = inbound.understood.keyword.as_str(),
                outcome,
                "SMS received"
            );
            metrics::counter!(
                SMS_INBOUND,
                "keyword" => inbound.understood.keyword.as_str(),
                "outcome" => outcome,
            )
            .increment(1);
            (StatusCode::OK, "OK").into_response()
        }
        // 500 so AT posts it again; nothing was committed.
        Err(error) => {
            ApiError::Internal(anyhow::Error::new(error).context("cannot record an inbound SMS"))
                .into_response()
        }
    }
}

/// Stores and answers the message; the outcome is a metric label.
async fn record(
    db: &PgPool,
    texts: &Templates,
    default_lang: Lang,
    inbound: &Inbound,
) -> Result<&'static str, sqlx::Error> {
    let mut tx = db.begin().await?;
    let sender = find_sender(&mut tx, &inbound.phone).await?;
    if !insert_inbound(&mut tx, inbound, sender.as_ref().map(|s| s.user_id)).await? {
        return Ok("duplicate");
    }
    let keyword = inbound.understood.keyword;
    let outcome = match sender.filter(|s| !s.memberships.is_empty()) {
        Some(member) => {
            let to = Reader {
                user_id: Some(member.user_id),
                phone: &inbound.phone,
                lang: inbound.understood.lang.unwrap_or(member.lang),
            };
            match keyword {
                Keyword::Stop => opt_out(&mut tx, member.user_id, &inbound.provider_id).await?,
                Keyword::Start => opt_in(&mut tx, member.user_id, &inbound.provider_id).await?,
                _ => {}
            }
            let member_of = (member.user_id, member.memberships.as_slice());
            reply::to_member(
                &mut tx,
                texts,
                &to,
                member_of,
                keyword,
                &inbound.provider_id,
            )
            .await?;
            "member"
        }
        None => {
            let to = Reader {
                user_id: None,
                phone: &inbound.phone,
                lang: inbound.understood.lang.unwrap_or(default_lang),
            };
            reply::to_stranger(&mut tx, texts, &to).await?;
            "stranger"
        }
    };
    tx.commit().await?;
    Ok(outcome)
}

async fn find_sender(conn: &mut PgConnection, phone: &Msisdn) -> sqlx::Result<Option<Sender>> {
    let Some(row) = sqlx::query!(
        "select id, language from users where phone = $1",
        phone.as_e164()
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(Sender {
        user_id: row.id,
        lang: Lang::parse(&row.language).unwrap_or_default(),
        memberships: user::memberships(conn, row.id).await?,
    }))
}

/// Stores the message; `false` when AT already posted this id. A retry
/// posted while the first is still being answered waits here for it.
async fn insert_inbound(
    conn: &mut PgConnection,
    inbound: &Inbound,
    user_id: Option<Uuid>,
) -> sqlx::Result<bool> {
    let inserted = sqlx::query!(
        r#"insert into sms_inbound
               (provider_id, phone, to_code, text, link_id, network_code, sent_at, user_id,
                keyword)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           on conflict on constraint sms_inbound_provider_id_key do nothing"#,
        inbound.provider_id,
        inbound.phone.as_e164(),
        inbound.to_code,
        inbound.text,
        inbound.link_id,
        inbound.network_code,
        inbound.sent_at,
        user_id,
        inbound.understood.keyword.as_str()
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn both_date_forms_at_sends_are_utc() {
        let expected = Utc.with_ymd_and_hms(2017, 5, 3, 6, 4, 45).unwrap();
        assert_eq!(parse_date("2017-05-03T06:04:45Z"), Some(expected));
        assert_eq!(parse_date("2017-05-03 06:04:45"), Some(expected));
        assert_eq!(parse_date("yesterday"), None);
    }
}
