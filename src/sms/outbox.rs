//! The SMS outbox: every message is first a row of `sms_outbox`, written in
//! the transaction of the event it reports, and sent later by a dispatcher.
//! A crash between the event and the send loses nothing, and a replayed
//! event queues nothing twice (the `dedupe_key` is unique).

use sqlx::PgConnection;
use uuid::Uuid;

use super::SmsKind;
use super::segments;
use crate::phone::Msisdn;

/// One message to queue.
#[derive(Debug, Clone)]
pub struct QueuedSms<'a> {
    /// The chama the message is about, if any (reporting, row-level security).
    pub chama_id: Option<Uuid>,
    /// The user the message is for, if known.
    pub user_id: Option<Uuid>,
    /// Recipient.
    pub phone: &'a Msisdn,
    /// The text as it will be sent (already in the member's language).
    pub message: &'a str,
    /// The Fluent message id it was rendered from (`sms-pin-lock`).
    pub template: &'a str,
    /// What it is for: decides opt-outs and what an unsure send does.
    pub kind: SmsKind,
    /// The event this message reports, e.g. `pin.lock:<user>:<time>`; a second
    /// row with the same key is not queued.
    pub dedupe_key: &'a str,
}

/// What [`queue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// A new row waits for the dispatcher.
    New,
    /// A row with this dedupe key already exists: nothing was written.
    Duplicate,
}

/// Queues `sms` inside the caller's transaction.
pub async fn queue(conn: &mut PgConnection, sms: QueuedSms<'_>) -> Result<Queued, sqlx::Error> {
    // `on conflict do nothing` and the row count, not `returning`: a replay is
    // an ordinary outcome, and the runtime role needs no extra privilege.
    let inserted = sqlx::query!(
        r#"insert into sms_outbox
               (chama_id, user_id, phone, message, dedupe_key, template, kind, segments)
           values ($1, $2, $3, $4, $5, $6, $7, $8)
           on conflict on constraint sms_outbox_dedupe_key_key do nothing"#,
        sms.chama_id,
        sms.user_id,
        sms.phone.as_e164(),
        sms.message,
        sms.dedupe_key,
        sms.template,
        sms.kind.as_str(),
        segments::count(sms.message).parts as i32
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(if inserted == 0 {
        Queued::Duplicate
    } else {
        Queued::New
    })
}
