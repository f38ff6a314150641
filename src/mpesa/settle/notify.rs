//! What a settlement tells the member (an SMS in their language, through the
//! outbox) and the app (a row of `app_events`), both in the settlement's
//! transaction and both once per CheckoutRequestID by their dedupe keys.

use sqlx::PgConnection;

use super::SettleError;
use super::reason::FailureReason;
use super::request::Request;
use crate::i18n::{Vars, format_kes};
use crate::sms::outbox::{self, QueuedSms};
use crate::sms::templates::Templates;

const RECEIPT_TEMPLATE: &str = "sms-receipt";
/// The receipt without its number, for a payment a query settled.
const UNNUMBERED_TEMPLATE: &str = "sms-receipt-unnumbered";
const FAILED_TEMPLATE: &str = "sms-payment-failed";

/// Queues the receipt SMS: `amount` received, the member's `balance` after
/// it, and the M-Pesa receipt number when it is known.
pub(super) async fn receipt_sms(
    conn: &mut PgConnection,
    texts: &Templates,
    request: &Request,
    receipt: Option<&str>,
    amount: i64,
    balance: i64,
) -> Result<(), SettleError> {
    let mut vars = Vars::from([
        ("chama".to_owned(), request.chama_name.clone()),
        ("amount".to_owned(), format_kes(amount)),
        ("balance".to_owned(), format_kes(balance)),
    ]);
    let template = match receipt {
        Some(receipt) => {
            vars.insert("receipt".to_owned(), receipt.to_owned());
            RECEIPT_TEMPLATE
        }
        None => UNNUMBERED_TEMPLATE,
    };
    let key = format!("stk-receipt:{}", request.checkout_request_id);
    queue(conn, texts, request, template, &vars, &key).await
}

/// Queues the payment-failed SMS with the reason in the member's words.
pub(super) async fn failed_sms(
    conn: &mut PgConnection,
    texts: &Templates,
    request: &Request,
    reason: FailureReason,
) -> Result<(), SettleError> {
    let vars = Vars::from([
        ("chama".to_owned(), request.chama_name.clone()),
        ("amount".to_owned(), format_kes(request.amount)),
        ("reason".to_owned(), reason.key().to_owned()),
    ]);
    let key = format!("stk-failed:{}", request.checkout_request_id);
    queue(conn, texts, request, FAILED_TEMPLATE, &vars, &key).await
}

async fn queue(
    conn: &mut PgConnection,
    texts: &Templates,
    request: &Request,
    template: &str,
    vars: &Vars,
    dedupe_key: &str,
) -> Result<(), SettleError> {
    let rendered = texts.render(request.lang, template, vars)?;
    outbox::queue(
        conn,
        QueuedSms {
            chama_id: Some(request.chama_id),
            user_id: Some(request.user_id),
            phone: &request.member_phone,
            message: &rendered.text,
            template,
            kind: rendered.kind,
            dedupe_key,
        },
    )
    .await?;
    Ok(())
}

/// Appends the app's event (`contribution.received`, `payment.failed`) for
/// this request; a second one with the same key is not written.
pub(super) async fn app_event(
    conn: &mut PgConnection,
    request: &Request,
    kind: &str,
    payload: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into app_events (chama_id, user_id, kind, payload, dedupe_key)
           values ($1, $2, $3, $4, $5)
           on conflict on constraint app_events_dedupe_key_key do nothing"#,
        request.chama_id,
        request.user_id,
        kind,
        payload,
        format!("stk:{}", request.checkout_request_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}
