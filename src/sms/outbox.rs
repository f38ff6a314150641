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
    /// The member texted `STOP` and this kind respects it
    /// ([`SmsKind::respects_opt_out`]): nothing was written.
    OptedOut,
}

/// Queues `sms` inside the caller's transaction, unless its member opted
/// out of its kind. The opt-out is checked here, in the same statement, so
/// no caller can forget it and a `STOP` that commits first always wins.
pub async fn queue(conn: &mut PgConnection, sms: QueuedSms<'_>) -> Result<Queued, sqlx::Error> {
    // `on conflict do nothing`: a replay is an ordinary outcome, counted,
    // not an error that would abort the caller's transaction.
    let outcome = sqlx::query!(
        r#"with opted as (
               select $9::bool and exists (
                          select 1 from users where id = $2 and sms_opt_out_at is not null
                      ) as out
           ), inserted as (
               insert into sms_outbox
                   (chama_id, user_id, phone, message, dedupe_key, template, kind, segments)
               select $1, $2, $3, $4, $5, $6, $7, $8 from opted where not opted.out
               on conflict on constraint sms_outbox_dedupe_key_key do nothing
               returning 1
           )
           select (select out from opted) as "opted_out!",
                  (select count(*) from inserted) as "inserted!""#,
        sms.chama_id,
        sms.user_id,
        sms.phone.as_e164(),
        sms.message,
        sms.dedupe_key,
        sms.template,
        sms.kind.as_str(),
        segments::count(sms.message).parts as i32,
        sms.kind.respects_opt_out()
    )
    .fetch_one(conn)
    .await?;
    Ok(if outcome.opted_out {
        Queued::OptedOut
    } else if outcome.inserted == 0 {
        Queued::Duplicate
    } else {
        Queued::New
    })
}
